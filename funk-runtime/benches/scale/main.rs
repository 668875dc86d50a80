//! Scale: how many processes fit, and what each costs.
//!
//! ```sh
//! cargo bench -p funk-runtime --bench scale -- lunatic 100000 [wasmtime|wasmer] [ROUNDS]
//! cargo bench -p funk-runtime --bench scale -- minimal 1000000
//! FUNK_BENCH_SCHEDULER=local cargo bench -p funk-runtime --bench scale -- lunatic 100000
//! ```
//!
//! `lunatic N`: the bench guest (crates.io `lunatic` crate) spawns N
//! processes that each block in `receive`; at that point the host reads its
//! resident memory and memory-mapping count; then every process answers one
//! message and exits, and the host reads its memory again; ROUNDS runs
//! repeat that, to tell memory kept for reuse from memory leaked.
//!
//! `minimal N`: N processes of a hand-written WAT module (one page of
//! memory) spawned by the host, each blocked in `receive`, then messaged
//! and joined.

#[path = "../../../tests/support/guest_build.rs"]
mod guest_build;
#[path = "../support/program.rs"]
#[allow(dead_code)]
mod program;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use funk_runtime::message::{DataMessage, Message};
use funk_runtime::wasi::Output;
use funk_runtime::{EngineKind, ExitStatus, ProcessConfig, Runtime, Scheduler, Settings};
use program::{program_config, spawn_program};
use tokio::sync::Notify;

/// The `bench` namespace: `ready` tells the host the guest spawned
/// everything, and waits for the host to go on.
struct Bench {
    reached: Arc<Notify>,
    go: Arc<Notify>,
}

#[funk::host_functions(namespace = "bench")]
impl Bench {
    async fn ready(&mut self) {
        self.reached.notify_one();
        self.go.notified().await;
    }
}

/// Resident memory and mapping count of this process.
fn memory() -> (u64, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss_kib = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let maps = std::fs::read_to_string("/proc/self/maps")
        .map(|m| m.lines().count())
        .unwrap_or(0);
    (rss_kib, maps)
}

/// Resident memory and mappings once the exited processes' tasks have
/// dropped their stores: when the mapping count stops falling (at most
/// 30 s).
async fn settled_memory() -> (u64, usize) {
    let mut last = memory();
    for _ in 0..150 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let now = memory();
        if now.1 == last.1 {
            return now;
        }
        last = now;
    }
    last
}

/// Asks glibc's allocator to return the free memory it keeps for reuse to
/// the OS, and reads the resident memory after: what is still resident is
/// memory in use, not memory kept.
fn trim_heap() -> u64 {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: `malloc_trim` is glibc's, takes a byte count and only
    // releases free memory back to the OS; it touches no Rust object.
    unsafe { malloc_trim(0) };
    memory().0
}

/// The runtime's settings: the defaults, or with
/// `FUNK_BENCH_RESERVATION_MIB=M` an address-space reservation of M MiB per
/// process's memory ([`Settings::memory_reservation`]).
/// The runtime's settings; `FUNK_BENCH_SCHEDULER=local` runs processes
/// on funk's local workers (as `funk run` does) instead of tokio's.
fn settings(engine: EngineKind) -> Settings {
    let scheduler = match std::env::var("FUNK_BENCH_SCHEDULER").ok().as_deref() {
        Some("local") => Scheduler::Local { workers: None },
        _ => Scheduler::Tokio,
    };
    Settings {
        engine,
        max_processes: 2_000_000,
        memory_reservation: program::memory_reservation_from_env(),
        scheduler,
        ..Settings::default()
    }
}

async fn lunatic(engine: EngineKind, n: u64, rounds: u32) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = guest_build::build(
        &root.join("benches/guests/lunatic-bench/Cargo.toml"),
        "wasm32-wasip1",
        true,
        &root.join("../target/funk-runtime-bench-guests"),
    );
    let wasm = std::fs::read(out.join("lunatic-bench.wasm")).unwrap();
    let reached = Arc::new(Notify::new());
    let go = Arc::new(Notify::new());
    let (r, g) = (reached.clone(), go.clone());
    let runtime = Runtime::builder()
        .settings(settings(engine))
        .host_functions(move |_| Bench {
            reached: r.clone(),
            go: g.clone(),
        })
        .build()
        .unwrap();
    let module = runtime.compile(&wasm).unwrap();
    for round in 1..=rounds {
        if !lunatic_round(&runtime, &module, &reached, &go, n, round).await {
            return;
        }
    }
}

