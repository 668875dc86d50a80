//! Preemption by yield injection: a wasm-to-wasm pass that makes a guest count its
//! own work and call the host when a slice is spent.
//!
//! An actor runtime must keep serving when one process spins, on Wasmtime and on
//! Wasmer alike, and Wasmer has no resumable metering of its own. [`instrument`]
//! rewrites a module once, when it is compiled, so that every instance:
//!
//! - keeps a *budget* in a new mutable `i64` global, which starts at
//!   [`Options::initial_budget`] and is exported as [`Options::budget_export`];
//! - takes the cost of the code it is about to run off the budget: on entering a
//!   function and on each iteration of a loop, the number of operators of that
//!   function or loop body (nested loops excluded, both arms of an `if` included);
//! - at loop headers and at the entry of functions that call, calls the imported
//!   *yield* function, `(func (param i64) (result i64))` named by
//!   [`Options::import_module`] and [`Options::import_name`], when the budget is zero
//!   or less. The argument is what is left (zero or less: the overdraft); the result
//!   becomes the new budget.
//!
//! Everything else computes exactly as before: the pass only adds a type, the import,
//! the global, a small slow-path function (which calls the import) and, in functions
//! with loops, one `i64` local that holds the budget while the function runs; the
//! added code touches only these.
//!
//! # What the host does with it
//!
//! - **Preemption**: the yield import is an async host function that yields to the
//!   executor and returns the next slice's budget. After a yield the guest reaches the
//!   next one once it has been charged the budget, plus an overdraft bounded by the
//!   code itself: the charge that crossed zero (one loop body or function body) and
//!   the charges of loop-free, call-free functions called since the last check.
//! - **Compute limits** (Lunatic's `max_fuel`, in units of 100 000 reductions): a
//!   [`Meter`] adds up what each slice consumed, cuts the last slice to what the limit
//!   leaves, and says when to trap instead of returning.
//! - **Kill**: the yield import traps when the process was killed; a spinning guest
//!   reaches it within a slice.
//! - **Accounting on exit**: when the guest returns, `Meter::consumed` of the exported
//!   budget global gives the total, the unfinished slice included. After a trap the
//!   global may lag by what the trapping function charged since its last call, return
//!   or yield (a function with loops writes its local back only then).
//!
//! # The cost model
//!
//! One reduction is one wasm operator. A function body and each loop body is a
//! *region*; its whole operator count is charged when control enters it. In wasm only
//! a branch to a `loop` goes backwards, so between two entries of a region none of its
//! operators runs twice: the budget charged is an upper bound of the operators run,
//! exact for straight-line code, and off by the code an `if` or an early branch skips.
//! A function that neither loops nor calls is charged but not checked: it returns to
//! a caller that checks soon. Host functions and the length of bulk memory operations
//! are not counted (`memory.fill` of a gigabyte is one reduction).
//!
//! Per loop iteration the fast path is six register instructions (subtract, compare,
//! a branch not taken); a function with loops also stores the budget before each call
//! and way out and reloads it after each call. A function without loops works on the
//! global: per call to one that calls, a load, subtract, store, compare and branch;
//! per call to a leaf, the load, subtract and store. Code grows by about 10-13% on
//! Rust-compiled modules. See `inject.rs` for the exact sequences.
//!
//! # What it supports
//!
//! Core modules using the standardised proposals (bulk memory, reference types,
//! multi-value, SIMD, threads, tail calls, exceptions, legacy exceptions, GC,
//! memory64, multi-memory, extended constants): everything Rust emits for
//! `wasm32-unknown-unknown` and `wasm32-wasip1`. Stack switching and components are
//! refused with an [`InstrumentError::Invalid`]. Instrumenting twice is refused
//! ([`InstrumentError::ImportTaken`]). The name section is kept with the indices
//! moved; DWARF and branch hints are dropped because their code offsets change.
//!
//! # Example
//!
//! A loop whose body has seven operators (its `end` included) is charged seven
//! reductions per iteration, so slices of 700 reductions yield every 100 iterations:
//!
//! ```
//! use funk_runtime::preempt::{self, Options};
//! use wasmtime::{Caller, Engine, Instance, Module, Store, Func};
//!
//! let wasm = wat::parse_str(r#"
//!     (module
//!       (func (export "spin") (param $n i32) (result i32)
//!         (loop $again
//!           (local.set $n (i32.sub (local.get $n) (i32.const 1)))
//!           (br_if $again (local.get $n)))
//!         (local.get $n)))
//! "#)?;
//! let options = Options { initial_budget: 700, ..Options::default() };
//! let wasm = preempt::instrument(&wasm, &options)?;
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, &wasm)?;
//! let mut store = Store::new(&engine, 0u32);
//! let yield_ = Func::wrap(&mut store, |mut caller: Caller<'_, u32>, left: i64| -> i64 {
//!     assert!(left <= 0);
//!     *caller.data_mut() += 1; // a runtime would await its executor here
//!     700
//! });
//! let instance = Instance::new(&mut store, &module, &[yield_.into()])?;
//! let spin = instance.get_typed_func::<i32, i32>(&mut store, "spin")?;
//! assert_eq!(spin.call(&mut store, 10_000)?, 0);
//! assert_eq!(*store.data(), 100);
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```

mod body;
mod cost;
mod error;
mod inject;
mod meter;
mod module;
mod options;
mod scan;

pub use error::InstrumentError;
pub use meter::Meter;
pub use options::{
    DEFAULT_BUDGET, DEFAULT_BUDGET_EXPORT, DEFAULT_IMPORT_MODULE, DEFAULT_IMPORT_NAME, Options,
};

/// Instruments `wasm` (a core module in the binary format) with a reduction counter
/// and calls to the yield import; see the [module documentation](self).
///
/// The input is validated first; the output validates whenever the input does and
/// computes the same results and traps, given a yield import that returns a positive
/// budget.
pub fn instrument(wasm: &[u8], options: &Options) -> Result<Vec<u8>, InstrumentError> {
    let (facts, bodies) = scan::scan(wasm, options)?;
    Ok(module::Instrumenter::new(options, &facts, bodies).run(wasm)?)
}
