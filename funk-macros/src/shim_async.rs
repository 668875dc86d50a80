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
use crate::expand::{Names, lift_consts, qualified, return_type};

pub fn shim(self_ty: &Type, function: &Function<'_>, names: &Names) -> TokenStream {
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
    let held: Vec<_> = (0..args.len())
        .map(|i| format_ident!("__held{}", i))
        .collect();
    let holds = function.params.iter().enumerate().map(|(i, param)| {
        let (ty, name, part) = (param.ty, &param.name, format_ident!("__abi{}", i));
        quote! {
            <#ty as __funk::LiftAsync<'_, #self_ty>>::hold(
                &__view,
                __state,
                __funk::Abi::from_list(#part),
            )
            .map_err(|e| __funk::Trap::argument(#qualified, #name, e))?
        }
    });
    let lends = function.params.iter().zip(&held).map(|(param, held)| {
        let ty = param.ty;
        quote! {
            <#ty as __funk::LiftAsync<'_, #self_ty>>::lend(&mut #held)
        }
    });
    let write_backs = function.params.iter().zip(&held).map(|(param, held)| {
        let (ty, name) = (param.ty, &param.name);
        quote! {
            <#ty as __funk::LiftAsync<'_, #self_ty>>::write_back(#held, &mut __memory)
                .map_err(|e| __funk::Trap::argument(#qualified, #name, e))?;
        }
    });
    // Every use names the parameter type with its own tokens and no other
    // span, so an unsupported type is reported once, at the type.
    let held_types = function.params.iter().map(|param| {
        let ty = param.ty;
        quote!(<#ty as __funk::LiftAsync<'_, #self_ty>>::Held)
    });
    let mutable = lift_consts(self_ty, function, quote!(MUTABLE));
    let ret = return_type(function);
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

        impl __funk::AsyncShim<#self_ty> for #shim {
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
                    #(#splits)*
                    let __outs: #out = __args;
                    let (#(mut #held,)*): (#(#held_types,)*) = {
                        let (mut __memory, __state) = __host.call().into_parts();
                        const __LENDS_MUTABLY: bool = false #(|| #mutable)*;
                        let __view = __memory.view(__LENDS_MUTABLY);
                        (#(#holds,)*)
                    };
                    let __ret = {
                        #call
                    };
                    let (mut __memory, __state) = __host.call().into_parts();
                    #(#write_backs)*
                    let mut __cx = __funk::LowerCx::new(&mut __memory, __state, #qualified);
                    <#ret as __funk::ReturnValue<#self_ty>>::lower(__ret, &mut __cx, __outs)
                        .map_err(|trap| trap.in_function(#qualified))
                }
            }
        }
    }
}
