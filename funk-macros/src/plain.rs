//! `#[derive(Plain)]`: a `#[repr(C)]` record that can be viewed in place in
//! guest memory.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

fn has_c_layout(input: &DeriveInput) -> bool {
    input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("repr"))
        .any(|attr| {
            let mut c_layout = false;
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("C") || meta.path.is_ident("transparent") {
                    c_layout = true;
                }
                // Skip arguments such as `align(8)` or `packed(2)`.
                if meta.input.peek(syn::token::Paren) {
                    let content;
                    syn::parenthesized!(content in meta.input);
                    let _: TokenStream = content.parse()?;
                }
                Ok(())
            });
            c_layout
        })
}

pub fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            ident,
            "#[derive(Plain)] supports structs only: an enum or union could hold invalid bit patterns",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Plain)] does not support generic structs",
        ));
    }
    if !has_c_layout(input) {
        return Err(syn::Error::new_spanned(
            ident,
            format!(
                "`{ident}` needs `#[repr(C)]` to derive `Plain`: without it Rust may reorder the fields, so the guest's layout is unknown"
            ),
        ));
    }
    // Each field's name as the description gives it: its identifier, or
    // its position for a tuple struct.
    let (names, fields): (Vec<String>, Vec<_>) = match &data.fields {
        Fields::Named(f) => f
            .named
            .iter()
            .map(|f| {
                (
                    f.ident
                        .as_ref()
                        .map(|i| i.unraw().to_string())
                        .unwrap_or_default(),
                    &f.ty,
                )
            })
            .unzip(),
        Fields::Unnamed(f) => f
            .unnamed
            .iter()
            .enumerate()
            .map(|(i, f)| (i.to_string(), &f.ty))
            .unzip(),
        Fields::Unit => (Vec::new(), Vec::new()),
    };
    if fields.is_empty() {
        return Err(syn::Error::new_spanned(
            ident,
            format!(
                "`{ident}` has no fields: a zero-sized type has no bytes in guest memory to view, so it cannot be `Plain`"
            ),
        ));
    }
    // Each field's description, spanned at the field's type: it requires
    // the field to be `Plain`, so a field that is not is reported there,
    // once (this is the check the `Pod` impl below relies on).
    let describe_fields = names.iter().zip(&fields).map(|(name, ty)| {
        quote_spanned! {ty.span()=>
            (::std::string::String::from(#name), <#ty as ::funk::Plain>::describe())
        }
    });
    let padding_message = format!(
        "`{ident}` has padding (its size exceeds the sum of its fields' sizes); add explicit \
         fields for the padding bytes, e.g. `_pad: [u8; N]`, so every byte is defined"
    );
    // Spanned at the struct's name, so the failed assertion points there.
    // With a user span, lints see this as user code: allow `0 + size`.
    let padding_check = quote_spanned! {ident.span()=>
        #[allow(clippy::identity_op)]
        const _: () = ::core::assert!(
            ::core::mem::size_of::<#ident>() == 0 #(+ ::core::mem::size_of::<#fields>())*,
            #padding_message
        );
    };
    let name = ident.to_string();
    Ok(quote! {
        const _: () = {
            #padding_check
            // SAFETY: `#ident` is `repr(C)` (checked by the derive), every
            // field is `Plain` (required by `describe` below) and the
            // fields add up to the struct's size, so there is no padding:
            // every bit pattern is a valid value.
            unsafe impl ::funk::__private::bytemuck::Zeroable for #ident {}
            // SAFETY: as above.
            unsafe impl ::funk::__private::bytemuck::Pod for #ident {}
            impl ::funk::Plain for #ident {
                fn describe() -> ::funk::describe::PlainType {
                    ::funk::describe::PlainType::Record {
                        name: ::std::string::String::from(#name),
                        fields: ::std::vec![#(#describe_fields),*],
                        size: ::core::mem::size_of::<#ident>(),
                        align: ::core::mem::align_of::<#ident>(),
                    }
                }
            }
        };
    })
}
