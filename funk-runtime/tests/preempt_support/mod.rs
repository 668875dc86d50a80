//! Shared by the preemption pass's integration tests: run a module, original and
//! instrumented, and compare what each run shows.
#![allow(dead_code)] // each test crate uses a different part

pub mod observe;
pub mod smith;
pub mod wasmer_run;
pub mod wasmtime_run;
