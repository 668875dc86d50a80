//! `#[derive(HostError)]`: a fieldless enum whose variants are the status
//! codes a host function returns to the guest.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

pub fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            ident,
            "#[derive(HostError)] supports fieldless enums only: each variant is one status code \
             (implement `funk::HostError` by hand for anything else)",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(HostError)] does not support generic enums",
        ));
    }
    if data.variants.is_empty() {
        return Err(syn::Error::new_spanned(
            ident,
            format!("`{ident}` has no variants: a status error needs at least one code"),
        ));
    }
    if let Some(variant) = data
        .variants
        .iter()
        .find(|v| !matches!(v.fields, Fields::Unit))
    {
        return Err(syn::Error::new_spanned(
            &variant.fields,
            "#[derive(HostError)] variants carry no fields: each is one status code",
        ));
    }
    let variants: Vec<_> = data.variants.iter().map(|v| &v.ident).collect();
    let names: Vec<String> = variants.iter().map(|v| v.to_string()).collect();
    // 0 is success: a variant that lowered to 0 would tell the guest the
    // call succeeded. Checked per variant (its discriminant may be implicit
    // or a constant expression), spanned at the variant.
    let nonzero = data.variants.iter().map(|v| {
        let variant = &v.ident;
        let message = format!(
            "`{ident}::{variant}` is status code 0, which the guest reads as success: give it a \
             non-zero discriminant (`{variant} = 1`)"
        );
        quote_spanned! {v.span()=>
            const _: () = ::core::assert!(#ident::#variant as i64 != 0, #message);
        }
    });
    let fits = data.variants.iter().map(|v| {
        let variant = &v.ident;
        let message = format!("`{ident}::{variant}` does not fit the guest's `i32` status code");
        quote_spanned! {v.span()=>
            const _: () = ::core::assert!(
                #ident::#variant as i128 >= i32::MIN as i128
                    && #ident::#variant as i128 <= i32::MAX as i128,
                #message
            );
        }
    });
    Ok(quote! {
        const _: () = {
            #(#nonzero)*
            #(#fits)*
            impl ::funk::HostError for #ident {
                type Abi = ::funk::Status;
                fn into_failure(self) -> ::funk::Failure {
                    ::funk::Failure::Status(match self {
                        #(#ident::#variants => #ident::#variants as i32,)*
                    })
                }
                fn describe() -> ::funk::describe::ErrorType {
                    ::funk::describe::ErrorType {
                        name: ::std::string::String::from(::core::stringify!(#ident)),
                        codes: ::std::vec![#(
                            (::std::string::String::from(#names), #ident::#variants as i32)
                        ),*],
                    }
                }
            }
        };
    })
}
