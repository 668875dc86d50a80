//! The shim of an `async` method: a unit type implementing `AsyncShim`.
//!
//! Its future copies every argument out of guest memory first
//! (`LiftAsync::hold`, with the checks a synchronous call makes), then awaits
//! the method with the host state lent from the backend's `AsyncHost`, then
//! copies `&mut` arguments back (`LiftAsync::write_back`) and lowers the
//! result through freshly obtained guest memory, which may have grown while
//! the call was suspended. No borrow of guest memory lives across an
//! `.await`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Type;

use crate::ast::Function;
use crate::expand::{Names, lift_consts, qualified, return_static, split_args};

pub fn shim(
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
        held: held_types,
        rest,
        out,
        results,
    } = names;
    let params = &rest[0];
    let splits = split_args(names);
    let held: Vec<_> = (0..args.len())
        .map(|i| format_ident!("__held{}", i))
        .collect();
    // Each argument through `HoldFlat`, whose bound the impl carries (see
    // `expand::param_checks`), with the list and held types named once.
    let flat = |i: usize| {
        let (ty, list, held) = (function.params[i].ty, &args[i], &held_types[i]);
        quote!(<#ty as __funk::HoldFlat<'_, #self_ty, #list, #held>>)
    };
    let holds = function.params.iter().enumerate().map(|(i, param)| {
        let (flat, name, part) = (flat(i), &param.name, format_ident!("__abi{}", i));
        quote! {
            #flat::hold_flat(&__view, __state, #part)
                .map_err(|e| __funk::Trap::argument(#qualified, #name, e))?
        }
    });
    let lends = held.iter().enumerate().map(|(i, held)| {
        let flat = flat(i);
        quote!(#flat::lend_flat(&mut #held))
    });
    let write_backs = function
        .params
        .iter()
        .zip(&held)
        .enumerate()
        .map(|(i, (param, held))| {
            let (flat, name) = (flat(i), &param.name);
            quote! {
                #flat::write_back_flat(#held, &mut __memory)
                    .map_err(|e| __funk::Trap::argument(#qualified, #name, e))?;
            }
        });
    let mutable = lift_consts(self_ty, function, quote!(MUTABLE));
    let lower = return_static(self_ty, function, quote!(lower));
    let call_span = function.method.sig.ident.span();
    let call = if function.context {
        quote_spanned! {call_span=>
            let mut __cx = __funk::GuestCx::new(&mut __host);
            __funk::async_host_function_futures_must_be_send(<#self_ty>::#method(&mut __cx, #(#lends),*)).await
        }
    } else {
        quote_spanned! {call_span=>
            let __state = __host.state();
            __funk::async_host_function_futures_must_be_send(<#self_ty>::#method(__state, #(#lends),*)).await
        }
    };
    quote! {
        #[derive(Clone, Copy)]
        struct #shim;

        impl __funk::AsyncShim<#self_ty> for #shim where #checks {
            type Params = #params;
            type Results = #results;

            fn call<'__h, __H>(
                mut __host: __H,
                __args: #params,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#results, __funk::Trap>,
            > + ::core::marker::Send + '__h
            where
                __H: __funk::AsyncHost<#self_ty> + '__h,
            {
                async move {
                    #splits
                    let __outs: #out = __args;
                    let (#(mut #held,)*): (#(#held_types,)*) = {
                        let (mut __memory, __state) = __host.call().into_parts();
                        let __lends_mutably: bool = false #(|| #mutable)*;
                        let __view = __memory.view(__lends_mutably);
                        (#(#holds,)*)
                    };
                    let __ret = {
                        #call
                    };
                    let (mut __memory, __state) = __host.call().into_parts();
                    #(#write_backs)*
                    let mut __cx = __funk::LowerCx::new(&mut __memory, __state, #qualified);
                    #lower(__ret, &mut __cx, __outs)
                        .map_err(|trap| trap.in_function(#qualified))
                }
            }
        }
    }
}
