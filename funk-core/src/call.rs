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
    /// Whether the shim needs guest memory; backends skip the lookup when not.
    pub memory: bool,
}

/// A backend's ability to define a host function with flat parameters `P`
/// and flat results `R` for state `S`.
#[diagnostic::on_unimplemented(
    message = "this engine cannot define a host function with wasm parameters `{P}` and results `{R}`",
    note = "the flattened signature (arguments + out-pointers) exceeds what the engine's typed API accepts: Wasmtime takes at most 17 parameters, Wasmer 26; pass a record or iovec pointer instead of many scalars"
)]
pub trait Define<S, P: AbiList, R: AbiList> {
    /// Defines `info.namespace`/`info.name` as `shim`.
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

/// Runs a host method, turning a panic into a trap that names `function`.
#[inline(always)]
pub fn catch_panic<R>(function: &'static str, f: impl FnOnce() -> R) -> Result<R, Trap> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| Trap::panic(function, p))
}
