//! Parameters: turning the guest's wasm values into Rust arguments.
//!
//! [`Lift`] is implemented for every parameter type `#[host_functions]`
//! accepts; the macro only wires the calls together. Implement it for your
//! own types to accept them as parameters, with any flat ABI (one word or
//! several).

use crate::abi::{Abi, AbiList};
use crate::describe::{HandlePass, ParamType, Scalar, short_type_name};
use crate::error::GuestError;
use crate::memory::GuestView;
use crate::plain::Plain;
use crate::resources::{Borrow, Handle, HasResources, Take};

/// A host-function parameter type, built from the guest's wasm values.
///
/// `'a` is the lifetime of the call's [`GuestView`]: types that borrow guest
/// memory (`&'a [u8]`) borrow it for the call. `S` is the host state the
/// function is defined on, for types that resolve against it (handles).
///
/// A user type with a two-word ABI:
///
/// ```
/// use funk_core::{GuestError, GuestView, Lift};
///
/// /// A half-open range `start..end` passed as two `u32`s.
/// struct Span { start: u32, end: u32 }
///
/// impl<'a, S> Lift<'a, S> for Span {
///     type Abi = (u32, u32);
///     const MEMORY: bool = false;
///     fn lift(_: &'a GuestView<'_>, _: &mut S, (start, end): (u32, u32)) -> Result<Self, GuestError> {
///         if start > end {
///             return Err(GuestError::Custom(format!("span {start}..{end} is reversed")));
///         }
///         Ok(Span { start, end })
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a host function parameter",
    label = "unsupported parameter type",
    note = "parameters are integers, floats, `bool`, `char`, `&str`, `&[T]`, `&mut [T]`, `&T` or `&mut T` where `T: funk::Plain`, `&[IoSlice]`, `&mut [IoSliceMut]`, `Handle<T>`, `Borrow<T>`, `Take<T>`, or a type implementing `funk::Lift`"
)]
pub trait Lift<'a, S>: Sized {
    /// The wasm values this parameter arrives as.
    type Abi: Abi;
    /// Whether lifting reads guest memory. Functions whose parameters and
    /// results all say `false` skip looking the memory up.
    const MEMORY: bool = true;
    /// Whether lifting may borrow guest memory mutably
    /// ([`GuestView::bytes_mut`] and friends). When no parameter of a
    /// function says `true`, its view lends shared regions only and skips
    /// alias bookkeeping; a mutable request then fails instead of aliasing.
    const MUTABLE: bool = false;
    /// Whether lifting can fail. Functions whose parameters and result all
    /// say `false` are defined without a trap path when they also let
    /// panics unwind (`panics = "unwind"`). An impl that says `false` and
    /// still returns an error makes the call panic.
    const FALLIBLE: bool = true;
    /// Builds the argument, or explains what is wrong with the guest's values.
    fn lift(view: &'a GuestView<'_>, state: &mut S, abi: Self::Abi) -> Result<Self, GuestError>;

    /// How the parameter travels, for the interface description and guest
    /// bindings ([`crate::describe`]). The default describes only the wasm
    /// words of `Abi`: generated Rust bindings then take a tuple struct of
    /// those words, named after the type.
    fn describe() -> ParamType {
        let mut words = Vec::new();
        <<Self::Abi as Abi>::List as AbiList>::push_words(&mut words);
        ParamType::Custom {
            name: short_type_name::<Self>(),
            words,
        }
    }
}

macro_rules! lift_identity {
    ($($t:ty => $s:ident),*) => {$(
        impl<'a, S> Lift<'a, S> for $t {
            type Abi = $t;
            const MEMORY: bool = false;
            const FALLIBLE: bool = false;
            #[inline(always)]
            fn lift(_: &'a GuestView<'_>, _: &mut S, v: $t) -> Result<Self, GuestError> {
                Ok(v)
            }
            fn describe() -> ParamType {
                ParamType::Scalar(Scalar::$s)
            }
        }
    )*};
}
lift_identity!(i32 => I32, u32 => U32, i64 => I64, u64 => U64, f32 => F32, f64 => F64);

