//! The seam between generated shims and engine backends.
//!
//! `#[host_functions]` turns each method into a *shim*: a plain function from
//! a [`Call`] (guest memory + host state) and the flat wasm arguments to the
//! flat wasm results. It hands the shims to a backend through [`Define`],
//! once per method, from its [`HostFunctions`] impl. A backend implements
//! `Define` for every flat signature its engine's typed API can express, so
//! the engine calls straight into the shim with no dynamic dispatch.

use crate::abi::AbiList;
use crate::error::{LinkError, Trap};
use crate::memory::GuestMemory;

/// What a shim receives besides the wasm arguments.
#[derive(Debug)]
pub struct Call<'c, S> {
    memory: GuestMemory<'c>,
    state: &'c mut S,
}

impl<'c, S> Call<'c, S> {
    /// Bundles the guest memory and host state of one call.
    pub fn new(memory: GuestMemory<'c>, state: &'c mut S) -> Self {
        Call { memory, state }
    }

    /// The memory and the state.
    pub fn into_parts(self) -> (GuestMemory<'c>, &'c mut S) {
        (self.memory, self.state)
    }
}

/// Static facts about one host function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfo {
    /// Import module name.
    pub namespace: &'static str,
    /// Import field name.
    pub name: &'static str,
    /// `namespace::name`, as trap messages show it.
    pub qualified: &'static str,
    /// Whether the method is `async`: the engine must run the guest
    /// asynchronously (Wasmtime's `call_async`, funk-wasmer's `call_async`).
    pub asynchronous: bool,
    /// Whether the shim needs guest memory; backends skip the lookup when not.
    pub memory: bool,
}

/// A backend's ability to define a host function with flat parameters `P`
/// and flat results `R` for state `S`.
#[diagnostic::on_unimplemented(
    message = "this engine cannot define a host function with wasm parameters `{P}` and results `{R}`",
    note = "every flat signature of wasm number types with at most two results is supported; check that each parameter's `Lift::Abi` is made of `i32`, `u32`, `i64`, `u64`, `f32` or `f64`",
    note = "a `_` in the parameters or results means one of the function's parameter or return types is unsupported; this error follows from that one, so fix the error reported on the type first"
)]
pub trait Define<S, P: AbiList, R: AbiList> {
    /// Defines `info.namespace`/`info.name` as `shim`.
    ///
    /// The backend must run the shim through [`run_shim`], so that a panic
    /// anywhere in it (lifting, the method, lowering) becomes a trap.
    fn define<F>(&mut self, info: &'static FuncInfo, shim: F) -> Result<(), LinkError>
    where
        F: for<'c> Fn(Call<'c, S>, P) -> Result<R, Trap> + Copy + Send + Sync + 'static;
}

/// Implemented by `#[host_functions]` for the state type: defines every
/// exported method with linker `L`.
pub trait HostFunctions<L>: HostApi {
    /// Defines all functions of the block.
    fn define_all(linker: &mut L) -> Result<(), LinkError>;
}

/// The list of functions a `#[host_functions]` block exports.
pub trait HostApi {
    /// Every exported function, in declaration order.
    const FUNCTIONS: &'static [FuncInfo];
}

/// Runs a shim, turning a panic anywhere in it into a trap that names the
/// function. Unwinding stops here, never inside the engine.
#[inline(always)]
pub fn run_shim<R>(
    info: &'static FuncInfo,
    shim: impl FnOnce() -> Result<R, Trap>,
) -> Result<R, Trap> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(shim)) {
        Ok(result) => result,
        Err(payload) => Err(Trap::panic(info.qualified, payload)),
    }
}
