//! Results: turning a method's return value into wasm results and writes
//! through out-pointers.
//!
//! The rules, WASI style:
//! - `()` returns nothing; a scalar, `bool`, `char` or [`Handle`] is the
//!   function's one wasm result.
//! - A tuple `(A, B, ..)` returns `A` as above and writes each further
//!   element through an out-pointer parameter appended to the signature.
//! - `Result<T, E>` depends on `E`'s [`HostError::Abi`]: with [`Status`] the
//!   function returns an `i32` status (0 on success) and writes `T` through
//!   out-pointers; with [`Traps`] an error traps and `T` is returned as if
//!   the method returned it directly.
//! - `Vec<T>` (plain `T`) and `String` are variable-length: the guest passes
//!   `(buf_ptr, buf_capacity, len_ptr)`; funk copies as many elements as fit,
//!   and writes the full length to `len_ptr`, so a guest that sees
//!   `len > capacity` knows the data was cut and how much room it needs.

use crate::abi::{AbiList, Concat};
use crate::describe::{ErrorType, OutType, OutValueType, ReturnType, Scalar, short_type_name};
use crate::error::{GuestError, Trap};
use crate::memory::{GuestMemory, array_len, region};
use crate::plain::Plain;
use crate::resources::Handle;

/// What lowering a result may touch: guest memory (for out-pointers) and the
/// host state.
#[derive(Debug)]
pub struct LowerCx<'l, 'm, S> {
    memory: &'l mut GuestMemory<'m>,
    state: &'l mut S,
    function: &'static str,
}

impl<'l, 'm, S> LowerCx<'l, 'm, S> {
    /// A context for the results of `function` (`namespace::name`).
    pub fn new(memory: &'l mut GuestMemory<'m>, state: &'l mut S, function: &'static str) -> Self {
        LowerCx {
            memory,
            state,
            function,
        }
    }

    /// Guest memory.
    pub fn memory(&mut self) -> &mut GuestMemory<'m> {
        self.memory
    }

    /// Host state.
    pub fn state(&mut self) -> &mut S {
        self.state
    }

    /// A trap for a result that could not be written.
    pub fn fault(&self, error: GuestError) -> Trap {
        Trap::argument(self.function, "result out-pointer", error)
    }

    fn write_plain<T: Plain>(&mut self, ptr: u32, value: T) -> Result<(), Trap> {
        self.memory
            .write(ptr.into(), value)
            .map_err(|e| self.fault(e))
    }
}

/// A value written to the guest through out-pointer parameters.
///
/// What the guest passes, in order, after the function's own parameters:
///
/// - plain data (integers, floats, `#[derive(Plain)]` records), `char` (a
///   `u32`) and [`Handle`] (a `u32`): one pointer, aligned for the type,
///   where the value is written little-endian; `bool` is one byte, 0 or 1;
/// - `Vec<T>` and `String`: three, `(buf_ptr, buf_capacity, len_ptr)`.
///   funk copies `min(len, capacity)` elements (bytes for `String`) to
///   `buf_ptr` and always writes the full length, a `u32`, to `len_ptr`. A
///   guest that reads `len > capacity` knows the data was cut and how much
///   room a retry needs; a cut `String` may end inside a UTF-8 sequence;
/// - a tuple `(A, B, ..)`: each element's pointers, in order;
/// - inside `Result<T, E>` with a [`Status`] error: `T`'s pointers, written
///   only when the status is 0.
///
/// An unaligned or out-of-bounds pointer traps with the function named,
/// and nothing is written through the value's pointers (a `Vec`/`String`
/// checks its buffer and its length pointer before writing either). In a
/// tuple, the elements are written in order, so those before the bad
/// pointer have been written when the call traps.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written back to the guest through an out-pointer",
    note = "out-values are plain data (integers, floats, `funk::Plain` records), `bool`, `char`, `Handle<T>`, `Vec<T>` of plain data, `String`, or tuples of these"
)]
pub trait OutValue<S>: Sized {
    /// The out-pointer parameters the guest passes for this value.
    type OutPtrs: AbiList;
    /// Whether writing touches guest memory.
    const MEMORY: bool = true;
    /// Writes the value through `ptrs`.
    fn write(self, cx: &mut LowerCx<'_, '_, S>, ptrs: Self::OutPtrs) -> Result<(), Trap>;

    /// How the value travels, for the interface description and guest
    /// bindings ([`crate::describe`]). The default gives only the number of
    /// out-pointers.
    fn describe() -> OutType {
        OutType::Custom {
            name: short_type_name::<Self>(),
            ptrs: Self::OutPtrs::LEN,
        }
    }
}

