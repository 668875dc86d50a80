//! The flat WebAssembly ABI: primitive value types and lists of them.
//!
//! Every host-function parameter lowers to a short sequence of wasm values
//! (`&[u8]` is `(ptr, len)`, `u64` is one `i64`, a user record may be three).
//! A method's whole signature is the concatenation of those sequences, and
//! engines want it as one flat list of typed arguments.
//!
//! Types describe their own shape with [`Abi`], written as a flat tuple
//! (`(u32, u32)`) or a single primitive (`u32`). Internally the shape is a
//! type-level list ([`AbiList`]: `(A, (B, ()))`) because lists can be
//! concatenated and split generically ([`Concat`]); backends turn a list of a
//! known length back into an engine's typed function.

use crate::describe::Word;

/// A WebAssembly value type that crosses the host boundary as is.
///
/// Implemented for `i32`, `u32` (wasm `i32`), `i64`, `u64` (wasm `i64`),
/// `f32` and `f64`. Backends require each element of a flattened signature to
/// be one of these.
pub trait WasmPrim: Copy + Send + Sync + 'static + sealed::Sealed {
    /// The wasm value type this primitive travels as.
    const TYPE: WasmType;
    /// Its Rust name (`u32`, `i64`, ...).
    const RUST: &'static str;
    /// Reads it from a dynamic value of the right type.
    fn from_value(value: WasmValue) -> Option<Self>;
    /// Wraps it as a dynamic value.
    fn into_value(self) -> WasmValue;
}

/// The four WebAssembly number types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WasmType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl std::fmt::Display for WasmType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WasmType::I32 => "i32",
            WasmType::I64 => "i64",
            WasmType::F32 => "f32",
            WasmType::F64 => "f64",
        })
    }
}

/// `(i32, i64)`; a `None` (a type funk does not pass, such as a reference)
/// shows as `ref`.
pub fn format_types(types: impl IntoIterator<Item = Option<WasmType>>) -> String {
    let names: Vec<String> = types
        .into_iter()
        .map(|t| t.map_or_else(|| "ref".to_owned(), |t| t.to_string()))
        .collect();
    format!("({})", names.join(", "))
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! wasm_prims {
    ($($t:ty => $w:ident as $repr:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl WasmPrim for $t {
            const TYPE: WasmType = WasmType::$w;
            const RUST: &'static str = stringify!($t);
            #[inline]
            fn from_value(value: WasmValue) -> Option<Self> {
                match value {
                    // Same-width reinterpretation: u32 travels as i32 bits.
                    WasmValue::$w(v) => Some(v as $t),
                    _ => None,
                }
            }
            #[inline]
            fn into_value(self) -> WasmValue {
                WasmValue::$w(self as $repr)
            }
        }
    )*};
}
wasm_prims!(
    i32 => I32 as i32, u32 => I32 as i32, i64 => I64 as i64, u64 => I64 as i64,
    f32 => F32 as f32, f64 => F64 as f64
);

/// A type-level list of wasm primitives: `()` or `(Head, Tail)`.
///
/// Always `Send` (wasm numbers), which an async shim's future relies on.
pub trait AbiList: Sized + Send + 'static {
    /// Number of wasm values in the list.
    const LEN: usize;
    /// This list followed by `Rhs` (what [`Concat`] names).
    type Then<Rhs: AbiList>: AbiList;
    /// Splits `Self::Then<Rhs>` back into its two parts.
    fn split_off<Rhs: AbiList>(list: Self::Then<Rhs>) -> (Self, Rhs);
    /// Pushes each element's wasm type and Rust name, in order.
    fn push_words(out: &mut Vec<Word>);
    /// The elements' wasm types, in order.
    fn types() -> Vec<WasmType> {
        let mut words = Vec::with_capacity(Self::LEN);
        Self::push_words(&mut words);
        words.into_iter().map(|w| w.wasm).collect()
    }
}

impl AbiList for () {
    const LEN: usize = 0;
    type Then<Rhs: AbiList> = Rhs;
    #[inline(always)]
    fn split_off<Rhs: AbiList>(list: Rhs) -> ((), Rhs) {
        ((), list)
    }
    fn push_words(_: &mut Vec<Word>) {}
}

