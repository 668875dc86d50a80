//! Code generation for `#[host_functions]`, from a model already checked.
//!
//! For each exported method it emits, inside one anonymous `const _` block:
//! - type aliases naming the method's flat ABI through funk's traits
//!   (`<T as Lift<'static, S>>::Abi`), so the meaning of each type lives in
//!   funk-core and the compiler, not in this macro;
//! - a shim: split the flat arguments, lift each one (trapping with the
//!   function and argument named), call the method, lower the result (the
//!   backend runs the whole shim with panics caught);
//! - one `Define` call per shim in the `HostFunctions` impl;
//! - one check per parameter and result type, the only code that proves
//!   anything about them: every impl above carries their bounds as
//!   where-clauses, so an unsupported type is one error, at the type.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl, Type};

use crate::ast::{Block, Function};
use crate::attr;
use crate::lifetimes::{bound_lifetime, to_bound, to_static};
use crate::shim_async;
use crate::text;
use crate::valid;

pub fn host_functions(args: TokenStream, item: ItemImpl) -> TokenStream {
    let block_attr = match attr::parse_block(args) {
        Ok(block_attr) => block_attr,
        // Without a namespace every method would also report a missing one;
        // the attribute is the one mistake to fix first.
        Err(error) => {
            let error = error.into_compile_error();
            let cleaned = strip_funk_attributes(&item);
            return quote! { #cleaned #error };
        }
    };
    let mut errors = Vec::new();
    let block = Block::from_syn(&item, block_attr, &mut errors);
    valid::check(&block, &mut errors);
    let cleaned = strip_funk_attributes(&item);
    if !errors.is_empty() {
        // Keep the user's impl so the rest of their crate still type-checks.
        let errors = errors.into_iter().map(syn::Error::into_compile_error);
        return quote! { #cleaned #(#errors)* };
    }
    let generated = generate(&block);
    quote! { #cleaned #generated }
}

fn strip_funk_attributes(item: &ItemImpl) -> ItemImpl {
    let mut item = item.clone();
    for impl_item in &mut item.items {
        if let ImplItem::Fn(method) = impl_item {
            method.attrs.retain(|a| !attr::is_funk(a));
        }
    }
    item
}

/// The names one function's generated items use.
pub(crate) struct Names {
    pub shim: syn::Ident,
    pub args: Vec<syn::Ident>,
    /// An async method's held copy of each argument (`LiftAsync::Held`).
    pub held: Vec<syn::Ident>,
    /// `rest[i]`: the flat list from argument `i` to the end (out-pointers
    /// included); `rest[0]` is the whole parameter list.
    pub rest: Vec<syn::Ident>,
    pub out: syn::Ident,
    pub results: syn::Ident,
}

impl Names {
    fn new(index: usize, arity: usize) -> Self {
        Names {
            shim: format_ident!("__funk_shim_{}", index),
            args: (0..arity)
                .map(|i| format_ident!("__funk_{}_arg{}", index, i))
                .collect(),
            held: (0..arity)
                .map(|i| format_ident!("__funk_{}_held{}", index, i))
                .collect(),
            rest: (0..=arity)
                .map(|i| format_ident!("__funk_{}_rest{}", index, i))
                .collect(),
            out: format_ident!("__funk_{}_out", index),
            results: format_ident!("__funk_{}_results", index),
        }
    }
}

pub(crate) fn return_type(function: &Function<'_>) -> Type {
    function
        .output
        .cloned()
        .unwrap_or_else(|| syn::parse_quote!(()))
}

fn generate(block: &Block<'_>) -> TokenStream {
    let self_ty = &block.item.self_ty;
    let mut items = Vec::new();
    let mut infos = Vec::new();
    let mut bounds = Vec::new();
    let mut defines = Vec::new();
    let mut descriptions = Vec::new();
    let names: Vec<_> = (block.functions.iter().enumerate())
        .map(|(index, function)| Names::new(index, function.params.len()))
        .collect();
    let checks = (block.functions.iter().zip(&names))
        .map(|(function, names)| param_checks(self_ty, function, names));
    let checks = quote!(#(#checks)*);
    for ((index, function), names) in block.functions.iter().enumerate().zip(names) {
        items.push(abi_aliases(self_ty, function, &names));
        items.push(param_type_checks(self_ty, function));
        let asynchronous = function.method.sig.asyncness.is_some();
        items.push(match asynchronous {
            true => shim_async::shim(self_ty, function, &names, &checks),
            false => shim(self_ty, function, &names, &checks),
        });
        infos.push(func_info(self_ty, function));
        descriptions.push(describe(self_ty, function, &names));
        let Names {
            shim,
            rest,
            results,
            ..
        } = &names;
        let params = &rest[0];
        let (define, method) = match asynchronous {
            true => (quote!(DefineAsync), quote!(define_async)),
            false => (quote!(Define), quote!(define)),
        };
        bounds.push(quote!(__funk::#define<#self_ty, #params, #results>));
        items.push(quote! {
            impl __funk::ShimInfo for #shim where #checks {
                const INFO: &'static __funk::FuncInfo =
                    &<#self_ty as __funk::HostApi>::FUNCTIONS[#index];
            }
        });
        defines.push(quote! {
            <__L as __funk::#define<#self_ty, #params, #results>>::#method(linker, #shim)?;
        });
    }
    let where_clause = if bounds.is_empty() {
        quote!()
    } else {
        quote!(where #checks __L: #(#bounds)+*)
    };
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, non_snake_case, unused_mut, clippy::all)]
        const _: () = {
            use ::funk::__private as __funk;

            #(#items)*

            impl __funk::HostApi for #self_ty where #checks {
                const FUNCTIONS: &'static [__funk::FuncInfo] = &[#(#infos),*];

                fn describe() -> ::std::vec::Vec<__funk::describe::Function> {
                    ::std::vec![#(#descriptions),*]
                }
            }

            impl<__L> __funk::HostFunctions<__L> for #self_ty #where_clause {
                fn define_all(linker: &mut __L) -> ::core::result::Result<(), __funk::LinkError> {
                    #(#defines)*
                    ::core::result::Result::Ok(())
                }
            }
        };
    }
}

/// The bounds the generated impls rely on, as where-clause predicates that
/// every one of them carries, so that no impl's body has to prove anything
/// about a parameter type by itself. For each parameter type `T`:
///
/// - `for<'f> T<'static>: Lift<'static, S>` (`LiftAsync` for an async
///   method), which names the ABI and the constants. The unused binder
///   keeps the compiler from reporting a false bound at every impl: an
///   unsupported `T` is reported once, by [`param_type_checks`].
/// - `for<'f> T<'f>: LiftFlat<'f, S, List>` (`HoldFlat<'f, S, List, Held>`
///   for an async method), which the shim lifts with. These traits have no
///   associated types, so relying on the bound never hides what an impl's
///   `Abi` or `Held` is.
///
/// And `for<'f> R: ReturnValue<S>` for the return type `R`.
fn param_checks(self_ty: &Type, function: &Function<'_>, names: &Names) -> TokenStream {
    let asynchronous = function.method.sig.asyncness.is_some();
    let lifetime = bound_lifetime();
    let predicates = function.params.iter().enumerate().map(|(i, param)| {
        let (static_ty, bound_ty) = (to_static(param.ty), to_bound(param.ty));
        let list = &names.args[i];
        let (lift, flat) = match asynchronous {
            true => {
                let held = &names.held[i];
                (
                    quote!(LiftAsync),
                    quote!(HoldFlat<#lifetime, #self_ty, #list, #held>),
                )
            }
            false => (quote!(Lift), quote!(LiftFlat<#lifetime, #self_ty, #list>)),
        };
        quote! {
            for<#lifetime> #static_ty: __funk::#lift<'static, #self_ty>,
            for<#lifetime> #bound_ty: __funk::#flat,
        }
    });
    let ret = to_static(&return_type(function));
    quote! {
        #(#predicates)*
        for<#lifetime> #ret: __funk::ReturnValue<#self_ty>,
    }
}

/// The one place each parameter type and the return type is checked: a
/// constant outside every impl, so none of the where-clauses of
/// [`param_checks`] applies to it. Its value names the parameter's
/// `Lift::lift` (`LiftAsync::hold` for an async method) or the result's
/// `ReturnValue::lower`, so an unsupported type is reported here, at the
/// type, with the message of the trait it lacks.
fn param_type_checks(self_ty: &Type, function: &Function<'_>) -> TokenStream {
    let checks = function.params.iter().map(|param| {
        let checked = match function.method.sig.asyncness {
            Some(_) => lift_async_static(self_ty, param.ty, quote!(hold)),
            None => lift_static(self_ty, param.ty, quote!(lift)),
        };
        quote! {
            const _: () = {
                let _ = #checked;
            };
        }
    });
    let lower = return_static(self_ty, function, quote!(lower));
    quote! {
        #(#checks)*
        const _: () = {
            let _ = #lower;
        };
    }
}

/// `<T as Lift<'static, S>>::item` for a parameter type `T`, spanned at `T`:
/// the path starts where `T` starts and ends where `T` ends, so a diagnostic
/// about it underlines the type as the user wrote it.
pub(crate) fn lift_static(self_ty: &Type, ty: &Type, item: TokenStream) -> TokenStream {
    at_type(
        ty,
        type_ends(ty),
        quote!(__funk::Lift<'static, #self_ty>),
        item,
    )
}

/// [`lift_static`] through `LiftAsync`.
fn lift_async_static(self_ty: &Type, ty: &Type, item: TokenStream) -> TokenStream {
    at_type(
        ty,
        type_ends(ty),
        quote!(__funk::LiftAsync<'static, #self_ty>),
        item,
    )
}

/// `<R as ReturnValue<S>>::item` for the method's return type `R`, spanned
/// at it as [`lift_static`] does for parameters.
pub(crate) fn return_static(
    self_ty: &Type,
    function: &Function<'_>,
    item: TokenStream,
) -> TokenStream {
    let ret = return_type(function);
    let trait_ = quote!(__funk::ReturnValue<#self_ty>);
    at_type(&ret, return_ends(function), trait_, item)
}

fn at_type(
    ty: &Type,
    (first, last): (Span, Span),
    trait_: TokenStream,
    item: TokenStream,
) -> TokenStream {
    let static_ty = to_static(ty);
    let item = respan(item, last);
    quote_spanned! {first=> <#static_ty as #trait_>::#item}
}

/// The spans of the first and last tokens of the declared return type, or
/// of the method's name when it declares none.
fn return_ends(function: &Function<'_>) -> (Span, Span) {
    match function.output {
        Some(ty) => type_ends(ty),
        None => {
            let span = function.method.sig.ident.span();
            (span, span)
        }
    }
}

/// The spans of the first and last tokens of `ty`.
fn type_ends(ty: &Type) -> (Span, Span) {
    let tokens: Vec<_> = ty.to_token_stream().into_iter().collect();
    let first = tokens
        .first()
        .map_or_else(Span::call_site, |token| match token {
            TokenTree::Group(group) => group.span_open(),
            other => other.span(),
        });
    let last = tokens.last().map_or(first, |token| match token {
        TokenTree::Group(group) => group.span_close(),
        other => other.span(),
    });
    (first, last)
}

fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}

/// `type __funk_K_argI = <<T as Lift<'static, S>>::Abi as Abi>::List;` and the
/// concatenations that make up the flat signature.
fn abi_aliases(self_ty: &Type, function: &Function<'_>, names: &Names) -> TokenStream {
    let mut aliases = Vec::new();
    for (param, alias) in function.params.iter().zip(&names.args) {
        let abi = lift_static(self_ty, param.ty, quote!(Abi));
        aliases.push(quote! {
            type #alias = <#abi as __funk::Abi>::List;
        });
    }
    if function.method.sig.asyncness.is_some() {
        for (param, alias) in function.params.iter().zip(&names.held) {
            let held = lift_async_static(self_ty, param.ty, quote!(Held));
            aliases.push(quote!(type #alias = #held;));
        }
    }
    let out_ptrs = return_static(self_ty, function, quote!(OutPtrs));
    let results_list = return_static(self_ty, function, quote!(Results));
    let Names {
        out,
        results,
        rest,
        args,
        ..
    } = names;
    aliases.push(quote! {
        type #out = #out_ptrs;
        type #results = #results_list;
    });
    let last = &rest[args.len()];
    aliases.push(quote!(type #last = #out;));
    for i in (0..args.len()).rev() {
        let (this, arg, next) = (&rest[i], &args[i], &rest[i + 1]);
        aliases.push(quote!(type #this = <#arg as __funk::Concat<#next>>::Output;));
    }
    quote!(#(#aliases)*)
}

/// `let (__abiI, __args) = ...::split(__args);` for each argument, in
/// order: the flat parameter list cut into each argument's words.
pub(crate) fn split_args(names: &Names) -> TokenStream {
    let Names { args, rest, .. } = names;
    let splits = args.iter().enumerate().map(|(i, alias)| {
        let (part, next) = (format_ident!("__abi{}", i), &rest[i + 1]);
        quote!(let (#part, __args) = <#alias as __funk::Concat<#next>>::split(__args);)
    });
    quote!(#(#splits)*)
}

pub(crate) fn qualified(function: &Function<'_>) -> String {
    format!("{}::{}", function.namespace_text(), function.name.value())
}

fn shim(
    self_ty: &Type,
    function: &Function<'_>,
    names: &Names,
    checks: &TokenStream,
) -> TokenStream {
    let qualified = qualified(function);
    let method = &function.method.sig.ident;
    let Names {
        shim,
        args,
        rest,
        out,
        results,
        ..
    } = names;
    let params = &rest[0];
    let splits = split_args(names);
    let values: Vec<_> = (0..args.len())
        .map(|i| format_ident!("__value{}", i))
        .collect();
    let lifts = function
        .params
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(i, (param, value))| {
            let (ty, name, part) = (param.ty, &param.name, format_ident!("__abi{}", i));
            let list = &args[i];
            quote_spanned! {ty.span()=>
                let #value = match <#ty as __funk::LiftFlat<'_, #self_ty, #list>>::lift_flat(
                    __view,
                    __state,
                    #part,
                ) {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(e) => {
                        break '__funk_lifted ::core::result::Result::Err(
                            __funk::Trap::argument(#qualified, #name, e),
                        );
                    }
                };
            }
        });
    let mutable = lift_consts(self_ty, function, quote!(MUTABLE));
    let fallible = lift_consts(self_ty, function, quote!(FALLIBLE));
    let ret_fallible = return_static(self_ty, function, quote!(FALLIBLE));
    let lower = return_static(self_ty, function, quote!(lower));
    let call_span = function.method.sig.ident.span();
    let call = quote_spanned! {call_span=>
        <#self_ty>::#method(__state, #(#values),*)
    };
    quote! {
        #[derive(Clone, Copy)]
        struct #shim;

        impl __funk::Shim<#self_ty> for #shim where #checks {
            type Params = #params;
            type Results = #results;
            const FALLIBLE: bool =
                #(#fallible ||)* #ret_fallible;

            #[inline(always)]
            fn call(
                __call: __funk::Call<'_, #self_ty>,
                __args: #params,
            ) -> ::core::result::Result<#results, __funk::Trap> {
                let (mut __memory, __state) = __call.into_parts();
                #splits
                let __outs: #out = __args;
                let __ret = {
                    let __lends_mutably: bool = false #(|| #mutable)*;
                    // Dropped by hand once the method returned: a view with
                    // drop glue alive across the method's call would need a
                    // landing pad, and so the whole view written out, on every
                    // call. Only a method that unwinds skips the drop, which
                    // then leaks a scratch overflow (made only for iovec
                    // arrays too large for the inline buffer).
                    let __view = ::core::mem::ManuallyDrop::new(__memory.view(__lends_mutably));
                    #[allow(unused_labels)]
                    let __ret = '__funk_lifted: {
                        let __view = &*__view;
                        #(#lifts)*
                        ::core::result::Result::Ok(#call)
                    };
                    // A move out: the borrow checker proves nothing lifted
                    // from the view is still alive.
                    drop(::core::mem::ManuallyDrop::into_inner(__view));
                    __ret?
                };
                let mut __cx = __funk::LowerCx::new(&mut __memory, __state, #qualified);
                #lower(__ret, &mut __cx, __outs)
                    .map_err(|trap| trap.in_function(#qualified))
            }
        }
    }
}

/// `<T as Lift<'static, S>>::CONST` for each parameter type `T`.
pub(crate) fn lift_consts<'a>(
    self_ty: &'a Type,
    function: &'a Function<'_>,
    name: TokenStream,
) -> impl Iterator<Item = TokenStream> + 'a {
    function
        .params
        .iter()
        .map(move |param| lift_static(self_ty, param.ty, name.clone()))
}

/// The interface description of one function: its names, doc comment and
/// signature as written, and how each parameter and the result travel, from
/// the same traits that lower the call.
fn describe(self_ty: &Type, function: &Function<'_>, names: &Names) -> TokenStream {
    let namespace = function.namespace_text();
    let name = function.name.value();
    let method = function.method.sig.ident.to_string();
    let docs = text::docs(&function.method.attrs);
    let signature = text::pretty(&function.method.sig);
    let asynchronous = function.method.sig.asyncness.is_some();
    let repeatable = function.repeatable;
    let params = function.params.iter().map(|param| {
        let describe = lift_static(self_ty, param.ty, quote!(describe));
        let (name, rust) = (&param.name, text::pretty(param.ty));
        quote! {
            __funk::describe::Param {
                name: #name,
                rust: #rust,
                ty: #describe(),
            }
        }
    });
    let ret_rust = text::pretty(return_type(function));
    let ret = return_static(self_ty, function, quote!(describe));
    let (params_list, results_list) = (&names.rest[0], &names.results);
    quote_spanned! {Span::call_site()=>
        __funk::describe::Function {
            namespace: #namespace,
            name: #name,
            method: #method,
            docs: #docs,
            signature: #signature,
            asynchronous: #asynchronous,
            repeatable: #repeatable,
            params: ::std::vec![#(#params),*],
            ret_rust: #ret_rust,
            ret: #ret(),
            wasm_params: <#params_list as __funk::AbiList>::types(),
            wasm_results: <#results_list as __funk::AbiList>::types(),
        }
    }
}

fn func_info(self_ty: &Type, function: &Function<'_>) -> TokenStream {
    let namespace = function.namespace_text();
    let name = function.name.value();
    let qualified = qualified(function);
    let asynchronous = function.method.sig.asyncness.is_some();
    let param_memory = lift_consts(self_ty, function, quote!(MEMORY));
    let ret_memory = return_static(self_ty, function, quote!(MEMORY));
    // A function that calls back into the guest may reach guest memory
    // through its context.
    let context = function.context;
    let catch_panics = function.catch_panics;
    quote_spanned! {Span::call_site()=>
        __funk::FuncInfo {
            namespace: #namespace,
            name: #name,
            qualified: #qualified,
            asynchronous: #asynchronous,
            memory: #context || #(#param_memory ||)* #ret_memory,
            catch_panics: #catch_panics,
        }
    }
}
