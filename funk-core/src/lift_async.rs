//! Parameters of `async` host functions: owned copies of guest data.
//!
//! An async method's future outlives the wasm call frame that produced its
//! arguments: on both engines other code (even the same guest, re-entered
//! through another export) may touch guest memory while it is suspended, and
//! the memory may grow and move. So no parameter of an async method borrows
//! guest memory. [`LiftAsync::hold`] copies what the guest passed *before*
//! the method starts, with the same checks as [`Lift`] (bounds, alignment,
//! UTF-8, aliasing of `&mut` arguments); the method borrows that copy; after
//! it finishes, [`LiftAsync::write_back`] copies `&mut` arguments back to
//! the guest. The guest cannot observe the difference, because it is blocked
//! in the call the whole time.

use crate::error::GuestError;
use crate::lift::Lift;
use crate::memory::{GuestMemory, GuestView};
use crate::plain::Plain;
use crate::resources::{Borrow, Handle, HasResources, Take};

/// A parameter type accepted by `async` host functions.
///
/// Implemented for every built-in parameter type, iovecs (`&[IoSlice]`,
/// `&mut [IoSliceMut]`, see [`crate::iovec`]) included. For your own owned
/// [`Lift`] type, implement it with `Held = Self` (see the example).
///
/// ```
/// use funk_core::{GuestError, GuestView, Lift, LiftAsync};
///
/// #[derive(Clone, Copy)]
/// struct Port(u16);
///
/// impl<'a, S> Lift<'a, S> for Port {
///     type Abi = u32;
///     const MEMORY: bool = false;
///     fn lift(_: &'a GuestView<'_>, _: &mut S, raw: u32) -> Result<Self, GuestError> {
///         u16::try_from(raw).map(Port).map_err(|_| GuestError::Custom(format!("port {raw}")))
///     }
/// }
///
/// impl<'a, S> LiftAsync<'a, S> for Port {
///     type Held = Port;
///     fn hold(view: &GuestView<'_>, state: &mut S, raw: u32) -> Result<Port, GuestError> {
///         <Port as Lift<'_, S>>::lift(view, state, raw)
///     }
///     fn lend(held: &'a mut Port) -> Port {
///         *held
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of an `async` host function",
    label = "not accepted by async host functions",
    note = "async host functions take copies of guest data: integers, floats, `bool`, `char`, `&str`, `&[T]`, `&mut [T]`, `&T`, `&mut T` (`T: funk::Plain`), `&[IoSlice]`, `&mut [IoSliceMut]`, `Handle<T>`, `Borrow<T>`, `Take<T>`, or a type implementing `funk::LiftAsync` (for your own `Lift` type that borrows nothing: `type Held = Self`, see its docs)"
)]
pub trait LiftAsync<'a, S>: Lift<'a, S> {
    /// The owned copy kept while the method runs, inside the call's future
    /// (which must be `Send`).
    type Held: Send;
    /// Copies the argument out of guest memory, with the checks of
    /// [`Lift::lift`].
    fn hold(
        view: &GuestView<'_>,
        state: &mut S,
        abi: <Self as Lift<'a, S>>::Abi,
    ) -> Result<Self::Held, GuestError>;
    /// The argument the method receives, borrowing the copy.
    fn lend(held: &'a mut Self::Held) -> Self;
    /// Copies a mutable argument back to guest memory once the method has
    /// finished. Nothing to do for the others.
    fn write_back(held: Self::Held, memory: &mut GuestMemory<'_>) -> Result<(), GuestError> {
        let _ = (held, memory);
        Ok(())
    }
}

macro_rules! lift_async_copy {
    ($([$($generics:tt)*] $t:ty),* $(,)?) => {$(
        impl<'a, S $($generics)*> LiftAsync<'a, S> for $t {
            type Held = Self;
            #[inline(always)]
            fn hold(
                view: &GuestView<'_>,
                state: &mut S,
                abi: <Self as Lift<'a, S>>::Abi,
            ) -> Result<Self, GuestError> {
                lift_owned::<S, $t>(view, state, abi)
            }
            #[inline(always)]
            fn lend(held: &'a mut Self) -> Self {
                *held
            }
        }
    )*};
}

/// Lifts an owned type (one that borrows nothing) through a short-lived view.
#[inline(always)]
fn lift_owned<'v, S, T: Lift<'v, S>>(
    view: &'v GuestView<'_>,
    state: &mut S,
    abi: T::Abi,
) -> Result<T, GuestError> {
    T::lift(view, state, abi)
}

lift_async_copy!(
    [] i32, [] u32, [] i64, [] u64, [] f32, [] f64,
    [] u8, [] u16, [] i8, [] i16, [] bool, [] char,
    [, T] Handle<T>,
);

impl<'a, S: HasResources, T: std::any::Any> LiftAsync<'a, S> for Borrow<T> {
    type Held = Self;
    #[inline(always)]
    fn hold(view: &GuestView<'_>, state: &mut S, id: u32) -> Result<Self, GuestError> {
        lift_owned::<S, Self>(view, state, id)
    }
    #[inline(always)]
    fn lend(held: &'a mut Self) -> Self {
        *held
    }
}

/// The resource leaves the table when the call starts (before the method
/// runs), exactly as in a synchronous call. If the call is cancelled, the
/// resource is dropped with the call's future.
impl<'a, S: HasResources, T: std::any::Any + Send> LiftAsync<'a, S> for Take<T> {
    type Held = Option<Self>;
    #[inline(always)]
    fn hold(view: &GuestView<'_>, state: &mut S, id: u32) -> Result<Option<Self>, GuestError> {
        lift_owned::<S, Self>(view, state, id).map(Some)
    }
    #[inline(always)]
    fn lend(held: &'a mut Option<Self>) -> Self {
        held.take()
            .expect("generated code lends each argument exactly once")
    }
}

/// A copy of a mutable argument and the guest address it goes back to.
#[derive(Debug)]
pub struct WriteBack<T> {
    ptr: u64,
    value: T,
}

/// `(ptr, count)`: a copy of `count` elements of `T`.
impl<'a, S, T: Plain + Send> LiftAsync<'a, S> for &'a [T] {
    type Held = Vec<T>;
    fn hold(
        view: &GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<Vec<T>, GuestError> {
        view.slice(ptr.into(), count.into()).map(<[T]>::to_vec)
    }
    #[inline(always)]
    fn lend(held: &'a mut Vec<T>) -> Self {
        held
    }
}

/// `(ptr, count)`: a copy of `count` elements of `T`, written back to the
/// guest when the method finishes (whether it succeeds or fails).
impl<'a, S, T: Plain + Send> LiftAsync<'a, S> for &'a mut [T] {
    type Held = WriteBack<Vec<T>>;
    fn hold(
        view: &GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<Self::Held, GuestError> {
        let value = view.slice_mut(ptr.into(), count.into())?.to_vec();
        Ok(WriteBack {
            ptr: ptr.into(),
            value,
        })
    }
    #[inline(always)]
    fn lend(held: &'a mut Self::Held) -> Self {
        &mut held.value
    }
    fn write_back(held: Self::Held, memory: &mut GuestMemory<'_>) -> Result<(), GuestError> {
        memory.write_bytes(held.ptr, bytemuck::cast_slice(&held.value))
    }
}

/// `(ptr, len)`: a UTF-8-checked copy.
impl<'a, S> LiftAsync<'a, S> for &'a str {
    type Held = String;
    fn hold(view: &GuestView<'_>, _: &mut S, (ptr, len): (u32, u32)) -> Result<String, GuestError> {
        view.str(ptr.into(), len.into()).map(str::to_owned)
    }
    #[inline(always)]
    fn lend(held: &'a mut String) -> Self {
        held
    }
}