impl<S, T: Plain> OutValue<S> for T {
    type OutPtrs = (u32, ());
    fn write(self, cx: &mut LowerCx<'_, '_, S>, (ptr, ()): (u32, ())) -> Result<(), Trap> {
        cx.write_plain(ptr, self)
    }
    fn describe() -> OutType {
        OutType::Value(OutValueType::Plain(T::describe()))
    }
}

impl<S> OutValue<S> for bool {
    type OutPtrs = (u32, ());
    /// A `bool` is written as one byte, 0 or 1.
    fn write(self, cx: &mut LowerCx<'_, '_, S>, (ptr, ()): (u32, ())) -> Result<(), Trap> {
        cx.write_plain(ptr, u8::from(self))
    }
    fn describe() -> OutType {
        OutType::Value(OutValueType::Bool)
    }
}

impl<S> OutValue<S> for char {
    type OutPtrs = (u32, ());
    fn write(self, cx: &mut LowerCx<'_, '_, S>, (ptr, ()): (u32, ())) -> Result<(), Trap> {
        cx.write_plain(ptr, u32::from(self))
    }
    fn describe() -> OutType {
        OutType::Value(OutValueType::Char)
    }
}

impl<S, T> OutValue<S> for Handle<T> {
    type OutPtrs = (u32, ());
    fn write(self, cx: &mut LowerCx<'_, '_, S>, (ptr, ()): (u32, ())) -> Result<(), Trap> {
        cx.write_plain(ptr, self.raw())
    }
    fn describe() -> OutType {
        OutType::Value(OutValueType::Handle {
            resource: short_type_name::<T>(),
            type_path: std::any::type_name::<T>().to_owned(),
            wide: false,
        })
    }
}

impl<S> OutValue<S> for () {
    type OutPtrs = ();
    const MEMORY: bool = false;
    fn write(self, _: &mut LowerCx<'_, '_, S>, (): ()) -> Result<(), Trap> {
        Ok(())
    }
    fn describe() -> OutType {
        OutType::Unit
    }
}

fn write_truncating<S, T: Plain>(
    cx: &mut LowerCx<'_, '_, S>,
    data: &[T],
    (buf, (capacity, (len_ptr, ()))): (u32, (u32, (u32, ()))),
) -> Result<(), Trap> {
    crate::plain::assert_not_zero_sized::<T>();
    let len = u32::try_from(data.len()).map_err(|_| {
        cx.fault(GuestError::TooMany {
            what: "result length",
            count: data.len() as u64,
            limit: u32::MAX.into(),
        })
    })?;
    let align = std::mem::align_of::<T>() as u64;
    if !u64::from(buf).is_multiple_of(align) {
        return Err(cx.fault(GuestError::Misaligned {
            ptr: buf.into(),
            align,
        }));
    }
    // The whole buffer the guest offered must be valid, not just the part used.
    array_len::<T>(capacity.into())
        .and_then(|bytes| {
            let memory = cx.memory.bytes()?.len();
            region(buf.into(), bytes, memory)
        })
        .map_err(|e| cx.fault(e))?;
    // The length's pointer too, before anything is written: a refused call
    // leaves guest memory as it was.
    let len_align = std::mem::align_of::<u32>() as u64;
    if !u64::from(len_ptr).is_multiple_of(len_align) {
        return Err(cx.fault(GuestError::Misaligned {
            ptr: len_ptr.into(),
            align: len_align,
        }));
    }
    cx.memory
        .bytes()
        .map_err(GuestError::from)
        .and_then(|memory| region(len_ptr.into(), 4, memory.len()))
        .map_err(|e| cx.fault(e))?;
    let fits = data.len().min(capacity as usize);
    cx.memory
        .write_bytes(buf.into(), bytemuck::cast_slice(&data[..fits]))
        .map_err(|e| cx.fault(e))?;
    cx.write_plain(len_ptr, len)
}

impl<S, T: Plain> OutValue<S> for Vec<T> {
    type OutPtrs = (u32, (u32, (u32, ())));
    fn write(self, cx: &mut LowerCx<'_, '_, S>, ptrs: Self::OutPtrs) -> Result<(), Trap> {
        write_truncating(cx, &self, ptrs)
    }
    fn describe() -> OutType {
        OutType::Buffer(T::describe())
    }
}

impl<S> OutValue<S> for String {
    type OutPtrs = (u32, (u32, (u32, ())));
    fn write(self, cx: &mut LowerCx<'_, '_, S>, ptrs: Self::OutPtrs) -> Result<(), Trap> {
        write_truncating(cx, self.as_bytes(), ptrs)
    }
    fn describe() -> OutType {
        OutType::String
    }
}

