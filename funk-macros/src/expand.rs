//! Code generation for `#[host_functions]`, from a model already checked.
//!
//! For each exported method it emits, inside one anonymous `const _` block:
//! - type aliases naming the method's flat ABI through funk's traits
//!   (`<T as Lift<'static, S>>::Abi`), so the meaning of each type lives in
//!   funk-core and the compiler, not in this macro;
//! - a shim: split the flat arguments, lift each one (trapping with the
//!   function and argument named), call the method, lower the result (the
//!   backend runs the whole shim with panics caught);
//! - one `Define` call per shim in the `HostFunctions` impl.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl, Type};

use crate::ast::{Block, Function};
use crate::attr;
use crate::lifetimes::to_static;
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
    for (index, function) in block.functions.iter().enumerate() {
        let names = Names::new(index, function.params.len());
        items.push(abi_aliases(self_ty, function, &names));
        let asynchronous = function.method.sig.asyncness.is_some();
        items.push(match asynchronous {
            true => shim_async::shim(self_ty, function, &names),
            false => shim(self_ty, function, &names),
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
            impl __funk::ShimInfo for #shim {
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
        quote!(where __L: #(#bounds)+*)
    };
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, non_snake_case, unused_mut, clippy::all)]
        const _: () = {
            use ::funk::__private as __funk;

            #(#items)*

            impl __funk::HostApi for #self_ty {
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

/// `type __funk_K_argI = <<T as Lift<'static, S>>::Abi as Abi>::List;` and the
/// concatenations that make up the flat signature.
fn abi_aliases(self_ty: &Type, function: &Function<'_>, names: &Names) -> TokenStream {
    let mut aliases = Vec::new();
    for (param, alias) in function.params.iter().zip(&names.args) {
        let ty = to_static(param.ty);
        aliases.push(quote_spanned! {param.ty.span()=>
            type #alias = <<#ty as __funk::Lift<'static, #self_ty>>::Abi as __funk::Abi>::List;
        });
    }
    let ret = to_static(&return_type(function));
    let span = function
        .output
        .map_or(function.method.sig.ident.span(), |t| t.span());
    let Names {
        out,
        results,
        rest,
        args,
        ..
    } = names;
    aliases.push(quote_spanned! {span=>
        type #out = <#ret as __funk::ReturnValue<#self_ty>>::OutPtrs;
        type #results = <#ret as __funk::ReturnValue<#self_ty>>::Results;
    });
    let last = &rest[args.len()];
    aliases.push(quote!(type #last = #out;));
    for i in (0..args.len()).rev() {
        let (this, arg, next) = (&rest[i], &args[i], &rest[i + 1]);
        aliases.push(quote!(type #this = <#arg as __funk::Concat<#next>>::Output;));
    }
    quote!(#(#aliases)*)
}

pub(crate) fn qualified(function: &Function<'_>) -> String {
    format!("{}::{}", function.namespace_text(), function.name.value())
}

fn shim(self_ty: &Type, function: &Function<'_>, names: &Names) -> TokenStream {
    let qualified = qualified(function);
    let method = &function.method.sig.ident;
    let Names {
        shim,
        args,
        rest,
        out,
        results,
    } = names;
    let params = &rest[0];
    let splits = args.iter().enumerate().map(|(i, alias)| {
        let (part, next) = (format_ident!("__abi{}", i), &rest[i + 1]);
        quote!(let (#part, __args) = <#alias as __funk::Concat<#next>>::split(__args);)
    });
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
            quote_spanned! {ty.span()=>
                let #value = match <#ty as __funk::Lift<'_, #self_ty>>::lift(
                    __view,
                    __state,
                    __funk::Abi::from_list(#part),
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
    let ret = return_type(function);
    let static_ret = to_static(&ret);
    let call_span = function.method.sig.ident.span();
    let call = quote_spanned! {call_span=>
        <#self_ty>::#method(__state, #(#values),*)
    };
    quote! {
        #[derive(Clone, Copy)]
        struct #shim;

        impl __funk::Shim<#self_ty> for #shim {
            type Params = #params;
            type Results = #results;
            const FALLIBLE: bool =
                #(#fallible ||)* <#static_ret as __funk::ReturnValue<#self_ty>>::FALLIBLE;

            #[inline(always)]
            fn call(
                __call: __funk::Call<'_, #self_ty>,
                __args: #params,
            ) -> ::core::result::Result<#results, __funk::Trap> {
                let (mut __memory, __state) = __call.into_parts();
                #(#splits)*
                let __outs: #out = __args;
                let __ret = {
                    const __LENDS_MUTABLY: bool = false #(|| #mutable)*;
                    // Dropped by hand once the method returned: a view with
                    // drop glue alive across the method's call would need a
                    // landing pad, and so the whole view written out, on every
                    // call. Only a method that unwinds skips the drop, which
                    // then leaks a scratch overflow (made only for iovec
                    // arrays too large for the inline buffer).
                    let __view = ::core::mem::ManuallyDrop::new(__memory.view(__LENDS_MUTABLY));
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
                <#ret as __funk::ReturnValue<#self_ty>>::lower(__ret, &mut __cx, __outs)
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
    function.params.iter().map(move |param| {
        let ty = to_static(param.ty);
        quote!(<#ty as __funk::Lift<'static, #self_ty>>::#name)
    })
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
        let ty = to_static(param.ty);
        let (name, rust) = (&param.name, text::pretty(param.ty));
        quote! {
            __funk::describe::Param {
                name: #name,
                rust: #rust,
                ty: <#ty as __funk::Lift<'static, #self_ty>>::describe(),
            }
        }
    });
    let ret = return_type(function);
    let ret_rust = text::pretty(&ret);
    let ret = to_static(&ret);
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
            ret: <#ret as __funk::ReturnValue<#self_ty>>::describe(),
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
    let ret = to_static(&return_type(function));
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
            memory: #context || #(#param_memory ||)* <#ret as __funk::ReturnValue<#self_ty>>::MEMORY,
            catch_panics: #catch_panics,
        }
    }
}
