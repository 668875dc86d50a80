//! 32-bit values that a guest ABI carries in 64-bit slots.
//!
//! Some guest ABIs pass every id as an `i64` (Lunatic's does, for configs,
//! modules and errors), while funk's handles are 32-bit. [`Wide`] adapts
//! any one-word `u32` parameter or result to a `u64` slot: a value above
//! `u32::MAX` from the guest is refused before the inner type sees it, and a
//! returned handle is zero-extended.

use std::ops::{Deref, DerefMut};

use crate::describe::{OutType, OutValueType, ParamType, ReturnType, short_type_name};
use crate::error::{GuestError, Trap};
use crate::lift::Lift;
use crate::lift_async::LiftAsync;
use crate::lower::{LowerCx, OutValue, ReturnValue};
use crate::memory::{GuestMemory, GuestView};
use crate::resources::Handle;

/// A one-word (`u32`) parameter or result carried as a wasm `i64`.
///
/// `Wide<Borrow<Config>>` is a handle the guest passes as `u64`;
/// `Wide<Handle<Config>>` as a result returns it as `u64`.
///
/// ```
/// use funk_core::{Borrow, GuestMemory, Lift, ResourceTable, Wide};
///
/// let mut table = ResourceTable::new();
/// let handle = table.insert(7u32).unwrap();
/// let mut memory = GuestMemory::new(&mut []);
/// let view = memory.view(false);
/// let wide = u64::from(handle.raw());
/// let borrow = <Wide<Borrow<u32>> as Lift<'_, ResourceTable>>::lift(&view, &mut table, wide).unwrap();
/// assert_eq!(table[borrow.0], 7);
/// // An id no 32-bit handle can have is refused before the table is asked.
/// assert!(<Wide<Borrow<u32>> as Lift<'_, ResourceTable>>::lift(&view, &mut table, 1 << 40).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Wide<T>(pub T);

impl<T> Deref for Wide<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Wide<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

#[inline]
fn narrow(raw: u64) -> Result<u32, GuestError> {
    u32::try_from(raw).map_err(|_| GuestError::TooWide { value: raw })
}

impl<'a, S, T: Lift<'a, S, Abi = u32>> Lift<'a, S> for Wide<T> {
    type Abi = u64;
    const MEMORY: bool = T::MEMORY;
    const MUTABLE: bool = T::MUTABLE;
    #[inline(always)]
    fn lift(view: &'a GuestView<'_>, state: &mut S, raw: u64) -> Result<Self, GuestError> {
        T::lift(view, state, narrow(raw)?).map(Wide)
    }
    fn describe() -> ParamType {
        ParamType::Wide(Box::new(T::describe()))
    }
}

impl<'a, S, T: LiftAsync<'a, S> + Lift<'a, S, Abi = u32>> LiftAsync<'a, S> for Wide<T> {
    type Held = T::Held;
    #[inline(always)]
    fn hold(view: &GuestView<'_>, state: &mut S, raw: u64) -> Result<T::Held, GuestError> {
        T::hold(view, state, narrow(raw)?)
    }
    #[inline(always)]
    fn lend(held: &'a mut T::Held) -> Self {
        Wide(T::lend(held))
    }
    fn write_back(held: T::Held, memory: &mut GuestMemory<'_>) -> Result<(), GuestError> {
        T::write_back(held, memory)
    }
}

/// Returned as the function's one `i64` result, zero-extended.
impl<S, T: ReturnValue<S, Results = (u32, ()), OutPtrs = ()>> ReturnValue<S> for Wide<T> {
    type Results = (u64, ());
    type OutPtrs = ();
    const MEMORY: bool = T::MEMORY;
    const FALLIBLE: bool = T::FALLIBLE;
    #[inline(always)]
    fn lower(self, cx: &mut LowerCx<'_, '_, S>, (): ()) -> Result<(u64, ()), Trap> {
        let (raw, ()) = self.0.lower(cx, ())?;
        Ok((raw.into(), ()))
    }
    fn describe() -> ReturnType {
        /// The one `u32` result, now a `u64` (also inside a trapping
        /// `Result`).
        fn widen(ty: ReturnType) -> ReturnType {
            match ty {
                ReturnType::Handle {
                    resource,
                    type_path,
                    ..
                } => ReturnType::Handle {
                    resource,
                    type_path,
                    wide: true,
                },
                // The bound on `T` makes it a one-`u32` scalar; the guest
                // still sees its type (a `bool` stays a checked `bool`).
                ReturnType::Scalar(scalar) => ReturnType::Wide(scalar),
                ReturnType::Traps(inner) => ReturnType::Traps(Box::new(widen(*inner))),
                other => other,
            }
        }
        widen(T::describe())
    }
}

/// Written through an out-pointer as a little-endian `u64`.
impl<S, T> OutValue<S> for Wide<Handle<T>> {
    type OutPtrs = (u32, ());
    fn write(self, cx: &mut LowerCx<'_, '_, S>, ptrs: (u32, ())) -> Result<(), Trap> {
        u64::from(self.0.raw()).write(cx, ptrs)
    }
    fn describe() -> OutType {
        OutType::Value(OutValueType::Handle {
            resource: short_type_name::<T>(),
            type_path: std::any::type_name::<T>().to_owned(),
            wide: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::WasmType;
    use crate::describe::Scalar;

    #[test]
    fn wide_scalar_results_keep_their_type_in_the_description() {
        let described = |ty: ReturnType| (ty.clone(), ty.results());
        let wide = |scalar| {
            (
                ReturnType::Wide(scalar),
                vec![("result".to_owned(), WasmType::I64)],
            )
        };
        assert_eq!(
            described(<Wide<bool> as ReturnValue<()>>::describe()),
            wide(Scalar::Bool)
        );
        assert_eq!(
            described(<Wide<char> as ReturnValue<()>>::describe()),
            wide(Scalar::Char)
        );
        assert_eq!(
            described(<Wide<u32> as ReturnValue<()>>::describe()),
            wide(Scalar::U32)
        );
    }
}
