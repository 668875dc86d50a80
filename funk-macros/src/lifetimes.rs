//! Rewrites the lifetimes of a parameter type to `'static`, so its ABI can
//! be named outside a function body (`<&'static [u8] as Lift<'static, S>>::Abi`).
//! The ABI of a type never depends on its lifetimes.

use syn::visit_mut::VisitMut;
use syn::{Lifetime, Type, TypeReference};

struct ToStatic;

impl VisitMut for ToStatic {
    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        *lifetime = Lifetime::new("'static", lifetime.span());
    }

    fn visit_type_reference_mut(&mut self, reference: &mut TypeReference) {
        if reference.lifetime.is_none() {
            reference.lifetime = Some(Lifetime::new("'static", reference.and_token.span));
        }
        syn::visit_mut::visit_type_reference_mut(self, reference);
    }
}

/// `ty` with every lifetime, named or elided, replaced by `'static`.
pub fn to_static(ty: &Type) -> Type {
    let mut ty = ty.clone();
    ToStatic.visit_type_mut(&mut ty);
    ty
}

#[cfg(test)]
mod tests {
    use quote::ToTokens;

    #[test]
    fn elided_and_named_lifetimes_become_static() {
        let ty: syn::Type = syn::parse_quote!(&mut [std::io::IoSliceMut<'_>]);
        assert_eq!(
            super::to_static(&ty).into_token_stream().to_string(),
            "& 'static mut [std :: io :: IoSliceMut < 'static >]"
        );
    }
}
