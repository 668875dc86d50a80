//! Defining async shims with `Linker::func_wrap_async`, one impl per arity.
//!
//! Wasmtime runs the guest on a fiber and keeps the [`Caller`] inside the
//! host future, so the store stays borrowed by the call while it is
//! suspended; [`CallerHost`] hands the shim guest memory and host state
//! again after every `.await`. A store with async host functions must be
//! driven with `call_async` / `instantiate_async`, and its data must be
//! `Send`.

use std::marker::PhantomData;

use funk_core::__private::{
    AsyncHost, AsyncShim, Call, DefineAsync, ShimInfo, WasmPrim, WasmType, WasmValue, format_types,
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

/// One suspended guest call of the function `I`, as an async shim sees it.
struct CallerHost<'a, T: 'static, G, I> {
    caller: Caller<'a, T>,
    get: G,
    _info: PhantomData<fn() -> I>,
}

impl<T, S, G, I> AsyncHost<S> for CallerHost<'_, T, G, I>
where
    T: HasMemory + Send,
    G: Fn(&mut T) -> &mut S + Copy + Send + Sync,
    I: ShimInfo,
{
    #[inline(always)]
    fn call(&mut self) -> Call<'_, S> {
        enter(&mut self.caller, self.get, I::INFO.memory)
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
            fn define_async<F>(&mut self, _: F) -> Result<(), LinkError>
            where
                F: AsyncShim<S, Params = nest!($($A),*), Results = R>,
            {
                let get = self.get;
                let info = F::INFO;
                self.linker
                    .func_wrap_async(
                        info.namespace,
                        info.name,
                        move |caller: Caller<'_, T>, ($($a,)*): ($($A,)*)| {
                            let host = CallerHost::<T, G, F> { caller, get, _info: PhantomData };
                            // One hand-written combinator over the shim's future:
                            // an `async` wrapper here measurably slowed calls.
                            Box::new(
                                run_async_shim::<F, _>(F::call(host, nest!($($a),*)))
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

funk_core::for_each_arity!(define_arity_async, 16);
