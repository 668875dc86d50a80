//! Procedural macros of [funk](https://docs.rs/funk): `#[host_functions]`,
//! `#[derive(Plain)]` and `#[derive(HostError)]`. Use them through the `funk` crate, whose docs describe
//! them; the generated code refers to `::funk`.

mod ast;
mod attr;
mod expand;
mod host_error;
mod lifetimes;
mod plain;
mod shim_async;
mod text;
mod valid;

use proc_macro::TokenStream;

/// Exposes the methods of an `impl` block as WebAssembly host functions.
///
/// See the `funk` crate documentation for the full description.
#[proc_macro_attribute]
pub fn host_functions(args: TokenStream, input: TokenStream) -> TokenStream {
    let input2: proc_macro2::TokenStream = input.clone().into();
    let item = match syn::parse::<syn::ItemImpl>(input) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new_spanned(
                input2,
                "#[host_functions] goes on an inherent `impl` block: `impl State { ... }`",
            );
            return error.to_compile_error().into();
        }
    };
    expand::host_functions(args.into(), item).into()
}

/// Derives `funk::Plain` for a `#[repr(C)]` struct of plain-data fields, so
/// it can be viewed in place in guest memory (`&[Record]`, `&mut Record`) and
/// written through out-pointers. Padding is rejected at compile time.
#[proc_macro_derive(Plain)]
pub fn derive_plain(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    plain::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `funk::HostError` for a fieldless enum: each variant is a status
/// code (its discriminant, which must be non-zero and fit an `i32`), and the
/// interface description lists them by name.
#[proc_macro_derive(HostError)]
pub fn derive_host_error(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    host_error::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