macro_rules! lift_narrow {
    ($($t:ty => $abi:ty, $s:ident),*) => {$(
        impl<'a, S> Lift<'a, S> for $t {
            type Abi = $abi;
            const MEMORY: bool = false;
            #[inline(always)]
            fn lift(_: &'a GuestView<'_>, _: &mut S, v: $abi) -> Result<Self, GuestError> {
                <$t>::try_from(v).map_err(|_| GuestError::IntegerRange {
                    value: v as i64,
                    ty: stringify!($t),
                })
            }
            fn describe() -> ParamType {
                ParamType::Scalar(Scalar::$s)
            }
        }
    )*};
}
lift_narrow!(u8 => u32, U8, u16 => u32, U16, i8 => i32, I8, i16 => i32, I16);

impl<'a, S> Lift<'a, S> for bool {
    type Abi = u32;
    const MEMORY: bool = false;
    #[inline(always)]
    fn lift(_: &'a GuestView<'_>, _: &mut S, v: u32) -> Result<Self, GuestError> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(GuestError::InvalidBool(other)),
        }
    }
    fn describe() -> ParamType {
        ParamType::Scalar(Scalar::Bool)
    }
}

impl<'a, S> Lift<'a, S> for char {
    type Abi = u32;
    const MEMORY: bool = false;
    #[inline(always)]
    fn lift(_: &'a GuestView<'_>, _: &mut S, v: u32) -> Result<Self, GuestError> {
        match char::from_u32(v) {
            Some(c) => Ok(c),
            None => Err(GuestError::InvalidChar(v)),
        }
    }
    fn describe() -> ParamType {
        ParamType::Scalar(Scalar::Char)
    }
}

/// `(ptr, count)`: `count` elements of `T`, viewed in place.
impl<'a, S, T: Plain> Lift<'a, S> for &'a [T] {
    type Abi = (u32, u32);
    #[inline(always)]
    fn lift(
        view: &'a GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<Self, GuestError> {
        view.slice(ptr.into(), count.into())
    }
    fn describe() -> ParamType {
        ParamType::Slice {
            elem: T::describe(),
            mutable: false,
        }
    }
}

/// `(ptr, count)`: `count` elements of `T`, viewed in place and writable.
impl<'a, S, T: Plain> Lift<'a, S> for &'a mut [T] {
    type Abi = (u32, u32);
    const MUTABLE: bool = true;
    #[inline(always)]
    fn lift(
        view: &'a GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<Self, GuestError> {
        view.slice_mut(ptr.into(), count.into())
    }
    fn describe() -> ParamType {
        ParamType::Slice {
            elem: T::describe(),
            mutable: true,
        }
    }
}

/// `(ptr, len)`: UTF-8 checked.
impl<'a, S> Lift<'a, S> for &'a str {
    type Abi = (u32, u32);
    #[inline(always)]
    fn lift(
        view: &'a GuestView<'_>,
        _: &mut S,
        (ptr, len): (u32, u32),
    ) -> Result<Self, GuestError> {
        view.str(ptr.into(), len.into())
    }
    fn describe() -> ParamType {
        ParamType::Str
    }
}

/// `ptr`: one `T`, in place (a guest pointer to a single value).
impl<'a, S, T: Plain> Lift<'a, S> for &'a T {
    type Abi = u32;
    #[inline(always)]
    fn lift(view: &'a GuestView<'_>, _: &mut S, ptr: u32) -> Result<Self, GuestError> {
        view.slice(ptr.into(), 1).map(|s| &s[0])
    }
    fn describe() -> ParamType {
        ParamType::Ref {
            elem: T::describe(),
            mutable: false,
        }
    }
}