// Tuples write their first element, then the rest as a shorter tuple.
macro_rules! out_tuple {
    ($first:ident, $($rest:ident),+) => {
        impl<S, $first: OutValue<S>, $($rest: OutValue<S>),+> OutValue<S> for ($first, $($rest,)+)
        where
            ($($rest,)+): OutValue<S>,
            <$first as OutValue<S>>::OutPtrs: Concat<<($($rest,)+) as OutValue<S>>::OutPtrs>,
        {
            type OutPtrs = <<$first as OutValue<S>>::OutPtrs as Concat<<($($rest,)+) as OutValue<S>>::OutPtrs>>::Output;
            #[allow(non_snake_case)]
            fn write(self, cx: &mut LowerCx<'_, '_, S>, ptrs: Self::OutPtrs) -> Result<(), Trap> {
                let ($first, $($rest,)+) = self;
                let (head, tail) = <<$first as OutValue<S>>::OutPtrs as Concat<_>>::split(ptrs);
                $first.write(cx, head)?;
                ($($rest,)+).write(cx, tail)
            }
            fn describe() -> OutType {
                let mut items = vec![<$first as OutValue<S>>::describe()];
                match <($($rest,)+) as OutValue<S>>::describe() {
                    OutType::Tuple(rest) => items.extend(rest),
                    single => items.push(single),
                }
                OutType::Tuple(items)
            }
        }
    };
}
out_tuple!(A, B);
out_tuple!(A, B, C);
out_tuple!(A, B, C, D);

/// A method's return type: what the guest receives as wasm results and
/// through appended out-pointers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a host function",
    label = "unsupported return type",
    note = "return `()`, a scalar, `bool`, `char`, `Handle<T>`, `Vec<T>`/`String` (through a guest buffer), a tuple whose later elements are out-values, or `Result<T, E>` where `E: funk::HostError`"
)]
pub trait ReturnValue<S>: Sized {
    /// The wasm results.
    type Results: AbiList;
    /// The out-pointer parameters appended to the signature.
    type OutPtrs: AbiList;
    /// Whether lowering touches guest memory.
    const MEMORY: bool;
    /// Whether lowering can fail (a bad out-pointer, an error result). See
    /// [`Lift::FALLIBLE`](crate::Lift::FALLIBLE).
    const FALLIBLE: bool = true;
    /// Produces the results, writing through `ptrs`.
    fn lower(self, cx: &mut LowerCx<'_, '_, S>, ptrs: Self::OutPtrs)
    -> Result<Self::Results, Trap>;

    /// How the result travels, for the interface description and guest
    /// bindings ([`crate::describe`]). The default gives only the wasm
    /// results and the number of out-pointers.
    fn describe() -> ReturnType {
        let mut results = Vec::new();
        Self::Results::push_words(&mut results);
        ReturnType::Custom {
            name: short_type_name::<Self>(),
            results,
            ptrs: Self::OutPtrs::LEN,
        }
    }
}

impl<S> ReturnValue<S> for () {
    type Results = ();
    type OutPtrs = ();
    const MEMORY: bool = false;
    const FALLIBLE: bool = false;
    #[inline(always)]
    fn lower(self, _: &mut LowerCx<'_, '_, S>, (): ()) -> Result<(), Trap> {
        Ok(())
    }
    fn describe() -> ReturnType {
        ReturnType::Unit
    }
}

macro_rules! direct_return {
    ($($t:ty => $abi:ty, $s:ident),*) => {$(
        impl<S> ReturnValue<S> for $t {
            type Results = ($abi, ());
            type OutPtrs = ();
            const MEMORY: bool = false;
            const FALLIBLE: bool = false;
            #[inline(always)]
            fn lower(self, _: &mut LowerCx<'_, '_, S>, (): ()) -> Result<Self::Results, Trap> {
                Ok((<$abi>::from(self), ()))
            }
            fn describe() -> ReturnType {
                ReturnType::Scalar(Scalar::$s)
            }
        }
    )*};
}
direct_return!(
    i32 => i32, I32, u32 => u32, U32, i64 => i64, I64, u64 => u64, U64, f32 => f32, F32,
    f64 => f64, F64, u8 => u32, U8, u16 => u32, U16, i8 => i32, I8, i16 => i32, I16,
    bool => u32, Bool, char => u32, Char
);

