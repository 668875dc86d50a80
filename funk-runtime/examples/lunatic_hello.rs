//! Builds the Lunatic program in `examples/lunatic-hello` for wasm32-wasip1
//! and runs it on funk-runtime through the embedding API:
//!
//! ```sh
//! cargo run -p funk-runtime --example lunatic_hello            # Wasmtime
//! cargo run -p funk-runtime --example lunatic_hello -- wasmer  # Wasmer
//! ```

use std::path::Path;
use std::process::Command;

use funk_runtime::{EngineKind, ProcessConfig, Runtime};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine: EngineKind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "wasmtime".into())
        .parse()?;
    let wasm = build_guest()?;
    println!("running {} on {engine}", wasm.display());

    let runtime = Runtime::builder().engine(engine).build()?;
    let module = runtime.compile(&std::fs::read(&wasm)?)?;
    let mut config = ProcessConfig::privileged();
    config.args = vec!["lunatic-hello.wasm".into()];
    let process = runtime.spawn(&module, "_start", config)?;
    let exit = process.wait().await;
    println!("process {} {}", exit.id, exit.status);
    std::process::exit(exit.status.code());
}

/// `cargo build --target wasm32-wasip1` of the guest crate, into a target
/// directory of its own.
fn build_guest() -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lunatic-hello");
    let target_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/lunatic-hello");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip1",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .status()?;
    if !status.success() {
        return Err(format!(
            "building the guest failed ({status}); is the target installed? rustup target add wasm32-wasip1"
        )
        .into());
    }
    Ok(target_dir.join("wasm32-wasip1/release/lunatic-hello.wasm"))
}
