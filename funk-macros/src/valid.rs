//! Checks on the model: everything that can be refused with a precise span
//! before any code is generated. Type support itself is checked by the
//! compiler through funk's traits; only shapes no trait could accept are
//! refused here.

use std::collections::HashMap;

use syn::{FnArg, LitStr, Type};

use crate::ast::{Block, Function};

pub fn check(block: &Block<'_>, errors: &mut Vec<syn::Error>) {
    check_impl(block, errors);
    if let Some(ns) = &block.namespace {
        check_namespace(ns, errors);
    }
    let mut seen: HashMap<(String, String), &LitStr> = HashMap::new();
    for function in &block.functions {
        check_function(function, errors);
        match &function.namespace {
            None => errors.push(syn::Error::new_spanned(
                &function.method.sig.ident,
                "no namespace for this host function: add `namespace = \"...\"` to #[host_functions(...)] or #[funk(...)]",
            )),
            Some(ns) => {
                if block.namespace.as_ref().map(LitStr::value) != Some(ns.value()) {
                    check_namespace(ns, errors);
                }
                let key = (ns.value(), function.name.value());
                if let Some(first) = seen.insert(key.clone(), &function.name) {
                    let mut error = syn::Error::new(
                        function.name.span(),
                        format!("duplicate host function `{}::{}`", key.0, key.1),
                    );
                    error.combine(syn::Error::new(first.span(), "first defined here"));
                    errors.push(error);
                }
            }
        }
        if function.name.value().is_empty() {
            errors.push(syn::Error::new_spanned(
                &function.name,
                "a host function name cannot be empty",
            ));
        }
    }
}

fn check_impl(block: &Block<'_>, errors: &mut Vec<syn::Error>) {
    let item = block.item;
    if let Some((_, path, _)) = &item.trait_ {
        errors.push(syn::Error::new_spanned(
            path,
            "#[host_functions] goes on an inherent impl (`impl State { ... }`), not a trait impl",
        ));
    }
    if !item.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &item.generics,
            "#[host_functions] does not support generic impl blocks; implement on a concrete state type",
        ));
    }
    if let Some(unsafety) = &item.unsafety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            "#[host_functions] cannot be used on an `unsafe impl`",
        ));
    }
}

fn check_namespace(ns: &LitStr, errors: &mut Vec<syn::Error>) {
    let value = ns.value();
    if value.is_empty() {
        errors.push(syn::Error::new_spanned(ns, "the namespace cannot be empty"));
    } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        // `::` is fine: wasm import modules are any UTF-8 string, and
        // Lunatic's are named `lunatic::process` and so on.
        errors.push(syn::Error::new_spanned(
            ns,
            "invalid namespace: it may not contain whitespace or control characters",
        ));
    }
}

fn check_function(function: &Function<'_>, errors: &mut Vec<syn::Error>) {
    let sig = &function.method.sig;
    let mut refuse = |span: &dyn quote::ToTokens, message: &str| {
        errors.push(syn::Error::new_spanned(span, message));
    };
    if let Some(unsafety) = &sig.unsafety {
        refuse(
            unsafety,
            "a host function cannot be `unsafe`: the guest cannot uphold its contract",
        );
    }
    if let Some(abi) = &sig.abi {
        refuse(
            abi,
            "a host function cannot declare an ABI; funk generates the wasm ABI",
        );
    }
    if let Some(variadic) = &sig.variadic {
        refuse(variadic, "a host function cannot be variadic");
    }
    if !sig.generics.params.is_empty() {
        refuse(
            &sig.generics,
            "a host function cannot be generic: its wasm signature must be fixed",
        );
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) => {
            if receiver.reference.is_none() || receiver.colon_token.is_some() {
                refuse(receiver, "a host function takes `&self` or `&mut self`");
            }
        }
        // No receiver: the first parameter is the call context, for host
        // functions that call back into the guest.
        Some(FnArg::Typed(_)) if sig.asyncness.is_some() => {}
        Some(FnArg::Typed(first)) => refuse(
            first,
            "a host function without a receiver calls back into the guest: make it `async` and take `cx: &mut funk::GuestCx<'_, Self>` first",
        ),
        None => refuse(
            &sig.ident,
            "a host function needs a `&self` or `&mut self` receiver: it runs on the host state (or, to call back into the guest, an `async fn` taking `cx: &mut funk::GuestCx<'_, Self>` first)",
        ),
    }
    for param in &function.params {
        check_param_type(param.ty, errors);
    }
    if let Some(output @ Type::ImplTrait(_)) = function.output {
        errors.push(syn::Error::new_spanned(
            output,
            "a host function cannot return `impl Trait`",
        ));
    }
}

