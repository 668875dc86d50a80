//! Host functions whose flat signature is longer than Wasmer's typed API
//! accepts (26 parameters) are defined with `Function::new_with_env`
//! instead, passing values as `Value` slices: slower, but any length works.

use funk_core::__private::{AbiList, Call, Define, FuncInfo, WasmPrim, run_shim};
use funk_core::abi_list;
use funk_core::{LinkError, Trap};
use wasmer::{AsStoreMut, Function, FunctionEnvMut, FunctionType, RuntimeError, Type, Value};

use crate::define::{Linking, to_wasmer};
use crate::memory::{HasMemory, enter};

/// A primitive that converts to and from Wasmer's dynamic `Value`.
pub trait DynamicPrim: WasmPrim {
    /// Its value type.
    fn value_type() -> Type;
    /// Reads it from a `Value` of the right type.
    fn from_value(value: &Value) -> Option<Self>;
    /// Wraps it.
    fn into_value(self) -> Value;
}

macro_rules! dynamic_prim {
    ($($t:ty => $variant:ident, |$v:ident| $from:expr, $into:expr;)*) => {$(
        impl DynamicPrim for $t {
            fn value_type() -> Type {
                Type::$variant
            }
            fn from_value(value: &Value) -> Option<Self> {
                match value {
                    Value::$variant($v) => Some($from),
                    _ => None,
                }
            }
            fn into_value(self) -> Value {
                let $v = self;
                Value::$variant($into)
            }
        }
    )*};
}
dynamic_prim! {
    i32 => I32, |v| *v, v;
    u32 => I32, |v| *v as u32, v as i32;
    i64 => I64, |v| *v, v;
    u64 => I64, |v| *v as u64, v as i64;
    f32 => F32, |v| *v, v;
    f64 => F64, |v| *v, v;
}

/// A flat list that converts to and from `Value` slices.
pub trait DynamicList: AbiList {
    /// Appends the value types.
    fn value_types(out: &mut Vec<Type>);
    /// Reads the list from the front of `values`.
    fn from_values(values: &[Value]) -> Option<Self>;
    /// Appends the list to `out`.
    fn into_values(self, out: &mut Vec<Value>);
}

impl DynamicList for () {
    fn value_types(_: &mut Vec<Type>) {}
    fn from_values(_: &[Value]) -> Option<Self> {
        Some(())
    }
    fn into_values(self, _: &mut Vec<Value>) {}
}

impl<H: DynamicPrim, T: DynamicList> DynamicList for (H, T) {
    fn value_types(out: &mut Vec<Type>) {
        out.push(H::value_type());
        T::value_types(out);
    }
    fn from_values(values: &[Value]) -> Option<Self> {
        let (first, rest) = values.split_first()?;
        Some((H::from_value(first)?, T::from_values(rest)?))
    }
    fn into_values(self, out: &mut Vec<Value>) {
        out.push(self.0.into_value());
        self.1.into_values(out);
    }
}

fn types<L: DynamicList>() -> Vec<Type> {
    let mut out = Vec::with_capacity(L::LEN);
    L::value_types(&mut out);
    out
}

// Lists of 27 or more values: the typed impls in `define` stop at 26, so
// this pattern (27 elements, then any tail) never overlaps them.
impl<
    'l,
    T,
    S,
    G,
    St,
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
    A19,
    A20,
    A21,
    A22,
    A23,
    A24,
    A25,
    A26,
    A27,
    Rest,
>
    Define<
        S,
        abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18, A19, A20, A21, A22, A23, A24, A25, A26, A27; Rest),
        R,
    > for Linking<'l, T, S, G, St>
where
    T: HasMemory,
    S: 'static,
    St: AsStoreMut,
    G: Fn(&mut T) -> &mut S + Copy + Send + Sync + 'static,
    R: DynamicList,
    Rest: AbiList,
    abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18, A19, A20, A21, A22, A23, A24, A25, A26, A27; Rest):
        DynamicList,
{
    fn define<F>(&mut self, info: &'static FuncInfo, shim: F) -> Result<(), LinkError>
    where
        F: for<'c> Fn(
                Call<'c, S>,
                abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18, A19, A20, A21, A22, A23, A24, A25, A26, A27; Rest),
            ) -> Result<R, Trap>
            + Copy
            + Send
            + Sync
            + 'static,
    {
        let get = self.get;
        let ty = FunctionType::new(
            types::<
                abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18, A19, A20, A21, A22, A23, A24, A25, A26, A27; Rest),
            >(),
            types::<R>(),
        );
        let function = Function::new_with_env(
            self.store,
            self.env,
            ty,
            move |mut env: FunctionEnvMut<'_, T>,
                  params: &[Value]|
                  -> Result<Vec<Value>, RuntimeError> {
                let args = DynamicList::from_values(params).ok_or_else(|| {
                    to_wasmer(
                        Trap::new("arguments do not match the signature")
                            .in_function(info.qualified),
                    )
                })?;
                let values = run_shim(info, || {
                    enter(&mut env, get, info.memory, |call| shim(call, args))
                })
                .map_err(to_wasmer)?;
                let mut out = Vec::with_capacity(R::LEN);
                values.into_values(&mut out);
                Ok(out)
            },
        );
        self.imports.define(info.namespace, info.name, function);
        Ok(())
    }
}
