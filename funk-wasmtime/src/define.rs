//! Defining shims as typed Wasmtime host functions, one impl per arity.

use std::marker::PhantomData;

use funk_core::__private::{
    Define, HostFunctions, Shim, WasmPrim, infallible_shim_failed, run_shim,
};
use funk_core::{LinkError, Trap};
use wasmtime::{Caller, Linker, WasmTy};

use crate::memory::{HasMemory, enter};
use crate::results::NativeResults;

/// A [`Linker`] being filled with the functions of host state `S`, which is
/// reached from the store data `T` through `G`.
pub struct Linking<'l, T: 'static, S, G> {
    pub(crate) linker: &'l mut Linker<T>,
    pub(crate) get: G,
    _state: PhantomData<fn() -> S>,
}

impl<'l, T: 'static, S, G> Linking<'l, T, S, G> {
    /// Starts linking into `linker`.
    pub fn new(linker: &'l mut Linker<T>, get: G) -> Self {
        Linking {
            linker,
            get,
            _state: PhantomData,
        }
    }
}

/// Defines every function of the `#[host_functions]` block on `S` in
/// `linker`. `get` reaches `S` from the store data.
///
/// A name already defined in the linker is an error unless the linker
/// allows shadowing.
pub fn link<'l, S, T, G>(linker: &'l mut Linker<T>, get: G) -> Result<(), LinkError>
where
    T: HasMemory,
    S: HostFunctions<Linking<'l, T, S, G>>,
    G: Fn(&mut T) -> &mut S + Copy + Send + Sync + 'static,
{
    S::define_all(&mut Linking::new(linker, get))
}

#[cold]
#[inline(never)]
pub(crate) fn to_wasmtime(trap: Trap) -> wasmtime::Error {
    wasmtime::Error::new(trap)
}

use funk_core::abi_list as nest;

macro_rules! define_arity {
    ($($A:ident $a:ident),*) => {
        impl<'l, T, S, G, R, $($A),*> Define<S, nest!($($A),*), R> for Linking<'l, T, S, G>
        where
            T: HasMemory,
            S: 'static,
            G: Fn(&mut T) -> &mut S + Copy + Send + Sync + 'static,
            R: NativeResults,
            $($A: WasmPrim + WasmTy,)*
        {
            fn define<F>(&mut self, _: F) -> Result<(), LinkError>
            where
                F: Shim<S, Params = nest!($($A),*), Results = R>,
            {
                let get = self.get;
                let info = F::INFO;
                let defined = if info.catch_panics || F::FALLIBLE {
                    self.linker.func_wrap(
                        info.namespace,
                        info.name,
                        move |mut caller: Caller<'_, T>, $($a: $A),*| -> wasmtime::Result<R::Native> {
                            // Converted inside the unwinding boundary, so only
                            // Wasmtime's one-word error crosses it.
                            let mut call = || {
                                F::call(enter(&mut caller, get, F::INFO.memory), nest!($($a),*))
                                    .map(R::into_native)
                                    .map_err(to_wasmtime)
                            };
                            if F::INFO.catch_panics {
                                run_shim(F::INFO, call)
                            } else {
                                call()
                            }
                        },
                    )
                } else {
                    // Nothing can fail and a panic unwinds: the engine's
                    // infallible path, as for a hand-written bare result.
                    self.linker.func_wrap(
                        info.namespace,
                        info.name,
                        move |mut caller: Caller<'_, T>, $($a: $A),*| -> R::Native {
                            match F::call(enter(&mut caller, get, F::INFO.memory), nest!($($a),*)) {
                                Ok(results) => results.into_native(),
                                Err(trap) => infallible_shim_failed(F::INFO, trap),
                            }
                        },
                    )
                };
                defined
                    .map(drop)
                    .map_err(|e| LinkError::new(info.qualified, e.into_boxed_dyn_error()))
            }
        }
    };
}

funk_core::for_each_arity!(define_arity, 17);
