//! The seam for `async` host functions.
//!
//! An async method becomes an [`AsyncShim`]: given an [`AsyncHost`] (the
//! backend's handle on the suspended call, which can produce the guest
//! memory and the host state again after every `.await`) and the flat wasm
//! arguments, it returns a `Send` future of the flat results. The future
//! copies the arguments in ([`LiftAsync`](crate::LiftAsync)), awaits the
//! method, writes `&mut` arguments back and lowers the result. A backend
//! defines it through [`DefineAsync`] and runs it with [`run_async_shim`].

use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::abi::{AbiList, WasmValue};
use crate::call::{Call, ShimInfo};
use crate::error::{LinkError, Trap};
use crate::reenter::GuestCallFuture;

/// A backend's handle on one suspended guest call, from which an async shim
/// reaches guest memory and host state before and after each `.await`.
pub trait AsyncHost<S>: Send {
    /// Guest memory (when the function needs it) and host state, for
    /// copying arguments in or results out. Never held across an `.await`.
    fn call(&mut self) -> Call<'_, S>;
    /// The host state, lent to the method for the whole of its future.
    fn state(&mut self) -> &mut S;
    /// Calls the guest's export `name` (see [`GuestCx`](crate::GuestCx)).
    fn call_export<'a>(
        &'a mut self,
        name: &'a str,
        args: &'a [WasmValue],
        results: &'a mut [WasmValue],
    ) -> GuestCallFuture<'a>;
}

/// The generated shim of one async method: a unit type, like
/// [`Shim`](crate::call::Shim).
pub trait AsyncShim<S>: ShimInfo {
    /// The flat wasm parameters, out-pointers included.
    type Params: AbiList;
    /// The flat wasm results.
    type Results: AbiList;
    /// Runs the method for one guest call.
    fn call<'h, H>(
        host: H,
        args: Self::Params,
    ) -> impl Future<Output = Result<Self::Results, Trap>> + Send + 'h
    where
        H: AsyncHost<S> + 'h;
}

/// A backend's ability to define an async host function with flat
/// parameters `P` and results `R` for state `S`.
#[diagnostic::on_unimplemented(
    message = "this engine cannot define an async host function with wasm parameters `{P}` and results `{R}`",
    note = "on Wasmtime the store data must be `Send`; every flat signature of wasm number types with at most two results is supported"
)]
pub trait DefineAsync<S, P: AbiList, R: AbiList> {
    /// Defines `F::INFO.namespace`/`F::INFO.name` as the shim `F`. The
    /// backend must drive the shim's future through [`run_async_shim`].
    fn define_async<F>(&mut self, shim: F) -> Result<(), LinkError>
    where
        F: AsyncShim<S, Params = P, Results = R>;
}

/// Drives an async shim's future, turning a panic in any poll into a trap
/// that names the function, as [`run_shim`](crate::call::run_shim) does for
/// synchronous ones (unless `I::INFO.catch_panics` is off: then the panic
/// unwinds to the engine, which carries it to the embedder).
#[inline(always)]
pub fn run_async_shim<I: ShimInfo, F>(future: F) -> GuardedShim<I, F> {
    GuardedShim {
        future,
        _info: PhantomData,
    }
}

/// The future of [`run_async_shim`]. Written by hand rather than as an
/// `async fn`: each `async` layer around the shim's own future costs a copy
/// of its state and its output per poll, which showed in the benchmarks.
#[derive(Debug)]
pub struct GuardedShim<I, F> {
    future: F,
    _info: PhantomData<fn() -> I>,
}

impl<I, F, R> Future for GuardedShim<I, F>
where
    I: ShimInfo,
    F: Future<Output = Result<R, Trap>>,
{
    type Output = Result<R, Trap>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R, Trap>> {
        // SAFETY: `future` is pinned structurally: it is never moved out of
        // `self` or reached unpinned, `GuardedShim` has no `Drop` impl and is
        // `Unpin` only when `F` is (`PhantomData<fn() -> I>` is `Unpin`).
        let future = unsafe { self.map_unchecked_mut(|this| &mut this.future) };
        if !I::INFO.catch_panics {
            return future.poll(cx);
        }
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => Poll::Ready(Err(Trap::panic(I::INFO.qualified, payload))),
        }
    }
}

/// Implemented by every `Send` future: the bound the generated code puts on
/// an async method's future. Rust reports a missing `Send` with its own
/// error (naming the value held across an `.await`); the names here are
/// what its "required by a bound" note shows.
pub trait AsyncHostFunctionFuture: Future + Send {}

impl<F: Future + Send> AsyncHostFunctionFuture for F {}

/// Identity. The future of an async host function must be `Send`: Wasmtime
/// may resume a suspended guest on another thread, and funk's Wasmer guest
/// threads poll it from the task awaiting the call.
#[inline(always)]
pub fn async_host_function_futures_must_be_send<F: AsyncHostFunctionFuture>(future: F) -> F {
    future
}
