//! Host functions whose flat signature is longer than Wasmtime's typed API
//! accepts (17 parameters) are defined with `Linker::func_new` instead,
//! passing values as `Val` slices: slower, but any length works.

use funk_core::__private::{AbiList, Call, Define, FuncInfo, WasmPrim, run_shim};
use funk_core::abi_list;
use funk_core::{LinkError, Trap};
use wasmtime::{FuncType, Val, ValType};

use crate::define::{Linking, to_wasmtime};
use crate::memory::{HasMemory, enter};

/// A primitive that converts to and from Wasmtime's dynamic `Val`.
pub trait DynamicPrim: WasmPrim {
    /// Its value type.
    fn val_type() -> ValType;
    /// Reads it from a `Val` of the right type.
    fn from_val(val: &Val) -> Option<Self>;
    /// Wraps it.
    fn into_val(self) -> Val;
}

macro_rules! dynamic_prim {
    ($($t:ty => $ty:ident, $variant:ident, |$v:ident| $from:expr, $into:expr;)*) => {$(
        impl DynamicPrim for $t {
            fn val_type() -> ValType {
                ValType::$ty
            }
            fn from_val(val: &Val) -> Option<Self> {
                match val {
                    Val::$variant($v) => Some($from),
                    _ => None,
                }
            }
            fn into_val(self) -> Val {
                let $v = self;
                Val::$variant($into)
            }
        }
    )*};
}
dynamic_prim! {
    i32 => I32, I32, |v| *v, v;
    u32 => I32, I32, |v| *v as u32, v as i32;
    i64 => I64, I64, |v| *v, v;
    u64 => I64, I64, |v| *v as u64, v as i64;
    f32 => F32, F32, |v| f32::from_bits(*v), v.to_bits();
    f64 => F64, F64, |v| f64::from_bits(*v), v.to_bits();
}

/// A flat list that converts to and from `Val` slices.
pub trait DynamicList: AbiList {
    /// Appends the value types.
    fn val_types(out: &mut Vec<ValType>);
    /// Reads the list from the front of `vals`.
    fn from_vals(vals: &[Val]) -> Option<Self>;
    /// Writes the list to the front of `out`.
    fn into_vals(self, out: &mut [Val]);
}

impl DynamicList for () {
    fn val_types(_: &mut Vec<ValType>) {}
    fn from_vals(_: &[Val]) -> Option<Self> {
        Some(())
    }
    fn into_vals(self, _: &mut [Val]) {}
}

impl<H: DynamicPrim, T: DynamicList> DynamicList for (H, T) {
    fn val_types(out: &mut Vec<ValType>) {
        out.push(H::val_type());
        T::val_types(out);
    }
    fn from_vals(vals: &[Val]) -> Option<Self> {
        let (first, rest) = vals.split_first()?;
        Some((H::from_val(first)?, T::from_vals(rest)?))
    }
    fn into_vals(self, out: &mut [Val]) {
        if let Some((first, rest)) = out.split_first_mut() {
            *first = self.0.into_val();
            self.1.into_vals(rest);
        }
    }
}

fn types<L: DynamicList>() -> Vec<ValType> {
    let mut out = Vec::with_capacity(L::LEN);
    L::val_types(&mut out);
    out
}

// Lists of 18 or more values: the typed impls in `define` stop at 17, so
// this pattern (18 elements, then any tail) never overlaps them.
impl<
    'l,
    T,
    S,
    G,
    R,
    A1,
    A2,
    A3,
    A4,
    A5,
    A6,
    A7,
    A8,
    A9,
    A10,
    A11,
    A12,
    A13,
    A14,
    A15,
    A16,
    A17,
    A18,
    Rest,
>
    Define<
        S,
        abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18; Rest),
        R,
    > for Linking<'l, T, S, G>
where
    T: HasMemory,
    S: 'static,
    G: Fn(&mut T) -> &mut S + Copy + Send + Sync + 'static,
    R: DynamicList,
    Rest: AbiList,
    abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18; Rest):
        DynamicList,
{
    fn define<F>(&mut self, info: &'static FuncInfo, shim: F) -> Result<(), LinkError>
    where
        F: for<'c> Fn(
                Call<'c, S>,
                abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18; Rest),
            ) -> Result<R, Trap>
            + Copy
            + Send
            + Sync
            + 'static,
    {
        let get = self.get;
        let linker = &mut *self.linker;
        let ty = FuncType::new(
            linker.engine(),
            types::<
                abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18; Rest),
            >(),
            types::<R>(),
        );
        linker
            .func_new(
                info.namespace,
                info.name,
                ty,
                move |mut caller, params, results| {
                    let args = DynamicList::from_vals(params).ok_or_else(|| {
                        to_wasmtime(
                            Trap::new("arguments do not match the signature")
                                .in_function(info.qualified),
                        )
                    })?;
                    let values =
                        run_shim(info, || shim(enter(&mut caller, get, info.memory), args))
                            .map_err(to_wasmtime)?;
                    values.into_vals(results);
                    Ok(())
                },
            )
            .map(drop)
            .map_err(|e| LinkError::new(info.qualified, e.into_boxed_dyn_error()))
    }
}
