//! Rewrites the lifetimes of a parameter type, so it can be named outside a
//! function body: with `'static` for its ABI
//! (`<&'static [u8] as Lift<'static, S>>::Abi`; the ABI of a type never
//! depends on its lifetimes), or with one bound lifetime for the bound a
//! shim relies on (`for<'a> &'a [u8]: Lift<'a, S>`).

use proc_macro2::Span;
use syn::visit_mut::VisitMut;
use syn::{Lifetime, Type, TypeReference};

struct Replace<'l>(&'l str);

impl VisitMut for Replace<'_> {
    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        *lifetime = Lifetime::new(self.0, lifetime.span());
    }

    fn visit_type_reference_mut(&mut self, reference: &mut TypeReference) {
        if reference.lifetime.is_none() {
            reference.lifetime = Some(Lifetime::new(self.0, reference.and_token.span));
        }
        syn::visit_mut::visit_type_reference_mut(self, reference);
    }
}

fn replace(ty: &Type, lifetime: &str) -> Type {
    let mut ty = ty.clone();
    Replace(lifetime).visit_type_mut(&mut ty);
    ty
}

/// `ty` with every lifetime, named or elided, replaced by `'static`.
pub fn to_static(ty: &Type) -> Type {
    replace(ty, "'static")
}

/// The lifetime [`to_bound`] names.
pub fn bound_lifetime() -> Lifetime {
    Lifetime::new(BOUND, Span::call_site())
}

const BOUND: &str = "'__funk";

/// `ty` with every lifetime, named or elided, replaced by
/// [`bound_lifetime`].
pub fn to_bound(ty: &Type) -> Type {
    replace(ty, BOUND)
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

    #[test]
    fn every_lifetime_becomes_the_bound_one() {
        let ty: syn::Type = syn::parse_quote!(&mut [Pair<'a, '_>]);
        assert_eq!(
            super::to_bound(&ty).into_token_stream().to_string(),
            "& '__funk mut [Pair < '__funk , '__funk >]"
        );
    }
}
