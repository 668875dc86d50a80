//! Defining async shims with `Linker::func_wrap_async`, one impl per arity.
//!
//! Wasmtime runs the guest on a fiber and keeps the [`Caller`] inside the
//! host future, so the store stays borrowed by the call while it is
//! suspended; [`CallerHost`] hands the shim guest memory and host state
//! again after every `.await`. A store with async host functions must be
//! driven with `call_async` / `instantiate_async`, and its data must be
//! `Send`.

use funk_core::__private::{
    AsyncHost, AsyncShim, Call, DefineAsync, FuncInfo, WasmPrim, WasmType, WasmValue, format_types,
    run_async_shim,
};
use funk_core::abi_list as nest;
use funk_core::{GuestCallError, GuestCallFuture, LinkError};
use futures::FutureExt;
use wasmtime::{Caller, Extern, FuncType, Val, ValType, WasmTy};

use crate::define::{Linking, to_wasmtime};
use crate::dynamic::{from_val, into_val};
use crate::memory::{HasMemory, enter};
use crate::results::NativeResults;

/// One suspended guest call, as an async shim sees it.
struct CallerHost<'a, T: 'static, G> {
    caller: Caller<'a, T>,
    get: G,
    info: &'static FuncInfo,
}

impl<T, S, G> AsyncHost<S> for CallerHost<'_, T, G>
where
    T: HasMemory + Send,
    G: Fn(&mut T) -> &mut S + Copy + Send + Sync,
{
    #[inline(always)]
    fn call(&mut self) -> Call<'_, S> {
        enter(&mut self.caller, self.get, self.info.memory)
    }

    #[inline(always)]
    fn state(&mut self) -> &mut S {
        (self.get)(self.caller.data_mut())
    }

    fn call_export<'a>(
        &'a mut self,
        name: &'a str,
        args: &'a [WasmValue],
        results: &'a mut [WasmValue],
    ) -> GuestCallFuture<'a> {
        Box::pin(async move {
            let Some(Extern::Func(func)) = self.caller.get_export(name) else {
                return Err(GuestCallError::NoSuchExport(name.to_owned()));
            };
            let ty = func.ty(&self.caller);
            check_signature(name, &ty, args, results)?;
            let params: Vec<Val> = args.iter().copied().map(into_val).collect();
            let mut out: Vec<Val> = results.iter().copied().map(into_val).collect();
            func.call_async(&mut self.caller, &params, &mut out)
                .await
                .map_err(|e| GuestCallError::Trapped(e.into_boxed_dyn_error()))?;
            for (slot, value) in results.iter_mut().zip(&out) {
                // The signature was checked, so every result is a number.
                *slot = from_val(value).unwrap_or(*slot);
            }
            Ok(())
        })
    }
}

fn wasm_type(ty: &ValType) -> Option<WasmType> {
    match ty {
        ValType::I32 => Some(WasmType::I32),
        ValType::I64 => Some(WasmType::I64),
        ValType::F32 => Some(WasmType::F32),
        ValType::F64 => Some(WasmType::F64),
        _ => None,
    }
}

/// The export must take `args`' types and return `results`' types.
fn check_signature(
    name: &str,
    ty: &FuncType,
    args: &[WasmValue],
    results: &[WasmValue],
) -> Result<(), GuestCallError> {
    let params: Vec<Option<WasmType>> = ty.params().map(|t| wasm_type(&t)).collect();
    let returns: Vec<Option<WasmType>> = ty.results().map(|t| wasm_type(&t)).collect();
    let matches = |found: &[Option<WasmType>], given: &[WasmValue]| {
        found.len() == given.len() && found.iter().zip(given).all(|(f, g)| *f == Some(g.ty()))
    };
    if matches(&params, args) && matches(&returns, results) {
        return Ok(());
    }
    let given = |values: &[WasmValue]| format_types(values.iter().map(|v| Some(v.ty())));
    Err(GuestCallError::WrongSignature {
        name: name.to_owned(),
        expected: format!("{} -> {}", given(args), given(results)),
        found: format!("{} -> {}", format_types(params), format_types(returns)),
    })
}

macro_rules! define_arity_async {
    ($($A:ident $a:ident),*) => {
        impl<'l, T, S, G, R, $($A),*> DefineAsync<S, nest!($($A),*), R> for Linking<'l, T, S, G>
        where
            T: HasMemory + Send,
            S: 'static,
            G: Fn(&mut T) -> &mut S + Copy + Send + Sync + 'static,
            R: NativeResults + Send,
            $($A: WasmPrim + WasmTy + Send,)*
        {
            fn define_async<F>(&mut self, info: &'static FuncInfo, shim: F) -> Result<(), LinkError>
            where
                F: AsyncShim<S, nest!($($A),*), R>,
            {
                let get = self.get;
                self.linker
                    .func_wrap_async(
                        info.namespace,
                        info.name,
                        move |caller: Caller<'_, T>, ($($a,)*): ($($A,)*)| {
                            let host = CallerHost { caller, get, info };
                            // One hand-written combinator over the shim's future:
                            // an `async` wrapper here measurably slowed calls.
                            Box::new(
                                run_async_shim(info, shim.call(host, nest!($($a),*)))
                                    .map(|result| result.map(R::into_native).map_err(to_wasmtime)),
                            )
                        },
                    )
                    .map(drop)
                    .map_err(|e| LinkError::new(info.qualified, e.into_boxed_dyn_error()))
            }
        }
    };
}

define_arity_async!();
define_arity_async!(A1 a1);
define_arity_async!(A1 a1, A2 a2);
define_arity_async!(A1 a1, A2 a2, A3 a3);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12, A13 a13);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12, A13 a13, A14 a14);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12, A13 a13, A14 a14, A15 a15);
define_arity_async!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12, A13 a13, A14 a14, A15 a15, A16 a16);