impl<H: WasmPrim, T: AbiList> AbiList for (H, T) {
    const LEN: usize = 1 + T::LEN;
    type Then<Rhs: AbiList> = (H, T::Then<Rhs>);
    #[inline(always)]
    fn split_off<Rhs: AbiList>((head, rest): Self::Then<Rhs>) -> (Self, Rhs) {
        let (tail, rhs) = T::split_off(rest);
        ((head, tail), rhs)
    }
    fn push_words(out: &mut Vec<Word>) {
        out.push(Word {
            wasm: H::TYPE,
            rust: H::RUST,
        });
        T::push_words(out);
    }
}

/// Concatenation of two [`AbiList`]s, and the inverse split.
///
/// Implemented for every list through [`AbiList::Then`], so it holds even
/// for a list the compiler cannot see into (a parameter type whose `Lift`
/// impl is missing): that mistake is then reported once, at the type, and
/// not again for every list built from it.
pub trait Concat<Rhs: AbiList>: AbiList {
    /// `Self` followed by `Rhs`.
    type Output: AbiList;
    /// Splits a concatenated list back into its two parts.
    fn split(list: Self::Output) -> (Self, Rhs);
}

impl<L: AbiList, Rhs: AbiList> Concat<Rhs> for L {
    type Output = L::Then<Rhs>;
    #[inline(always)]
    fn split(list: Self::Output) -> (Self, Rhs) {
        L::split_off(list)
    }
}

/// The shape of a value on the wasm side, written the friendly way: a single
/// primitive (`u32`) or a flat tuple of primitives (`(u32, u32)`, up to 8).
///
/// ```
/// use funk_core::abi::{Abi, AbiList};
/// assert_eq!(<(u32, u64) as Abi>::List::LEN, 2);
/// assert_eq!(<f32 as Abi>::List::LEN, 1);
/// ```
pub trait Abi: Sized {
    /// The same shape as a type-level list.
    type List: AbiList;
    /// Converts from the list form.
    fn from_list(list: Self::List) -> Self;
    /// Converts into the list form.
    fn into_list(self) -> Self::List;
}

impl Abi for () {
    type List = ();
    #[inline(always)]
    fn from_list(_: ()) {}
    #[inline(always)]
    fn into_list(self) {}
}

macro_rules! single_abi {
    ($($t:ty),*) => {$(
        impl Abi for $t {
            type List = ($t, ());
            #[inline(always)]
            fn from_list((v, ()): Self::List) -> Self {
                v
            }
            #[inline(always)]
            fn into_list(self) -> Self::List {
                (self, ())
            }
        }
    )*};
}
single_abi!(i32, u32, i64, u64, f32, f64);

/// `abi_list!(A, B, C)` is the list type (or pattern) `(A, (B, (C, ())))`;
/// `abi_list!(A, B; Rest)` ends in `Rest` instead of `()`. Used by the
/// backends to write one impl per arity.
#[doc(hidden)]
#[macro_export]
macro_rules! abi_list {
    () => { () };
    (; $rest:ident) => { $rest };
    ($h:ident $(, $t:ident)* $(; $rest:ident)?) => { ($h, $crate::abi_list!($($t),* $(; $rest)?)) };
}
use crate::abi_list as nest;

/// `for_each_arity!(m, N)` expands `m!()`, `m!(A1 a1)`, `m!(A1 a1, A2 a2)`,
/// ... up to `N` pairs of a type parameter and a value name: how a backend
/// writes one impl per arity of its engine's typed host-function API with a
/// single macro of its own. `N` is the engine's limit: 16, 17 or 26.
///
/// ```
/// macro_rules! count {
///     ($($A:ident $a:ident),*) => { COUNTS.lock().unwrap().push(0 $(+ { let _ = stringify!($a); 1 })*); };
/// }
/// static COUNTS: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());
/// fn main() {
///     funk_core::for_each_arity!(count, 16);
///     assert_eq!(*COUNTS.lock().unwrap(), (0..=16).collect::<Vec<_>>());
/// }
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! for_each_arity {
    ($m:ident, 16) => {
        $crate::__arities!($m; ; A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8,
            A9 a9, A10 a10, A11 a11, A12 a12, A13 a13, A14 a14, A15 a15, A16 a16);
    };
    ($m:ident, 17) => {
        $crate::__arities!($m; ; A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8,
            A9 a9, A10 a10, A11 a11, A12 a12, A13 a13, A14 a14, A15 a15, A16 a16, A17 a17);
    };
    ($m:ident, 26) => {
        $crate::__arities!($m; ; A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8,
            A9 a9, A10 a10, A11 a11, A12 a12, A13 a13, A14 a14, A15 a15, A16 a16, A17 a17,
            A18 a18, A19 a19, A20 a20, A21 a21, A22 a22, A23 a23, A24 a24, A25 a25, A26 a26);
    };
}

