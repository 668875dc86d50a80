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
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a plain-data guest type",
    label = "not plain data",
    note = "plain data is fixed-width integers, `f32`, `f64`, arrays of plain data, and `#[repr(C)]` structs with `#[derive(funk::Plain)]` whose fields are all plain data",
    note = "`bool`, `char`, `usize`, `isize`, references and pointers are not plain data (not every bit pattern is valid, or the size differs between host and guest): use a fixed-width integer"
)]
pub trait Plain: bytemuck::Pod {}

#[cfg(target_endian = "big")]
compile_error!("funk views guest memory in place and needs a little-endian host");

macro_rules! plain {
    ($($t:ty),*) => {$( impl Plain for $t {} )*};
}
plain!(u8, i8, u16, i16, u32, i32, u64, i64, u128, i128, f32, f64);

impl<T: Plain, const N: usize> Plain for [T; N] where [T; N]: bytemuck::Pod {}
