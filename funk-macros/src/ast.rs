//! The model of a `#[host_functions]` block, built from the syn tree.

use syn::ext::IdentExt;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, LitStr, Pat, ReturnType, Type};

use crate::attr::{self, BlockAttr, Panics};

/// The whole block.
pub struct Block<'a> {
    pub item: &'a ItemImpl,
    pub namespace: Option<LitStr>,
    pub functions: Vec<Function<'a>>,
}

/// One exported method.
pub struct Function<'a> {
    pub method: &'a ImplItemFn,
    /// Import module; `None` when neither the block nor the method sets one.
    pub namespace: Option<LitStr>,
    /// Import name, from `#[funk(name)]` or the method name.
    pub name: LitStr,
    pub params: Vec<Param<'a>>,
    /// The declared return type, or `None` for `()`.
    pub output: Option<&'a Type>,
    /// The method has no receiver: its first parameter is the call context
    /// (`&mut GuestCx<'_, Self>`), not part of the wasm signature.
    pub context: bool,
    /// A panic becomes a trap (`true`, the default) or unwinds.
    pub catch_panics: bool,
    /// Guest bindings may call it again (`&self`, or `#[funk(repeatable)]`).
    pub repeatable: bool,
}

impl Function<'_> {
    /// The import module as text; empty when none is set.
    pub fn namespace_text(&self) -> String {
        self.namespace
            .as_ref()
            .map(LitStr::value)
            .unwrap_or_default()
    }
}

/// One parameter after the receiver.
pub struct Param<'a> {
    /// Shown in trap messages.
    pub name: String,
    pub ty: &'a Type,
}

impl<'a> Block<'a> {
    pub fn from_syn(
        item: &'a ItemImpl,
        block_attr: BlockAttr,
        errors: &mut Vec<syn::Error>,
    ) -> Self {
        let mut functions = Vec::new();
        for impl_item in &item.items {
            let ImplItem::Fn(method) = impl_item else {
                continue;
            };
            let method_attr = attr::parse_method(&method.attrs, errors);
            if method_attr.skip {
                continue;
            }
            let ident = &method.sig.ident;
            let name = method_attr
                .name
                .unwrap_or_else(|| LitStr::new(&ident.unraw().to_string(), ident.span()));
            let context = !matches!(method.sig.inputs.first(), Some(FnArg::Receiver(_)) | None);
            // `&self` cannot change the state (short of interior mutability),
            // so a second call sees what the first did.
            let shared_receiver = matches!(
                method.sig.inputs.first(),
                Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none()
            );
            let params = method
                .sig
                .inputs
                .iter()
                .filter_map(|arg| match arg {
                    FnArg::Typed(pat) => Some(pat),
                    FnArg::Receiver(_) => None,
                })
                .skip(usize::from(context))
                .enumerate()
                .map(|(i, pat)| Param {
                    name: match &*pat.pat {
                        Pat::Ident(p) => p.ident.to_string().trim_start_matches("r#").to_owned(),
                        _ => format!("#{i}"),
                    },
                    ty: &pat.ty,
                })
                .collect();
            let output = match &method.sig.output {
                ReturnType::Default => None,
                ReturnType::Type(_, ty) => Some(&**ty),
            };
            functions.push(Function {
                method,
                namespace: method_attr
                    .namespace
                    .or_else(|| block_attr.namespace.clone()),
                name,
                params,
                output,
                context,
                catch_panics: method_attr.panics.or(block_attr.panics) != Some(Panics::Unwind),
                repeatable: method_attr.repeatable || shared_receiver,
            });
        }
        Block {
            item,
            namespace: block_attr.namespace,
            functions,
        }
    }
}