impl<S, T> ReturnValue<S> for Handle<T> {
    type Results = (u32, ());
    type OutPtrs = ();
    const MEMORY: bool = false;
    const FALLIBLE: bool = false;
    #[inline(always)]
    fn lower(self, _: &mut LowerCx<'_, '_, S>, (): ()) -> Result<Self::Results, Trap> {
        Ok((self.raw(), ()))
    }
    fn describe() -> ReturnType {
        ReturnType::Handle {
            resource: short_type_name::<T>(),
            type_path: std::any::type_name::<T>().to_owned(),
            wide: false,
        }
    }
}

impl<S> ReturnValue<S> for String {
    type Results = ();
    type OutPtrs = <String as OutValue<S>>::OutPtrs;
    const MEMORY: bool = true;
    fn lower(self, cx: &mut LowerCx<'_, '_, S>, ptrs: Self::OutPtrs) -> Result<(), Trap> {
        self.write(cx, ptrs)
    }
    fn describe() -> ReturnType {
        ReturnType::Out(OutType::String)
    }
}

impl<S, T: Plain> ReturnValue<S> for Vec<T> {
    type Results = ();
    type OutPtrs = <Vec<T> as OutValue<S>>::OutPtrs;
    const MEMORY: bool = true;
    fn lower(self, cx: &mut LowerCx<'_, '_, S>, ptrs: Self::OutPtrs) -> Result<(), Trap> {
        self.write(cx, ptrs)
    }
    fn describe() -> ReturnType {
        ReturnType::Out(OutType::Buffer(T::describe()))
    }
}

macro_rules! return_tuple {
    ($first:ident, $($rest:ident),+) => {
        impl<S, $first: ReturnValue<S>, $($rest: OutValue<S>),+> ReturnValue<S> for ($first, $($rest,)+)
        where
            ($($rest,)+): OutValue<S>,
            <$first as ReturnValue<S>>::OutPtrs: Concat<<($($rest,)+) as OutValue<S>>::OutPtrs>,
        {
            type Results = <$first as ReturnValue<S>>::Results;
            type OutPtrs = <<$first as ReturnValue<S>>::OutPtrs as Concat<<($($rest,)+) as OutValue<S>>::OutPtrs>>::Output;
            const MEMORY: bool = true;
            #[allow(non_snake_case)]
            fn lower(self, cx: &mut LowerCx<'_, '_, S>, ptrs: Self::OutPtrs) -> Result<Self::Results, Trap> {
                let ($first, $($rest,)+) = self;
                let (head, tail) = <<$first as ReturnValue<S>>::OutPtrs as Concat<_>>::split(ptrs);
                let results = $first.lower(cx, head)?;
                ($($rest,)+).write(cx, tail)?;
                Ok(results)
            }
            fn describe() -> ReturnType {
                let rest = match <($($rest,)+) as OutValue<S>>::describe() {
                    OutType::Tuple(rest) => rest,
                    single => vec![single],
                };
                ReturnType::Tuple {
                    first: Box::new(<$first as ReturnValue<S>>::describe()),
                    rest,
                }
            }
        }
    };
}

// A one-element tuple of out-values is the element itself.
impl<S, A: OutValue<S>> OutValue<S> for (A,) {
    type OutPtrs = A::OutPtrs;
    const MEMORY: bool = A::MEMORY;
    fn write(self, cx: &mut LowerCx<'_, '_, S>, ptrs: Self::OutPtrs) -> Result<(), Trap> {
        self.0.write(cx, ptrs)
    }
    fn describe() -> OutType {
        A::describe()
    }
}
return_tuple!(A, B);
return_tuple!(A, B, C);
return_tuple!(A, B, C, D);

/// How a failed `Result` reaches the guest.
#[derive(Debug)]
pub enum Failure {
    /// Return this status code (must not be 0, which means success).
    Status(i32),
    /// Trap.
    Trap(Trap),
}

/// An error type a host method may return in `Result<T, E>`.
///
/// `Abi` picks the calling convention: [`Status`] (the function returns an
/// `i32` status, `T` goes through out-pointers) or [`Traps`] (errors trap,
/// `T` is returned directly). A status error type can still trap for some
/// values by returning [`Failure::Trap`].
///
/// ```
/// use funk_core::{Failure, HostError, Status};
///
/// #[derive(Debug, Clone, Copy)]
/// #[repr(i32)]
/// enum Errno { BadF = 8, NoEnt = 44 }
///
/// impl HostError for Errno {
///     type Abi = Status;
///     fn into_failure(self) -> Failure {
///         Failure::Status(self as i32)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error type of a host function",
    note = "implement `funk::HostError` for it (status code or trap), or return `Result<T, funk::Trap>`"
)]
pub trait HostError: Sized {
    /// [`Status`] or [`Traps`].
    type Abi: ErrorAbi;
    /// What this error becomes for the guest.
    fn into_failure(self) -> Failure;

