//! Plain-data types: values whose bytes in guest memory can be viewed in
//! place, as typed slices (`&[u32]`), single values (`&mut u64`) or records.

/// A type whose every bit pattern is valid, with no padding and the same
/// layout on host and guest, so guest bytes can be reinterpreted as it in
/// place.
///
/// Implemented for the fixed-width integers, `f32`, `f64` and arrays of plain
/// types. For a `#[repr(C)]` struct of plain fields, derive it with
/// `#[derive(funk::Plain)]`, which checks the representation and rejects
/// padding at compile time.
///
/// Guest memory is little-endian; funk only builds for little-endian hosts,
/// where these layouts agree.
///
/// Zero-sized types are refused at compile time wherever funk views them in
/// guest memory:
///
/// ```compile_fail
/// let mut words = [0u64; 2];
/// let mut memory = funk_core::GuestMemory::new(funk_core::__private::bytemuck::cast_slice_mut(&mut words));
/// let view = memory.view(false);
/// let _ = view.slice::<[u32; 0]>(0, u64::MAX); // error: zero-sized
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a plain-data guest type",
    label = "not plain data",
    note = "plain data is fixed-width integers, `f32`, `f64`, arrays of plain data, and `#[repr(C)]` structs with `#[derive(funk::Plain)]` whose fields are all plain data",
    note = "`bool`, `char`, `usize`, `isize`, references and pointers are not plain data (not every bit pattern is valid, or the size differs between host and guest): use a fixed-width integer"
)]
pub trait Plain: bytemuck::Pod {
    /// Refuses zero-sized types at compile time: every function that views
    /// or writes a `Plain` type in guest memory evaluates it, so using
    /// `[u32; 0]`, `()` or an empty struct there fails the build (a
    /// post-monomorphisation error, reported by `cargo build`, not by
    /// `cargo check`). A zero-sized value has no bytes in guest memory to
    /// point at, and a slice of them would ignore its count.
    #[doc(hidden)]
    const NOT_ZERO_SIZED: () = assert!(
        std::mem::size_of::<Self>() != 0,
        "a zero-sized type (such as `[T; 0]`, `()` or an empty struct) cannot be viewed in guest memory: it has no bytes to point at"
    );

    /// The type's layout, for the interface description and guest bindings
    /// ([`crate::describe`]). `#[derive(Plain)]` lists the fields; the
    /// default gives only the size and alignment (guest bindings then make
    /// an opaque byte array of them).
    fn describe() -> PlainType {
        PlainType::Opaque {
            name: short_type_name::<Self>(),
            size: std::mem::size_of::<Self>(),
            align: std::mem::align_of::<Self>(),
        }
    }
}

/// Fails the build when `T` is zero-sized; see [`Plain::NOT_ZERO_SIZED`].
#[inline(always)]
pub(crate) const fn assert_not_zero_sized<T: Plain>() {
    #[allow(clippy::let_unit_value)]
    let () = T::NOT_ZERO_SIZED;
}

use crate::describe::{PlainType, Scalar, short_type_name};

#[cfg(target_endian = "big")]
compile_error!("funk views guest memory in place and needs a little-endian host");

macro_rules! plain {
    ($($t:ty => $s:ident),*) => {$(
        impl Plain for $t {
            fn describe() -> PlainType {
                PlainType::Scalar(Scalar::$s)
            }
        }
    )*};
}
plain!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, u64 => U64, i64 => I64, f32 => F32, f64 => F64);
impl Plain for u128 {}
impl Plain for i128 {}

impl<T: Plain, const N: usize> Plain for [T; N]
where
    [T; N]: bytemuck::Pod,
{
    fn describe() -> PlainType {
        PlainType::Array(Box::new(T::describe()), N)
    }
}
