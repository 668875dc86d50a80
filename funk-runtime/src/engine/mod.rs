//! Engines: the seam between the runtime and Wasmtime or Wasmer.
//!
//! The rest of the runtime never names an engine. It compiles modules
//! through the `Engine` trait and starts a process through
//! `Module::start`, which instantiates the module in a store of its own
//! with the process's state (every host-function block linked) and returns
//! the future that calls the entry function and reports an [`Outcome`]. A
//! module is compiled (and, on Wasmtime, pre-linked) once; spawning never
//! compiles again.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;

use crate::outcome::Outcome;
use crate::state::ProcessState;

#[cfg(feature = "wasmer")]
pub(crate) mod wasmer;
#[cfg(feature = "wasmtime")]
pub(crate) mod wasmtime;

#[cfg(feature = "wasmtime")]
mod epoch;
mod imports;
mod limits;
pub mod preemption;
// `MADV_DONTNEED`'s zero-fill is Linux's; elsewhere Wasmtime's own stacks.
#[cfg(all(feature = "wasmtime", any(target_os = "linux", target_os = "android")))]
mod stacks;

pub(crate) use imports::ImportPlan;
pub use limits::MemoryLimit;
pub use preemption::Preemption;

/// The engine a runtime runs its guests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// Wasmtime 48: guests run on fibers on the executor's threads.
    Wasmtime,
    /// Wasmer 7.4: each process runs on a `funk::wasmer::GuestThread`.
    Wasmer,
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Wasmtime => "wasmtime",
            EngineKind::Wasmer => "wasmer",
        })
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "wasmtime" => Ok(EngineKind::Wasmtime),
            "wasmer" => Ok(EngineKind::Wasmer),
            other => Err(format!(
                "unknown engine `{other}` (expected `wasmtime` or `wasmer`)"
            )),
        }
    }
}

/// A wasm value type, as a function signature lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `v128`
    V128,
    /// A reference type.
    Ref,
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::I32 => "i32",
            ValueType::I64 => "i64",
            ValueType::F32 => "f32",
            ValueType::F64 => "f64",
            ValueType::V128 => "v128",
            ValueType::Ref => "ref",
        })
    }
}

/// An argument of a process's entry function: what `spawn` can pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryValue {
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `v128`
    V128(u128),
}

impl EntryValue {
    /// Its type.
    pub fn ty(&self) -> ValueType {
        match self {
            EntryValue::I32(_) => ValueType::I32,
            EntryValue::I64(_) => ValueType::I64,
            EntryValue::V128(_) => ValueType::V128,
        }
    }
}

/// An exported function's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionType {
    /// Parameter types.
    pub params: Vec<ValueType>,
    /// Result types.
    pub results: Vec<ValueType>,
}

/// A module could not be compiled or linked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CompileError(pub String);

/// An engine: compiles modules for the runtime.
pub(crate) trait Engine: Send + Sync + 'static {
    /// Compiles and pre-links `wasm`.
    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn Module>, CompileError>;
}

/// A compiled module processes are spawned from.
pub(crate) trait Module: Send + Sync + 'static {
    /// A runtime-wide id, distinct for every compiled module.
    fn id(&self) -> u64;
    /// The signature of the exported function `name`, if there is one.
    fn function(&self, name: &str) -> Option<FunctionType>;
    /// The names of all exported functions.
    fn function_names(&self) -> Vec<String>;
    /// Instantiates the module with `state` in a store of its own and
    /// returns the future that calls `entry` with `args`. `Err` (why) when
    /// the process cannot be made: instantiating it hit a resource limit
    /// (memory, address space, a full pool, threads) or its start
    /// function failed. The spawner hears of it; no process ran.
    fn start(
        self: Arc<Self>,
        state: ProcessState,
        entry: String,
        args: Vec<EntryValue>,
    ) -> Result<BoxFuture<'static, Outcome>, String>;
}

/// Builds the engine `settings` ask for, with the embedder's blocks.
pub(crate) fn build(
    settings: &crate::runtime::Settings,
    extensions: &crate::extension::ExtensionSet,
) -> Result<Box<dyn Engine>, crate::runtime::BuildError> {
    match settings.engine {
        #[cfg(feature = "wasmtime")]
        EngineKind::Wasmtime => Ok(Box::new(wasmtime::WasmtimeEngine::new(
            settings, extensions,
        )?)),
        #[cfg(feature = "wasmer")]
        EngineKind::Wasmer => Ok(Box::new(wasmer::WasmerEngine::new(settings, extensions)?)),
        #[allow(unreachable_patterns)]
        other => Err(crate::runtime::BuildError::EngineNotBuilt(other)),
    }
}

static NEXT_MODULE_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh module id.
pub(crate) fn next_module_id() -> u64 {
    NEXT_MODULE_ID.fetch_add(1, Ordering::Relaxed)
}

/// Checks `args` against the entry function's signature; the message says
/// what does not match.
pub(crate) fn check_entry(
    module: &dyn Module,
    entry: &str,
    args: &[EntryValue],
) -> Result<(), String> {
    let Some(ty) = module.function(entry) else {
        return Err(format!("the module exports no function `{entry}`"));
    };
    let given: Vec<ValueType> = args.iter().map(EntryValue::ty).collect();
    if ty.params != given || !ty.results.is_empty() {
        return Err(format!(
            "function `{entry}` has type ({}) -> ({}), but a process entry must take ({}) and return nothing",
            list(&ty.params),
            list(&ty.results),
            list(&given),
        ));
    }
    Ok(())
}

fn list(types: &[ValueType]) -> String {
    types
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