/// `ptr`: one `T`, in place and writable (an in/out value).
impl<'a, S, T: Plain> Lift<'a, S> for &'a mut T {
    type Abi = u32;
    const MUTABLE: bool = true;
    #[inline(always)]
    fn lift(view: &'a GuestView<'_>, _: &mut S, ptr: u32) -> Result<Self, GuestError> {
        view.slice_mut(ptr.into(), 1).map(|s| &mut s[0])
    }
    fn describe() -> ParamType {
        ParamType::Ref {
            elem: T::describe(),
            mutable: true,
        }
    }
}

impl<'a, S, T> Lift<'a, S> for Handle<T> {
    type Abi = u32;
    const MEMORY: bool = false;
    const FALLIBLE: bool = false;
    #[inline(always)]
    fn lift(_: &'a GuestView<'_>, _: &mut S, id: u32) -> Result<Self, GuestError> {
        Ok(Handle::from_raw(id))
    }
    fn describe() -> ParamType {
        ParamType::Handle {
            resource: short_type_name::<T>(),
            type_path: std::any::type_name::<T>().to_owned(),
            pass: HandlePass::Raw,
        }
    }
}

impl<'a, S: HasResources, T: std::any::Any> Lift<'a, S> for Borrow<T> {
    type Abi = u32;
    const MEMORY: bool = false;
    #[inline(always)]
    fn lift(_: &'a GuestView<'_>, state: &mut S, id: u32) -> Result<Self, GuestError> {
        Ok(Borrow::check(state.resources(), Handle::from_raw(id))?)
    }
    fn describe() -> ParamType {
        ParamType::Handle {
            resource: short_type_name::<T>(),
            type_path: std::any::type_name::<T>().to_owned(),
            pass: HandlePass::Borrow,
        }
    }
}

impl<'a, S: HasResources, T: std::any::Any + Send> Lift<'a, S> for Take<T> {
    type Abi = u32;
    const MEMORY: bool = false;
    #[inline(always)]
    fn lift(_: &'a GuestView<'_>, state: &mut S, id: u32) -> Result<Self, GuestError> {
        Ok(Take::from_table(state.resources(), Handle::from_raw(id))?)
    }
    fn describe() -> ParamType {
        ParamType::Handle {
            resource: short_type_name::<T>(),
            type_path: std::any::type_name::<T>().to_owned(),
            pass: HandlePass::Take,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::GuestMemory;

    fn lift<'a, T: Lift<'a, ()>>(view: &'a GuestView<'_>, abi: T::Abi) -> Result<T, GuestError> {
        T::lift(view, &mut (), abi)
    }

    #[test]
    fn strict_bool_char_and_narrow_integers() {
        let mut mem = GuestMemory::new(&mut []);
        let view = mem.view(true);
        assert_eq!(lift::<bool>(&view, 1), Ok(true));
        assert_eq!(lift::<bool>(&view, 2), Err(GuestError::InvalidBool(2)));
        assert_eq!(lift::<char>(&view, 0x41), Ok('A'));
        assert_eq!(
            lift::<char>(&view, 0xd800),
            Err(GuestError::InvalidChar(0xd800))
        );
        assert_eq!(lift::<u8>(&view, 255), Ok(255));
        assert!(lift::<u8>(&view, 256).is_err());
        assert_eq!(lift::<i8>(&view, -128), Ok(-128));
        assert!(lift::<i16>(&view, 40_000).is_err());
    }

    #[test]
    fn strings_are_utf8_checked() {
        let mut words = [0u64; 2];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        bytes[..4].copy_from_slice(b"h\xffi!");
        let mut mem = GuestMemory::new(bytes);
        let view = mem.view(true);
        assert_eq!(
            lift::<&str>(&view, (0, 4)),
            Err(GuestError::InvalidUtf8 { valid_up_to: 1 })
        );
        assert_eq!(lift::<&str>(&view, (2, 2)), Ok("i!"));
    }
}
