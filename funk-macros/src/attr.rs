//! The attribute arguments: `#[host_functions(namespace = "...", panics =
//! "...")]` on the block and `#[funk(name = "...", namespace = "...", panics
//! = "...", repeatable, skip)]` on methods.

use syn::spanned::Spanned;
use syn::{Attribute, LitStr};

/// Arguments of `#[host_functions(...)]`.
#[derive(Default)]
pub struct BlockAttr {
    pub namespace: Option<LitStr>,
    pub panics: Option<Panics>,
}

/// Arguments of `#[funk(...)]` on a method.
#[derive(Default)]
pub struct MethodAttr {
    pub name: Option<LitStr>,
    pub namespace: Option<LitStr>,
    pub panics: Option<Panics>,
    pub skip: bool,
    /// Calling it twice has the effect of calling it once: guest bindings
    /// may repeat a call whose `Vec`/`String` result did not fit.
    pub repeatable: bool,
}

/// What a panic in a host function becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Panics {
    /// A trap naming the function (the default).
    Trap,
    /// It unwinds to the embedder's call into the guest, as in a
    /// hand-written host function.
    Unwind,
}

fn parse_panics(value: LitStr) -> syn::Result<Panics> {
    match value.value().as_str() {
        "trap" => Ok(Panics::Trap),
        "unwind" => Ok(Panics::Unwind),
        _ => Err(syn::Error::new_spanned(
            value,
            "`panics` is \"trap\" (the default: a panic becomes a trap naming the function) or \"unwind\" (the panic unwinds to the embedder's call into the guest)",
        )),
    }
}

fn set_panics(slot: &mut Option<Panics>, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new_spanned(
            &meta.path,
            "this argument is given twice",
        ));
    }
    *slot = Some(parse_panics(meta.value()?.parse()?)?);
    Ok(())
}

pub fn parse_block(args: proc_macro2::TokenStream) -> syn::Result<BlockAttr> {
    let mut attr = BlockAttr::default();
    if args.is_empty() {
        return Ok(attr);
    }
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("namespace") {
            set_once(&mut attr.namespace, meta.value()?.parse()?, &meta.path)
        } else if meta.path.is_ident("panics") {
            set_panics(&mut attr.panics, &meta)
        } else {
            Err(meta.error(
                "unknown #[host_functions] argument; expected `namespace = \"...\"` or `panics = \"trap\" | \"unwind\"`",
            ))
        }
    });
    syn::parse::Parser::parse2(parser, args)?;
    Ok(attr)
}

fn set_once(slot: &mut Option<LitStr>, value: LitStr, path: &syn::Path) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new_spanned(
            path,
            "this argument is given twice",
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// Whether `attr` is one of ours.
pub fn is_funk(attr: &Attribute) -> bool {
    attr.path().is_ident("funk")
}

/// Reads every `#[funk(...)]` on a method, reporting all mistakes.
pub fn parse_method(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> MethodAttr {
    let mut out = MethodAttr::default();
    for attr in attrs.iter().filter(|a| is_funk(a)) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                set_once(&mut out.name, meta.value()?.parse()?, &meta.path)
            } else if meta.path.is_ident("namespace") {
                set_once(&mut out.namespace, meta.value()?.parse()?, &meta.path)
            } else if meta.path.is_ident("panics") {
                set_panics(&mut out.panics, &meta)
            } else if meta.path.is_ident("skip") {
                out.skip = true;
                Ok(())
            } else if meta.path.is_ident("repeatable") {
                out.repeatable = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown #[funk] argument; expected `name = \"...\"`, `namespace = \"...\"`, `panics = \"...\"`, `repeatable` or `skip`",
                ))
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
        if matches!(attr.meta, syn::Meta::Path(_)) {
            errors.push(syn::Error::new(
                attr.span(),
                "#[funk] needs arguments: `#[funk(name = \"...\")]`, `#[funk(namespace = \"...\")]` or `#[funk(skip)]`",
            ));
        }
    }
    out
}
