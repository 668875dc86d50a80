//! Defining async shims as Wasmer host functions whose futures the guest
//! thread polls itself, parking between polls (see [`crate::guest_thread`]).

use std::marker::PhantomData;
use std::pin::pin;

use std::thread::ThreadId;

use funk_core::__private::{
    AsyncHost, AsyncShim, Call, DefineAsync, FuncInfo, ShimInfo, WasmPrim, WasmType, WasmValue,
    format_types, run_async_shim, run_shim,
};
use funk_core::abi_list as nest;
use funk_core::{GuestCallError, GuestCallFuture, LinkError, Trap};
use wasmer::{
    AsStoreMut, FromToNativeWasmType, Function, FunctionEnvMut, RuntimeError, Type, Value,
};

use crate::define::{Linking, to_wasmer};
use crate::dynamic::{from_value, into_value};
use crate::guest_thread::{self, Cancelled};
use crate::memory::{HasMemory, split};
use crate::results::NativeResults;

/// One suspended guest call of the function `I`, as an async shim sees it.
struct EnvHost<'a, T: 'static, G, I> {
    env: FunctionEnvMut<'a, T>,
    get: G,
    /// The guest thread: the only thread that may run the guest.
    thread: ThreadId,
    _info: PhantomData<fn() -> I>,
}

// SAFETY: an `EnvHost` is created on a guest thread and used there, or by
// the task awaiting the guest call while the guest thread is blocked in
// `guest_thread::lend`: never by two threads at once, and with the
// exchange's mutex ordering the accesses. What it reaches is the
// environment data `T` (which `HasMemory` requires to be `Send`) and the
// bytes of guest memory, through pointers into the store; Wasmer's store is
// `!Send` because of such pointers, not because of thread-local state on
// this path (`FunctionEnvMut::data_and_store_mut`, `Memory::view` and
// `MemoryView::data_unchecked_mut` only follow pointers).
unsafe impl<T: Send, G: Send, I> Send for EnvHost<'_, T, G, I> {}

impl<T, S, G, I> AsyncHost<S> for EnvHost<'_, T, G, I>
where
    T: HasMemory,
    G: Fn(&mut T) -> &mut S + Copy + Send + Sync,
    I: ShimInfo,
{
    #[inline(always)]
    fn call(&mut self) -> Call<'_, S> {
        split(&mut self.env, self.get, I::INFO.memory)
    }

    #[inline(always)]
    fn state(&mut self) -> &mut S {
        (self.get)(self.env.data_mut())
    }

    fn call_export<'a>(
        &'a mut self,
        name: &'a str,
        args: &'a [WasmValue],
        results: &'a mut [WasmValue],
    ) -> GuestCallFuture<'a> {
        // The guest runs synchronously, here, on the guest thread, which
        // polls every host future of its calls; any other thread may not
        // use the store.
        let outcome = if std::thread::current().id() != self.thread {
            Err(GuestCallError::Suspended)
        } else {
            self.call_now(name, args, results)
        };
        Box::pin(std::future::ready(outcome))
    }
}

impl<T: HasMemory, G, I> EnvHost<'_, T, G, I> {
    fn call_now(
        &mut self,
        name: &str,
        args: &[WasmValue],
        results: &mut [WasmValue],
    ) -> Result<(), GuestCallError> {
        let function = self
            .env
            .data_mut()
            .memory_slot()
            .exports()
            .and_then(|exports| exports.get_function(name).ok())
            .cloned()
            .ok_or_else(|| GuestCallError::NoSuchExport(name.to_owned()))?;
        let ty = function.ty(&self.env);
        let matches = |found: &[Type], given: &[WasmValue]| {
            found.len() == given.len()
                && found
                    .iter()
                    .zip(given)
                    .all(|(f, g)| wasm_type(f) == Some(g.ty()))
        };
        if !matches(ty.params(), args) || !matches(ty.results(), results) {
            let given = |values: &[WasmValue]| format_types(values.iter().map(|v| Some(v.ty())));
            let found = |types: &[Type]| format_types(types.iter().map(wasm_type));
            return Err(GuestCallError::WrongSignature {
                name: name.to_owned(),
                expected: format!("{} -> {}", given(args), given(results)),
                found: format!("{} -> {}", found(ty.params()), found(ty.results())),
            });
        }
        let params: Vec<Value> = args.iter().copied().map(into_value).collect();
        let out = function
            .call(&mut self.env, &params)
            .map_err(|e| GuestCallError::Trapped(Box::new(e)))?;
        for (slot, value) in results.iter_mut().zip(out.iter()) {
            // The signature was checked, so every result is a number.
            *slot = from_value(value).unwrap_or(*slot);
        }
        Ok(())
    }
}

fn wasm_type(ty: &Type) -> Option<WasmType> {
    match ty {
        Type::I32 => Some(WasmType::I32),
        Type::I64 => Some(WasmType::I64),
        Type::F32 => Some(WasmType::F32),
        Type::F64 => Some(WasmType::F64),
        _ => None,
    }
}

fn outside_call_async(info: &'static FuncInfo) -> Trap {
    Trap::new(
        "this async host function was called outside `funk::wasmer::GuestThread::call`; \
         run the guest call with it",
    )
    .in_function(info.qualified)
}

pub(crate) fn cancelled(info: &'static FuncInfo) -> Trap {
    Trap::new("the guest call was cancelled (its future was dropped)").in_function(info.qualified)
}

macro_rules! define_arity_async {
    ($($A:ident $a:ident),*) => {
        impl<'l, T, S, G, St, R, $($A),*> DefineAsync<S, nest!($($A),*), R> for Linking<'l, T, S, G, St>
        where
            T: HasMemory,
            S: 'static,
            St: AsStoreMut,
            G: Fn(&mut T) -> &mut S + Copy + Send + Sync + 'static,
            R: NativeResults + Send,
            $($A: WasmPrim + FromToNativeWasmType + Send,)*
        {
            fn define_async<F>(&mut self, _: F) -> Result<(), LinkError>
            where
                F: AsyncShim<S, Params = nest!($($A),*), Results = R>,
            {
                let info = F::INFO;
                if !self.wants(info) {
                    return Ok(());
                }
                let get = self.get;
                let function = Function::new_typed_with_env(
                    self.store,
                    self.env,
                    move |env: FunctionEnvMut<'_, T>, $($a: $A),*| -> Result<R::Native, RuntimeError> {
                        let info = F::INFO;
                        let body = || {
                            let host = EnvHost::<T, G, F> {
                                env,
                                get,
                                thread: std::thread::current().id(),
                                _info: PhantomData,
                            };
                            let mut result = None;
                            let lent = guest_thread::drive(pin!(async {
                                let future = F::call(host, nest!($($a),*));
                                result = Some(run_async_shim::<F, _>(future).await);
                            }));
                            // The future's scope has ended: the guest thread is
                            // out of the host function.
                            guest_thread::settle();
                            match lent {
                                None => Err(outside_call_async(info)),
                                Some(Err(Cancelled)) => Err(cancelled(info)),
                                Some(Ok(())) => result.unwrap_or_else(|| Err(cancelled(info))),
                            }
                        };
                        let result = if info.catch_panics { run_shim(info, body) } else { body() };
                        result.map(R::into_native).map_err(to_wasmer)
                    },
                );
                self.imports.define(info.namespace, info.name, function);
                Ok(())
            }
        }
    };
}

funk_core::for_each_arity!(define_arity_async, 16);