/// One run of the guest's `idle N`; false if it stopped early.
async fn lunatic_round(
    runtime: &Runtime,
    module: &funk_runtime::Module,
    reached: &Notify,
    go: &Notify,
    n: u64,
    round: u32,
) -> bool {
    let engine = runtime.engine();
    let (before, maps_before) = memory();
    let (stdout, captured) = Output::capture();
    let config = program_config("lunatic-bench", &["idle", &n.to_string()]);
    let start = Instant::now();
    let process = spawn_program(runtime, module, config, stdout);
    let exit = process.wait();
    tokio::pin!(exit);
    tokio::select! {
        _ = reached.notified() => {}
        exit = &mut exit => {
            let text = String::from_utf8_lossy(&captured.contents()).into_owned();
            println!("{engine}: stopped before all {n} processes were spawned: {} after {:?}\n{text}", exit.status, start.elapsed());
            return false;
        }
    }
    let spawned = start.elapsed();
    let (during, maps_during) = memory();
    go.notify_one();
    let exit = exit.await;
    let text = String::from_utf8_lossy(&captured.contents()).into_owned();
    assert!(
        matches!(exit.status, ExitStatus::Returned | ExitStatus::Exited(0)),
        "{}: {text}",
        exit.status
    );
    let (after, maps_after) = settled_memory().await;
    let left = runtime.node().process_count();
    let trimmed = trim_heap();
    println!(
        "{engine} round {round}: {n} lunatic processes spawned in {spawned:?}; RSS {before} KiB -> {during} KiB ({:.1} KiB per process) -> {after} KiB after they exited; mappings {maps_before} -> {maps_during} -> {maps_after}; {left} processes left on the node; RSS {trimmed} KiB once the allocator returned its free memory",
        (during.saturating_sub(before)) as f64 / n as f64
    );
    print!("{text}");
    true
}

const MINIMAL: &str = r#"(module
  (import "lunatic::message" "receive" (func $receive (param i32 i32 i64) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "wait")
    (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))))"#;

async fn minimal(engine: EngineKind, n: u64) {
    let runtime = Runtime::builder()
        .settings(settings(engine))
        .build()
        .unwrap();
    let module = runtime.compile(MINIMAL.as_bytes()).unwrap();
    let (before, maps_before) = memory();
    let start = Instant::now();
    let mut processes = Vec::with_capacity(n as usize);
    for i in 0..n {
        match runtime.spawn(&module, "wait", ProcessConfig::default()) {
            Ok(p) => processes.push(p),
            Err(e) => {
                println!("{engine}: spawn {i} failed: {e}");
                break;
            }
        }
    }
    let spawned = start.elapsed();
    // Let every process reach its receive.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (during, maps_during) = memory();
    let start = Instant::now();
    for p in &processes {
        p.process().send(Message::Data(DataMessage::new(0, 0)));
    }
    let count = processes.len();
    let mut failed = 0;
    for p in processes {
        if !matches!(p.wait().await.status, ExitStatus::Returned) {
            failed += 1;
        }
    }
    let joined = start.elapsed();
    let (after, maps_after) = settled_memory().await;
    let trimmed = trim_heap();
    println!(
        "{engine}: {count} minimal processes spawned in {spawned:?}, messaged and joined in {joined:?} ({failed} failed); RSS {before} KiB -> {during} KiB ({:.2} KiB per process) -> {after} KiB, {trimmed} KiB once the allocator returned its free memory; mappings {maps_before} -> {maps_during} -> {maps_after}",
        (during.saturating_sub(before)) as f64 / count.max(1) as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let what = args.first().map(String::as_str).unwrap_or("lunatic");
    let n: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let engine: EngineKind = args
        .get(2)
        .map(|e| e.parse().unwrap())
        .unwrap_or(EngineKind::Wasmtime);
    let rounds: u32 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1);
    let executor = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    executor.block_on(async {
        match what {
            "lunatic" => lunatic(engine, n, rounds).await,
            "minimal" => minimal(engine, n).await,
            other => panic!("unknown run `{other}` (lunatic or minimal)"),
        }
    });
}
