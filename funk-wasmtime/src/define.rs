//! Defining shims as typed Wasmtime host functions, one impl per arity.

use std::marker::PhantomData;

use funk_core::__private::{Call, Define, FuncInfo, HostFunctions, WasmPrim, run_shim};
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
            fn define<F>(&mut self, info: &'static FuncInfo, shim: F) -> Result<(), LinkError>
            where
                F: for<'c> Fn(Call<'c, S>, nest!($($A),*)) -> Result<R, Trap> + Copy + Send + Sync + 'static,
            {
                let get = self.get;
                self.linker
                    .func_wrap(
                        info.namespace,
                        info.name,
                        move |mut caller: Caller<'_, T>, $($a: $A),*| -> wasmtime::Result<R::Native> {
                            run_shim(info, || shim(enter(&mut caller, get, info.memory), nest!($($a),*)))
                                .map(R::into_native)
                                .map_err(to_wasmtime)
                        },
                    )
                    .map(drop)
                    .map_err(|e| LinkError::new(info.qualified, e.into_boxed_dyn_error()))
            }
        }
    };
}

define_arity!();
define_arity!(A1 a1);
define_arity!(A1 a1, A2 a2);
define_arity!(A1 a1, A2 a2, A3 a3);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12, A13 a13);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12, A13 a13, A14 a14);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12, A13 a13, A14 a14, A15 a15);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12, A13 a13, A14 a14, A15 a15, A16 a16);
define_arity!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12, A13 a13, A14 a14, A15 a15, A16 a16, A17 a17);
