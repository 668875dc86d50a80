//! Calling back into the guest from a host function.
//!
//! Some host APIs need the guest's help in the middle of a call: run a
//! guest function and catch its trap (Lunatic's `trap::catch`), ask a
//! guest allocator export for a buffer, call a callback the guest
//! registered. Such a method is an `async fn` without a receiver whose
//! first parameter is the call's [`GuestCx`] (the facade's docs, section
//! "Calling back into the guest", have an example):
//!
//! ```text
//! async fn try_call(cx: &mut GuestCx<'_, Self>, arg: i32) -> Result<i32, Trap>
//! ```
//!
//! While the guest runs, the host function holds no borrow of guest memory
//! or host state: the guest may call other host functions (which use the
//! state) and grow its memory. So such a method gets its parameters as
//! copies (like any async method), reaches the state through
//! [`GuestCx::state`] and guest memory through [`GuestCx::with_memory`],
//! briefly, between guest calls.
//!
//! On Wasmtime the guest call is an async call on the same fiber. On
//! Wasmer it runs synchronously on the guest thread, which polls the host
//! function's future; a backend that polled it elsewhere would refuse with
//! [`GuestCallError::Suspended`].

use std::future::Future;
use std::pin::Pin;

use crate::abi::{Abi, DynamicList, WasmType, WasmValue, format_types};
use crate::call::Call;
use crate::call_async::AsyncHost;
use crate::memory::GuestMemory;

/// A guest call from a host function failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuestCallError {
    /// The instance has no function export of that name.
    #[error("the guest exports no function `{0}`")]
    NoSuchExport(String),
    /// The export's signature is not the one the host called it with.
    #[error("the guest function `{name}` has type {found}, but was called as {expected}")]
    WrongSignature {
        /// The export.
        name: String,
        /// What the host passed and expected back.
        expected: String,
        /// The export's type.
        found: String,
    },
    /// The guest trapped (or a host function it called did); the store is
    /// still usable.
    #[error("the guest trapped: {0}")]
    Trapped(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The host function's future is being polled on a thread where the
    /// guest cannot run (funk's backends never do this).
    #[error("the guest cannot be called from the thread polling this host function")]
    Suspended,
}

/// The future of a guest call made from a host function.
pub type GuestCallFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(), GuestCallError>> + Send + 'a>>;

/// A backend's handle on a suspended guest call, object-safe, as a
/// [`GuestCx`] holds it. Every [`AsyncHost`] is one.
pub trait Reenter<S> {
    /// Guest memory (when available) and host state.
    fn call(&mut self) -> Call<'_, S>;
    /// The host state.
    fn state(&mut self) -> &mut S;
    /// Calls the guest's export `name` with `args`, writing its results to
    /// `results` (whose length must match the export's result count).
    fn call_export<'a>(
        &'a mut self,
        name: &'a str,
        args: &'a [WasmValue],
        results: &'a mut [WasmValue],
    ) -> GuestCallFuture<'a>;
}

impl<S, H: AsyncHost<S>> Reenter<S> for H {
    fn call(&mut self) -> Call<'_, S> {
        AsyncHost::call(self)
    }
    fn state(&mut self) -> &mut S {
        AsyncHost::state(self)
    }
    fn call_export<'a>(
        &'a mut self,
        name: &'a str,
        args: &'a [WasmValue],
        results: &'a mut [WasmValue],
    ) -> GuestCallFuture<'a> {
        AsyncHost::call_export(self, name, args, results)
    }
}

/// The first parameter of a host function that calls into the guest: its
/// state, its memory and its exports, one at a time.
pub struct GuestCx<'h, S> {
    host: &'h mut (dyn Reenter<S> + Send),
}

impl<S> std::fmt::Debug for GuestCx<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestCx").finish_non_exhaustive()
    }
}

impl<'h, S> GuestCx<'h, S> {
    /// Wraps a backend's host. Used by generated code.
    #[doc(hidden)]
    pub fn new(host: &'h mut (dyn Reenter<S> + Send)) -> Self {
        GuestCx { host }
    }

    /// The host state.
    pub fn state(&mut self) -> &mut S {
        self.host.state()
    }

    /// Runs `f` with guest memory and the host state, between guest calls.
    pub fn with_memory<R>(&mut self, f: impl FnOnce(&mut GuestMemory<'_>, &mut S) -> R) -> R {
        let (mut memory, state) = self.host.call().into_parts();
        f(&mut memory, state)
    }

    /// Calls the guest's export `name` with dynamically typed values.
    pub async fn call_export(
        &mut self,
        name: &str,
        args: &[WasmValue],
        results: &mut [WasmValue],
    ) -> Result<(), GuestCallError> {
        self.host.call_export(name, args, results).await
    }

    /// Calls the guest's export `name` with typed arguments and results,
    /// written as tuples of wasm primitives: `cx.call::<(i32, i64), (i32,)>`.
    pub async fn call<P, R>(&mut self, name: &str, args: P) -> Result<R, GuestCallError>
    where
        P: Abi,
        P::List: DynamicList,
        R: Abi,
        R::List: DynamicList,
    {
        let mut values = Vec::new();
        args.into_list().into_values(&mut values);
        let mut types = Vec::new();
        <R::List as DynamicList>::describe(&mut types);
        let mut results: Vec<WasmValue> = types.iter().map(|t| zero(*t)).collect();
        self.host.call_export(name, &values, &mut results).await?;
        <R::List as DynamicList>::from_values(&results)
            .map(R::from_list)
            .ok_or_else(|| GuestCallError::WrongSignature {
                name: name.to_owned(),
                expected: describe_types(&types),
                found: describe_values(&results),
            })
    }
}

fn zero(ty: WasmType) -> WasmValue {
    match ty {
        WasmType::I32 => WasmValue::I32(0),
        WasmType::I64 => WasmValue::I64(0),
        WasmType::F32 => WasmValue::F32(0.0),
        WasmType::F64 => WasmValue::F64(0.0),
    }
}

fn describe_types(types: &[WasmType]) -> String {
    format_types(types.iter().copied().map(Some))
}

fn describe_values(values: &[WasmValue]) -> String {
    format_types(values.iter().map(|v| Some(v.ty())))
}

impl WasmValue {
    /// Its type.
    pub fn ty(&self) -> WasmType {
        match self {
            WasmValue::I32(_) => WasmType::I32,
            WasmValue::I64(_) => WasmType::I64,
            WasmValue::F32(_) => WasmType::F32,
            WasmValue::F64(_) => WasmType::F64,
        }
    }
}
