//! `funk`: runs Lunatic programs on funk-runtime.
//!
//! ```text
//! funk run [--engine wasmtime|wasmer] [--dir HOST[::GUEST]] [--env K=V] app.wasm [args...]
//! funk test [--engine ...] tests.wasm [libtest arguments...]
//! ```
//!
//! As a cargo runner (`runner = "funk run"`), `funk run` recognises a test
//! binary (a `.wasm` under `target/<wasm target>/<profile>/deps/`) and runs
//! its `#[lunatic::test]` functions, each as its own process.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
