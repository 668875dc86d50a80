//! Host functions whose flat signature is longer than Wasmtime's typed API
//! accepts (17 parameters) are defined with `Linker::func_new` instead,
//! passing values as `Val` slices: slower, but any length works.

use funk_core::__private::{AbiList, Define, DynamicList, Shim, WasmType, WasmValue, run_shim};
use funk_core::abi_list;
use funk_core::{LinkError, Trap};
use wasmtime::{FuncType, Val, ValType};

use crate::define::{Linking, to_wasmtime};
use crate::memory::{HasMemory, enter};

fn types<L: DynamicList>() -> Vec<ValType> {
    let mut types = Vec::with_capacity(L::LEN);
    L::describe(&mut types);
    types
        .into_iter()
        .map(|ty| match ty {
            WasmType::I32 => ValType::I32,
            WasmType::I64 => ValType::I64,
            WasmType::F32 => ValType::F32,
            WasmType::F64 => ValType::F64,
        })
        .collect()
}

pub(crate) fn from_val(val: &Val) -> Option<WasmValue> {
    Some(match *val {
        Val::I32(v) => WasmValue::I32(v),
        Val::I64(v) => WasmValue::I64(v),
        Val::F32(bits) => WasmValue::F32(f32::from_bits(bits)),
        Val::F64(bits) => WasmValue::F64(f64::from_bits(bits)),
        _ => return None,
    })
}

pub(crate) fn into_val(value: WasmValue) -> Val {
    match value {
        WasmValue::I32(v) => Val::I32(v),
        WasmValue::I64(v) => Val::I64(v),
        WasmValue::F32(v) => Val::F32(v.to_bits()),
        WasmValue::F64(v) => Val::F64(v.to_bits()),
    }
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
    fn define<F>(&mut self, _: F) -> Result<(), LinkError>
    where
        F: Shim<
                S,
                Params = abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18; Rest),
                Results = R,
            >,
    {
        let get = self.get;
        let info = F::INFO;
        let ty = FuncType::new(
            self.linker.engine(),
            types::<
                abi_list!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17, A18; Rest),
            >(),
            types::<R>(),
        );
        self.linker
            .func_new(
                info.namespace,
                info.name,
                ty,
                move |mut caller, params, results| {
                    let values: Option<Vec<WasmValue>> = params.iter().map(from_val).collect();
                    let args = values
                        .and_then(|v| DynamicList::from_values(&v))
                        .ok_or_else(|| {
                            to_wasmtime(
                                Trap::new("arguments do not match the signature")
                                    .in_function(info.qualified),
                            )
                        })?;
                    let call = || F::call(enter(&mut caller, get, info.memory), args);
                    let values = if info.catch_panics {
                        run_shim(info, call)
                    } else {
                        call()
                    }
                    .map_err(to_wasmtime)?;
                    let mut out = Vec::with_capacity(R::LEN);
                    values.into_values(&mut out);
                    for (slot, value) in results.iter_mut().zip(out) {
                        *slot = into_val(value);
                    }
                    Ok(())
                },
            )
            .map(drop)
            .map_err(|e| LinkError::new(info.qualified, e.into_boxed_dyn_error()))
    }
}