/// `ptr`: a copy of one `T`.
impl<'a, S, T: Plain + Send> LiftAsync<'a, S> for &'a T {
    type Held = T;
    fn hold(view: &GuestView<'_>, _: &mut S, ptr: u32) -> Result<T, GuestError> {
        view.slice(ptr.into(), 1).map(|s| s[0])
    }
    #[inline(always)]
    fn lend(held: &'a mut T) -> Self {
        held
    }
}

/// `ptr`: a copy of one `T`, written back when the method finishes.
impl<'a, S, T: Plain + Send> LiftAsync<'a, S> for &'a mut T {
    type Held = WriteBack<T>;
    fn hold(view: &GuestView<'_>, _: &mut S, ptr: u32) -> Result<Self::Held, GuestError> {
        let value = view.slice_mut(ptr.into(), 1)?[0];
        Ok(WriteBack {
            ptr: ptr.into(),
            value,
        })
    }
    #[inline(always)]
    fn lend(held: &'a mut Self::Held) -> Self {
        &mut held.value
    }
    fn write_back(held: Self::Held, memory: &mut GuestMemory<'_>) -> Result<(), GuestError> {
        memory.write(held.ptr, held.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutable_copies_go_back_and_checks_still_apply() {
        let mut words = [0u64; 4];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        bytes[..4].copy_from_slice(b"abcd");
        let mut memory = GuestMemory::new(bytes);
        let mut held = {
            let view = memory.view(true);
            let held = <&mut [u8] as LiftAsync<'_, ()>>::hold(&view, &mut (), (0, 4)).unwrap();
            // The copy still claims its region: an overlapping `&mut` fails.
            assert!(<&mut [u8] as LiftAsync<'_, ()>>::hold(&view, &mut (), (2, 4)).is_err());
            assert!(<&str as LiftAsync<'_, ()>>::hold(&view, &mut (), (30, 4)).is_err());
            held
        };
        <&mut [u8] as LiftAsync<'_, ()>>::lend(&mut held).make_ascii_uppercase();
        <&mut [u8] as LiftAsync<'_, ()>>::write_back(held, &mut memory).unwrap();
        assert_eq!(&memory.bytes().unwrap()[..4], b"ABCD");
    }
}
