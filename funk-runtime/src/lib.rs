//! funk-runtime: a Lunatic-compatible actor runtime built on funk.
//!
//! Programs written for Lunatic with the crates.io `lunatic` guest crate
//! run on it unmodified, on Wasmtime or on Wasmer. A *process* is one guest
//! instance in a store of its own, driven as a future on tokio; processes
//! share nothing and talk by messages, links and monitors.
//!
//! The crate has two layers. The core ([`process`], [`mailbox`],
//! [`message`], [`node`], [`registry`], [`timer`], [`lifecycle`]) is plain
//! Rust that tests drive without any wasm. The `api` blocks (private) are
//! `#[funk::host_functions]` translating the guest ABI into calls on the
//! core, and [`engine`] connects them to Wasmtime or Wasmer.
//!
//! Embedding: build a [`Runtime`], [`compile`](Runtime::compile) a module,
//! [`spawn`](Runtime::spawn) a process and [`wait`](ProcessHandle::wait)
//! for its exit; add your own host functions to every process with
//! [`RuntimeBuilder::host_functions`].

#![warn(missing_docs)]

pub(crate) mod api;
pub mod config;
pub mod engine;
mod extension;
pub mod lifecycle;
pub mod mailbox;
pub mod message;
pub mod node;
pub mod outcome;
pub mod preempt;
pub mod process;
pub mod registry;
mod runtime;
pub mod scheduler;
pub mod state;
pub mod timer;
pub mod wasi;

pub use config::{GrantedDir, Preopen, ProcessConfig};
pub use engine::{EngineKind, Preemption};
pub use extension::Linkable;
pub use lifecycle::SpawnError;
pub use node::Node;
pub use outcome::{Exit, ExitStatus, ProcessExit};
pub use process::{Process, ProcessId};
pub use runtime::{
    BuildError, Module, Pooling, ProcessHandle, Runtime, RuntimeBuilder, Settings, Spawn,
};
pub use scheduler::Scheduler;
pub use state::{ProcessState, Stdio};
