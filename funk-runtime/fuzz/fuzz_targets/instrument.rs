//! Fuzz the preemption pass: a wasm-smith module made from the input must validate
//! after instrumentation and compute exactly what it computed before (results, traps,
//! exported state), on Wasmtime, with a yield import that refills a small budget.
//!
//! Run: `cargo +nightly fuzz run instrument -s none` from `funk-runtime/`. Inputs worth
//! keeping go to `seeds/instrument/`, which a stable test replays.

#![no_main]

// The test harness's oracle, shared: the parts the fuzz target does not call are
// for the stable tests.
#[allow(dead_code)]
#[path = "../../tests/preempt_support/observe.rs"]
mod observe;
#[allow(dead_code)]
#[path = "../../tests/preempt_support/smith.rs"]
mod smith;
#[allow(dead_code)]
#[path = "../../tests/preempt_support/wasmtime_run.rs"]
mod wasmtime_run;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static ENGINE: OnceLock<wasmtime::Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(wasmtime_run::engine);
    let Ok(wasm) = smith::module(&mut arbitrary::Unstructured::new(data)) else {
        return;
    };
    let plan = observe::Plan::every_export(smith::refill_of_seed(data.len() as u64));
    if let Err(e) = wasmtime_run::differential(engine, &wasm, &plan, &wasmtime_run::no_imports) {
        panic!("{e}");
    }
});
