//! WASI file and stdout throughput: funk's `wasi_snapshot_preview1` (through
//! `funk_runtime::Runtime`, on Wasmtime and on Wasmer) against
//! `wasmtime-wasi`'s preview 1 on the same Wasmtime engine, running one
//! Rust `std` guest (tests/guests/wasi-std):
//!
//! - `bench-file`: write a 100 MiB file in 64 KiB chunks, then read it back
//!   in 64 KiB chunks (`fd_write` / `fd_read` on a file beneath a preopen);
//! - `bench-lines`: 200 000 `fd_write`s of one short line each to stdout
//!   (discarded).
//!
//! Run with `cargo bench -p funk-runtime --all-features --bench wasi_io`
//! (add `--profile dev` to reuse the test build); each case runs three
//! times and the best time, from instantiation to exit, is printed. Set
//! `FUNK_WASI_BENCH_MIB` for another file size.

#[path = "support/program.rs"]
#[allow(dead_code)]
mod program;
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use funk_runtime::wasi::Output;
use funk_runtime::{EngineKind, ExitStatus, Preopen, Runtime};
use program::{program_config, spawn_program};

/// The std guest, built for wasm32-wasip1 in release.
fn guest() -> Vec<u8> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = crate_dir.join("tests/guests/wasi-std/Cargo.toml");
    let target_dir = crate_dir.join("../target/wasi-guest");
    let wasm = support::build(&manifest, support::TARGET, true, &target_dir)
        .join("funk-wasi-std-guest.wasm");
    std::fs::read(wasm).unwrap()
}

/// Runs `args` of the guest on funk's runtime with `data` preopened as
/// `/data`, stdout discarded; returns the time from spawn to exit.
async fn funk(engine: EngineKind, wasm: &[u8], args: &[&str], data: &Path) -> Duration {
    let runtime = Runtime::builder().engine(engine).build().unwrap();
    let module = runtime.compile(wasm).unwrap();
    let (program, args) = args.split_first().expect("a program name");
    let mut config = program_config(program, args);
    config.preopens = vec![Preopen {
        host: data.to_path_buf(),
        guest: "/data".into(),
    }];
    let started = Instant::now();
    let exit = spawn_program(&runtime, &module, config, Output::null())
        .wait()
        .await;
    let elapsed = started.elapsed();
    assert!(
        matches!(exit.status, ExitStatus::Returned | ExitStatus::Exited(0)),
        "{engine:?}: {:?}",
        exit.status
    );
    elapsed
}

/// The same on `wasmtime-wasi` (async preview 1, stdout a sink).
async fn reference(wasm: &[u8], args: &[&str], data: &Path) -> Duration {
    use wasmtime_wasi::p1::{self, WasiP1Ctx};
    use wasmtime_wasi::p2::pipe::SinkOutputStream;
    use wasmtime_wasi::{FsPerms, WasiCtxBuilder};
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, wasm).unwrap();
    let mut linker = wasmtime::Linker::<WasiP1Ctx>::new(&engine);
    p1::add_to_linker_async(&mut linker, |ctx| ctx).unwrap();
    let mut builder = WasiCtxBuilder::new();
    builder.args(args).stdout(SinkOutputStream).inherit_stderr();
    builder
        .preopened_dir(data, "/data", FsPerms::ReadWrite)
        .unwrap();
    let started = Instant::now();
    let mut store = wasmtime::Store::new(&engine, builder.build_p1());
    let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    start.call_async(&mut store, ()).await.unwrap();
    started.elapsed()
}

/// A fresh directory for one case's file.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("funk-wasi-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let wasm = guest();
    let mib = std::env::var("FUNK_WASI_BENCH_MIB").unwrap_or_else(|_| "100".into());
    let cases: [(&str, Vec<&str>); 2] = [
        ("file", vec!["guest.wasm", "bench-file", &mib]),
        ("lines", vec!["guest.wasm", "bench-lines", "200000"]),
    ];
    for (name, args) in &cases {
        let dir = scratch(name);
        let mut best = [Duration::MAX; 3];
        for _ in 0..3 {
            let times = [
                reference(&wasm, args, &dir).await,
                funk(EngineKind::Wasmtime, &wasm, args, &dir).await,
                funk(EngineKind::Wasmer, &wasm, args, &dir).await,
            ];
            for (best, time) in best.iter_mut().zip(times) {
                *best = (*best).min(time);
            }
        }
        println!(
            "{name} ({}): wasmtime-wasi {:?}, funk on Wasmtime {:?} ({:.2}x), funk on Wasmer {:?} ({:.2}x)",
            args[2..].join(" "),
            best[0],
            best[1],
            best[1].as_secs_f64() / best[0].as_secs_f64(),
            best[2],
            best[2].as_secs_f64() / best[0].as_secs_f64(),
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