/// The recursion of [`for_each_arity!`]: `done` pairs so far; `todo` left.
#[doc(hidden)]
#[macro_export]
macro_rules! __arities {
    ($m:ident; $($A:ident $a:ident),*; ) => {
        $m!($($A $a),*);
    };
    ($m:ident; $($A:ident $a:ident),*; $B:ident $b:ident $(, $C:ident $c:ident)*) => {
        $m!($($A $a),*);
        $crate::__arities!($m; $($A $a,)* $B $b; $($C $c),*);
    };
}

macro_rules! tuple_abi {
    ($($name:ident),+) => {
        impl<$($name: WasmPrim),+> Abi for ($($name,)+) {
            type List = nest!($($name),+);
            #[inline(always)]
            #[allow(non_snake_case)]
            fn from_list(list: Self::List) -> Self {
                let nest!($($name),+) = list;
                ($($name,)+)
            }
            #[inline(always)]
            #[allow(non_snake_case)]
            fn into_list(self) -> Self::List {
                let ($($name,)+) = self;
                nest!($($name),+)
            }
        }
    };
}
tuple_abi!(A);
tuple_abi!(A, B);
tuple_abi!(A, B, C);
tuple_abi!(A, B, C, D);
tuple_abi!(A, B, C, D, E);
tuple_abi!(A, B, C, D, E, F);
tuple_abi!(A, B, C, D, E, F, G);
tuple_abi!(A, B, C, D, E, F, G, H);

/// One wasm value of any type, for engines' dynamic (untyped) APIs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WasmValue {
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32`
    F32(f32),
    /// `f64`
    F64(f64),
}

/// A list read from and written to dynamic value slices; backends use it
/// for signatures longer than their engine's typed API accepts.
pub trait DynamicList: AbiList {
    /// Pushes each element's [`WasmType`].
    fn describe(out: &mut Vec<WasmType>);
    /// Reads the list from the front of `values`, if the types match.
    fn from_values(values: &[WasmValue]) -> Option<Self>;
    /// Appends the list to `out`.
    fn into_values(self, out: &mut Vec<WasmValue>);
}

impl DynamicList for () {
    fn describe(_: &mut Vec<WasmType>) {}
    fn from_values(_: &[WasmValue]) -> Option<Self> {
        Some(())
    }
    fn into_values(self, _: &mut Vec<WasmValue>) {}
}

impl<H: WasmPrim, T: DynamicList> DynamicList for (H, T) {
    fn describe(out: &mut Vec<WasmType>) {
        out.push(H::TYPE);
        T::describe(out);
    }
    fn from_values(values: &[WasmValue]) -> Option<Self> {
        let (first, rest) = values.split_first()?;
        Some((H::from_value(*first)?, T::from_values(rest)?))
    }
    fn into_values(self, out: &mut Vec<WasmValue>) {
        out.push(self.0.into_value());
        self.1.into_values(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Three = <(u32, u64, f32) as Abi>::List;
    type Two = <(i32, f64) as Abi>::List;

    #[test]
    fn concat_then_split_round_trips() {
        let joined: <Three as Concat<Two>>::Output = (1u32, (2u64, (3.0f32, (4i32, (5.0f64, ())))));
        let (a, b) = <Three as Concat<Two>>::split(joined);
        assert_eq!(<(u32, u64, f32)>::from_list(a), (1, 2, 3.0));
        assert_eq!(<(i32, f64)>::from_list(b), (4, 5.0));
    }

    #[test]
    fn describe_lists_wasm_types_in_order() {
        let mut types = Vec::new();
        <<Three as Concat<Two>>::Output as DynamicList>::describe(&mut types);
        use WasmType::*;
        assert_eq!(types, [I32, I64, F32, I32, F64]);
    }

    #[test]
    fn dynamic_values_round_trip_and_check_types() {
        let list: Three = (u32::MAX, (7u64, (1.5f32, ())));
        let mut values = Vec::new();
        list.into_values(&mut values);
        assert_eq!(values[0], WasmValue::I32(-1));
        assert_eq!(Three::from_values(&values), Some(list));
        values[1] = WasmValue::I32(7);
        assert_eq!(Three::from_values(&values), None, "type mismatch");
        assert_eq!(Three::from_values(&values[..2]), None, "too short");
    }
}