    /// The error type, for the interface description and guest bindings
    /// ([`crate::describe`]): its name and, if it lists them, its status
    /// codes. `#[derive(funk::HostError)]` lists the variants of a
    /// fieldless enum; the default lists none (guest bindings then carry
    /// the bare code).
    fn describe() -> ErrorType {
        ErrorType {
            name: short_type_name::<Self>(),
            codes: Vec::new(),
        }
    }
}

impl HostError for Trap {
    type Abi = Traps;
    fn into_failure(self) -> Failure {
        Failure::Trap(self)
    }
}

/// Errors become an `i32` status result; success returns 0.
#[derive(Debug)]
pub enum Status {}
/// Errors trap; success returns the value directly.
#[derive(Debug)]
pub enum Traps {}

/// The calling conventions for `Result`: [`Status`] and [`Traps`].
pub trait ErrorAbi: sealed::Sealed {}
impl ErrorAbi for Status {}
impl ErrorAbi for Traps {}
mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Status {}
    impl Sealed for super::Traps {}
}

/// How a `Result<T, _>` lowers under an [`ErrorAbi`].
pub trait ResultLowering<S, T>: ErrorAbi {
    /// The wasm results.
    type Results: AbiList;
    /// The out-pointer parameters.
    type OutPtrs: AbiList;
    /// Whether lowering touches memory.
    const MEMORY: bool;
    /// Lowers a success.
    fn ok(
        value: T,
        cx: &mut LowerCx<'_, '_, S>,
        ptrs: Self::OutPtrs,
    ) -> Result<Self::Results, Trap>;
    /// Lowers a failure.
    fn err(failure: Failure) -> Result<Self::Results, Trap>;
    /// How `Result<T, E>` travels, `error` describing `E`.
    fn describe(error: ErrorType) -> ReturnType;
}

impl<S, T: OutValue<S>> ResultLowering<S, T> for Status {
    type Results = (i32, ());
    type OutPtrs = T::OutPtrs;
    const MEMORY: bool = T::MEMORY;
    fn ok(value: T, cx: &mut LowerCx<'_, '_, S>, ptrs: Self::OutPtrs) -> Result<(i32, ()), Trap> {
        value.write(cx, ptrs)?;
        Ok((0, ()))
    }
    fn err(failure: Failure) -> Result<(i32, ()), Trap> {
        match failure {
            Failure::Status(0) => Err(Trap::new(
                "the host reported an error as status 0, which means success",
            )),
            Failure::Status(code) => Ok((code, ())),
            Failure::Trap(trap) => Err(trap),
        }
    }
    fn describe(error: ErrorType) -> ReturnType {
        ReturnType::Status {
            ok: T::describe(),
            error,
        }
    }
}

impl<S, T: ReturnValue<S>> ResultLowering<S, T> for Traps {
    type Results = T::Results;
    type OutPtrs = T::OutPtrs;
    const MEMORY: bool = T::MEMORY;
    fn ok(
        value: T,
        cx: &mut LowerCx<'_, '_, S>,
        ptrs: Self::OutPtrs,
    ) -> Result<Self::Results, Trap> {
        value.lower(cx, ptrs)
    }
    fn err(failure: Failure) -> Result<Self::Results, Trap> {
        match failure {
            Failure::Status(code) => Err(Trap::new(format!("host error status {code}"))),
            Failure::Trap(trap) => Err(trap),
        }
    }
    fn describe(_: ErrorType) -> ReturnType {
        ReturnType::Traps(Box::new(T::describe()))
    }
}

impl<S, T, E> ReturnValue<S> for Result<T, E>
where
    E: HostError,
    E::Abi: ResultLowering<S, T>,
{
    type Results = <E::Abi as ResultLowering<S, T>>::Results;
    type OutPtrs = <E::Abi as ResultLowering<S, T>>::OutPtrs;
    const MEMORY: bool = <E::Abi as ResultLowering<S, T>>::MEMORY;
    #[inline]
    fn lower(
        self,
        cx: &mut LowerCx<'_, '_, S>,
        ptrs: Self::OutPtrs,
    ) -> Result<Self::Results, Trap> {
        match self {
            Ok(value) => <E::Abi as ResultLowering<S, T>>::ok(value, cx, ptrs),
            Err(error) => <E::Abi as ResultLowering<S, T>>::err(error.into_failure()),
        }
    }
    fn describe() -> ReturnType {
        <E::Abi as ResultLowering<S, T>>::describe(E::describe())
    }
}
