//! Host functions whose flat signature is longer than Wasmer's typed API
//! accepts (26 parameters) are defined with `Function::new_with_env`
//! instead, passing values as `Value` slices: slower, but any length works.

use funk_core::__private::{AbiList, Define, DynamicList, Shim, WasmType, WasmValue, run_shim};
use funk_core::abi_list;
use funk_core::{LinkError, Trap};
use wasmer::{AsStoreMut, Function, FunctionEnvMut, FunctionType, RuntimeError, Type, Value};

use crate::define::{Linking, to_wasmer};
use crate::define_async::cancelled;
use crate::guest_thread;
use crate::memory::{HasMemory, enter};

fn types<L: DynamicList>() -> Vec<Type> {
    let mut types = Vec::with_capacity(L::LEN);
    L::describe(&mut types);
    types
        .into_iter()
        .map(|ty| match ty {
            WasmType::I32 => Type::I32,
            WasmType::I64 => Type::I64,
            WasmType::F32 => Type::F32,
            WasmType::F64 => Type::F64,
        })
        .collect()
}

pub(crate) fn from_value(value: &Value) -> Option<WasmValue> {
    Some(match *value {
        Value::I32(v) => WasmValue::I32(v),
        Value::I64(v) => WasmValue::I64(v),
        Value::F32(v) => WasmValue::F32(v),
        Value::F64(v) => WasmValue::F64(v),
        _ => return None,
    })
}

pub(crate) fn into_value(value: WasmValue) -> Value {
    match value {
        WasmValue::I32(v) => Value::I32(v),
        WasmValue::I64(v) => Value::I64(v),
        WasmValue::F32(v) => Value::F32(v),
        WasmValue::F64(v) => Value::F64(v),
    }
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
    fn define<F>(&mut self, _: F) -> Result<(), LinkError>
    where
        F: Shim<
                S,
                Params = abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18, A19, A20, A21, A22, A23, A24, A25, A26, A27; Rest),
                Results = R,
            >,
    {
        let info = F::INFO;
        if !self.wants(info) {
            return Ok(());
        }
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
                let values: Option<Vec<WasmValue>> = params.iter().map(from_value).collect();
                let args = values
                    .and_then(|v| DynamicList::from_values(&v))
                    .ok_or_else(|| {
                        to_wasmer(
                            Trap::new("arguments do not match the signature")
                                .in_function(info.qualified),
                        )
                    })?;
                if guest_thread::is_cancelled() {
                    return Err(to_wasmer(cancelled(info)));
                }
                let call = || enter(&mut env, get, info.memory, |c| F::call(c, args));
                let values = if info.catch_panics {
                    run_shim(info, call)
                } else {
                    call()
                }
                .map_err(to_wasmer)?;
                let mut out = Vec::with_capacity(R::LEN);
                values.into_values(&mut out);
                Ok(out.into_iter().map(into_value).collect())
            },
        );
        self.imports.define(info.namespace, info.name, function);
        Ok(())
    }
}
