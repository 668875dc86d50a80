//! Defining shims as typed Wasmer host functions, one impl per arity.

use std::marker::PhantomData;

use funk_core::__private::{Define, FuncInfo, HostFunctions, Shim, WasmPrim, run_shim};
use funk_core::{LinkError, Trap};
use wasmer::{
    AsStoreMut, FromToNativeWasmType, Function, FunctionEnv, FunctionEnvMut, Imports, RuntimeError,
};

use crate::define_async::cancelled;
use crate::guest_thread;
use crate::memory::{HasMemory, enter};
use crate::results::NativeResults;

/// Which functions [`link_filtered`] defines: `keep(namespace, name)`.
pub type Keep<'l> = &'l (dyn Fn(&str, &str) -> bool + 'l);

/// An [`Imports`] being filled with the functions of host state `S`, which
/// is reached from the environment data `T` through `G`.
pub struct Linking<'l, T, S, G, St> {
    pub(crate) store: &'l mut St,
    pub(crate) env: &'l FunctionEnv<T>,
    pub(crate) imports: &'l mut Imports,
    pub(crate) get: G,
    /// Which functions to define, by `(namespace, name)`; all when `None`.
    pub(crate) keep: Option<Keep<'l>>,
    _state: PhantomData<fn() -> S>,
}

impl<T, S, G, St> Linking<'_, T, S, G, St> {
    /// Whether the function `info` is to be defined.
    #[inline]
    pub(crate) fn wants(&self, info: &FuncInfo) -> bool {
        self.keep.is_none_or(|keep| keep(info.namespace, info.name))
    }
}

/// Defines every function of the `#[host_functions]` block on `S` in
/// `imports`, as functions of `store` over `env`. `get` reaches `S` from the
/// environment data. An existing import of the same name is replaced.
pub fn link<'l, S, T, G, St>(
    store: &'l mut St,
    env: &'l FunctionEnv<T>,
    imports: &'l mut Imports,
    get: G,
) -> Result<(), LinkError>
where
    T: HasMemory,
    St: AsStoreMut,
    S: HostFunctions<Linking<'l, T, S, G, St>>,
    G: Fn(&mut T) -> &mut S + Copy + Send + Sync + 'static,
{
    S::define_all(&mut Linking {
        store,
        env,
        imports,
        get,
        keep: None,
        _state: PhantomData,
    })
}

/// Like [`link`], but defines only the functions `keep(namespace, name)`
/// accepts: a Wasmer host function is created per store, so a host that
/// instantiates often links just what the module imports.
pub fn link_filtered<'l, S, T, G, St>(
    store: &'l mut St,
    env: &'l FunctionEnv<T>,
    imports: &'l mut Imports,
    get: G,
    keep: Keep<'l>,
) -> Result<(), LinkError>
where
    T: HasMemory,
    St: AsStoreMut,
    S: HostFunctions<Linking<'l, T, S, G, St>>,
    G: Fn(&mut T) -> &mut S + Copy + Send + Sync + 'static,
{
    S::define_all(&mut Linking {
        store,
        env,
        imports,
        get,
        keep: Some(keep),
        _state: PhantomData,
    })
}

pub(crate) fn to_wasmer(trap: Trap) -> RuntimeError {
    RuntimeError::user(Box::new(trap))
}

/// Wasmer's error as [`run_shim`]'s error type (which must come from a
/// [`Trap`]; the orphan rule keeps that impl off `RuntimeError` itself).
pub(crate) struct WasmerError(pub(crate) RuntimeError);

impl From<Trap> for WasmerError {
    #[inline]
    fn from(trap: Trap) -> Self {
        WasmerError(to_wasmer(trap))
    }
}

use funk_core::abi_list as nest;

macro_rules! define_arity {
    ($($A:ident $a:ident),*) => {
        impl<'l, T, S, G, St, R, $($A),*> Define<S, nest!($($A),*), R> for Linking<'l, T, S, G, St>
        where
            T: HasMemory,
            S: 'static,
            St: AsStoreMut,
            G: Fn(&mut T) -> &mut S + Copy + Send + Sync + 'static,
            R: NativeResults,
            $($A: WasmPrim + FromToNativeWasmType,)*
        {
            fn define<F>(&mut self, _: F) -> Result<(), LinkError>
            where
                F: Shim<S, Params = nest!($($A),*), Results = R>,
            {
                let info = F::INFO;
                if !self.wants(info) {
                    return Ok(());
                }
                let get = self.get;
                // Always fallible, even for an infallible shim: a call of a
                // cancelled guest-thread call traps.
                let function = Function::new_typed_with_env(
                    self.store,
                    self.env,
                    move |mut env: FunctionEnvMut<'_, T>, $($a: $A),*| -> Result<R::Native, RuntimeError> {
                        // A cancelled guest-thread call runs no more host code.
                        if guest_thread::is_cancelled() {
                            return Err(to_wasmer(cancelled(F::INFO)));
                        }
                        // Converted inside the unwinding boundary, so only
                        // Wasmer's one-word error crosses it.
                        let mut call = || {
                            enter(&mut env, get, F::INFO.memory, |call| F::call(call, nest!($($a),*)))
                                .map(R::into_native)
                                .map_err(WasmerError::from)
                        };
                        let result = if F::INFO.catch_panics { run_shim(F::INFO, call) } else { call() };
                        result.map_err(|error| error.0)
                    },
                );
                self.imports.define(info.namespace, info.name, function);
                Ok(())
            }
        }
    };
}

funk_core::for_each_arity!(define_arity, 26);