fn check_param_type(ty: &Type, errors: &mut Vec<syn::Error>) {
    match ty {
        Type::ImplTrait(_) => errors.push(syn::Error::new_spanned(
            ty,
            "`impl Trait` parameters are not supported: a host function needs concrete parameter types",
        )),
        Type::Slice(_) | Type::TraitObject(_) => errors.push(syn::Error::new_spanned(
            ty,
            "a slice cannot be passed by value; take `&[T]` or `&mut [T]`",
        )),
        Type::Reference(reference) => {
            if let (Some(_), Type::Path(path)) = (&reference.mutability, &*reference.elem)
                && path.qself.is_none()
                && path.path.is_ident("str")
            {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "`&mut str` is not supported; take `&mut [u8]` (and validate) or `&str`",
                ));
            }
            if let Type::ImplTrait(_) | Type::TraitObject(_) = &*reference.elem {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "trait-object and `impl Trait` references are not supported as parameters",
                ));
            }
        }
        Type::Paren(inner) => check_param_type(&inner.elem, errors),
        Type::Group(inner) => check_param_type(&inner.elem, errors),
        _ => {}
    }
    if let Some(message) = owned_suggestion(ty) {
        errors.push(syn::Error::new_spanned(ty, message));
    }
}

/// The fix for the owned containers a newcomer reaches for first:
/// `Vec<T>`, `&Vec<T>` → `&[T]`; `String`, `&String` → `&str`. The guest
/// passes such data as `(ptr, len)` in its own memory, which the host
/// borrows in place. Only the standard spellings are recognised (`Vec`,
/// `String`, and their `std::`/`alloc::` paths); an alias of them still
/// gets the trait error on its type.
fn owned_suggestion(ty: &Type) -> Option<String> {
    let (reference, inner) = match ty {
        Type::Reference(reference) => (Some(reference.mutability.is_some()), &*reference.elem),
        other => (None, other),
    };
    let Type::Path(path) = inner else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let last = path.path.segments.last()?;
    let std_path = |module: &str, name: &str| {
        let prefix: Vec<&str> = segments[..segments.len() - 1]
            .iter()
            .map(String::as_str)
            .collect();
        segments.last().map(String::as_str) == Some(name)
            && (prefix.is_empty() || prefix == ["std", module] || prefix == ["alloc", module])
    };
    let written = crate::text::pretty(ty);
    if std_path("string", "String") && last.arguments.is_none() {
        let fix = if reference == Some(true) {
            "`&str` (a guest string cannot grow in place; to fill a guest buffer take `&mut [u8]`, to return text return `String`)"
        } else {
            "`&str`"
        };
        return Some(format!(
            "`{written}` cannot be a host function parameter: the guest passes a string as `(ptr, len)` in its memory, which the host borrows, UTF-8 checked; take {fix}"
        ));
    }
    if std_path("vec", "Vec") {
        let elem = match &last.arguments {
            syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
                crate::text::pretty(&args.args[0])
            }
            _ => "T".to_owned(),
        };
        let fix = if reference == Some(true) {
            format!(
                "`&mut [{elem}]` (a guest buffer cannot grow in place; to return data return `Vec<{elem}>`)"
            )
        } else {
            format!("`&[{elem}]` (or `&mut [{elem}]` to write into it)")
        };
        return Some(format!(
            "`{written}` cannot be a host function parameter: the guest passes an array as `(ptr, count)` in its memory, which the host borrows; take {fix}"
        ));
    }
    None
}
