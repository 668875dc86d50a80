//! [`LiftFlat`] and [`HoldFlat`]: [`Lift`] and [`LiftAsync`] with the types
//! a shim needs as trait parameters, which is how a generated shim lifts its
//! arguments.
//!
//! A shim's impl carries `for<'a> T: LiftFlat<'a, S, L>` for each parameter
//! type `T`, `L` being the flat list named once, outside the shim, through
//! `<<T as Lift<'static, S>>::Abi as Abi>::List`. The body then proves
//! nothing about `T` by itself: a type without a `Lift` impl is reported
//! once, where its list is named, and not again inside every shim. The
//! bound has no associated types, so relying on it never hides what a
//! `Lift` impl's `Abi` is.

use crate::abi::Abi;
use crate::error::GuestError;
use crate::lift::Lift;
use crate::lift_async::LiftAsync;
use crate::memory::{GuestMemory, GuestView};

/// [`Lift::lift`] from the flat list `L` of `Self::Abi` (implemented for
/// every [`Lift`] type; not meant to be implemented or called by hand).
pub trait LiftFlat<'a, S, L>: Sized {
    /// Lifts `Self` from its flat wasm values.
    fn lift_flat(view: &'a GuestView<'_>, state: &mut S, list: L) -> Result<Self, GuestError>;
}

impl<'a, S, T: Lift<'a, S>> LiftFlat<'a, S, <T::Abi as Abi>::List> for T {
    #[inline(always)]
    fn lift_flat(
        view: &'a GuestView<'_>,
        state: &mut S,
        list: <T::Abi as Abi>::List,
    ) -> Result<Self, GuestError> {
        T::lift(view, state, Abi::from_list(list))
    }
}

/// [`LiftAsync`] from the flat list `L`, with the held copy `H` named as a
/// parameter (implemented for every [`LiftAsync`] type; not meant to be
/// implemented or called by hand).
pub trait HoldFlat<'a, S, L, H>: Sized {
    /// [`LiftAsync::hold`].
    fn hold_flat(view: &GuestView<'_>, state: &mut S, list: L) -> Result<H, GuestError>;
    /// [`LiftAsync::lend`].
    fn lend_flat(held: &'a mut H) -> Self;
    /// [`LiftAsync::write_back`].
    fn write_back_flat(held: H, memory: &mut GuestMemory<'_>) -> Result<(), GuestError>;
}

impl<'a, S, T: LiftAsync<'a, S>> HoldFlat<'a, S, <T::Abi as Abi>::List, T::Held> for T {
    #[inline(always)]
    fn hold_flat(
        view: &GuestView<'_>,
        state: &mut S,
        list: <T::Abi as Abi>::List,
    ) -> Result<T::Held, GuestError> {
        T::hold(view, state, Abi::from_list(list))
    }
    #[inline(always)]
    fn lend_flat(held: &'a mut T::Held) -> Self {
        T::lend(held)
    }
    #[inline(always)]
    fn write_back_flat(held: T::Held, memory: &mut GuestMemory<'_>) -> Result<(), GuestError> {
        T::write_back(held, memory)
    }
}
