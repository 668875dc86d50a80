//! Runtime benchmarks: spawn + join, ping-pong, a ring of 1000 processes,
//! many-to-one throughput and fan-out, with guests written with the
//! crates.io `lunatic` crate (benches/guests/lunatic-bench, built here for
//! wasm32-wasip1 in release), on both engines, next to the floor: plain
//! tokio tasks with unbounded channels, no wasm, on a multi-thread and a
//! current-thread runtime, measured in the same run.
//!
//! ```sh
//! cargo bench -p funk-runtime --bench runtime            # everything
//! cargo bench -p funk-runtime --bench runtime -- ring    # scenarios matching "ring"
//! FUNK_BENCH_POOLING=off cargo bench -p funk-runtime --bench runtime    # Wasmtime on demand
//! FUNK_BENCH_POOLING=12000 cargo bench -p funk-runtime --bench runtime  # a pool of 12000 only
//! FUNK_BENCH_SCHEDULER=local cargo bench -p funk-runtime --bench runtime # one scheduler only
//! ```
//!
//! Each engine runs on both schedulers (`Scheduler::Local`, funk's own
//! workers, and `Scheduler::Tokio`); `FUNK_BENCH_WORKERS=N` sets the worker
//! threads of both.
//!
//! Each figure is the median of several runs, in µs per operation (per
//! spawn + join, per round trip, per hop, per message, per child). Every
//! run checks that every message arrived (the guest counts, and panics on
//! a message out of order per sender).

#[path = "../../../tests/support/guest_build.rs"]
mod guest_build;
#[path = "../support/program.rs"]
mod program;
mod tokio_floor;

use std::num::NonZeroUsize;
use std::path::Path;

use funk_runtime::{EngineKind, ExitStatus, Module, Pooling, Runtime, Scheduler, Settings};
use program::run_program;

const RUNS: usize = 5;

/// A scenario: its guest arguments, how many operations one run makes and
/// the check value a correct run reports.
struct Scenario {
    name: &'static str,
    what: &'static str,
    args: &'static [&'static str],
    check: u64,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "spawn",
        what: "spawn + join of a process that exits at once",
        args: &["spawn", "10000"],
        check: 10_000 * 9_999 / 2,
    },
    Scenario {
        name: "pingpong",
        what: "ping-pong round trip",
        args: &["pingpong", "100000"],
        check: 100_000,
    },
    Scenario {
        name: "ring",
        what: "ring of 1000 processes, token passed 100 times: per hop",
        args: &["ring", "1000", "100"],
        check: 100_000,
    },
    Scenario {
        name: "throughput",
        what: "1000 senders x 1000 messages to one receiver: per message",
        args: &["throughput", "1000", "1000"],
        check: 1_000_000,
    },
    Scenario {
        name: "fanout",
        what: "one process spawning 10k children that each reply: per child",
        args: &["fanout", "10000"],
        check: 10_000 * 9_999 / 2,
    },
];

/// The `bench` namespace the guest imports (used by the scale benchmark;
/// here it returns at once).
struct Bench;

#[funk::host_functions(namespace = "bench")]
impl Bench {
    fn ready(&mut self) {}
}

fn guest() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = root.join("benches/guests/lunatic-bench/Cargo.toml");
    let out = guest_build::build(
        &manifest,
        "wasm32-wasip1",
        true,
        &root.join("../target/funk-runtime-bench-guests"),
    );
    std::fs::read(out.join("lunatic-bench.wasm")).expect("the bench guest was built")
}

/// Runs one scenario once; returns ns per operation.
async fn run(runtime: &Runtime, module: &Module, scenario: &Scenario) -> f64 {
    let (status, text) = run_program(runtime, module, "lunatic-bench", scenario.args).await;
    assert!(
        matches!(status, ExitStatus::Returned | ExitStatus::Exited(0)),
        "{}: {}",
        scenario.name,
        status
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("result "))
        .unwrap_or_else(|| panic!("{}: no result in {text:?}", scenario.name));
    let fields: Vec<&str> = line.split_whitespace().collect();
    let check: u64 = fields[3].parse().unwrap();
    assert_eq!(
        check, scenario.check,
        "{}: messages lost or duplicated",
        scenario.name
    );
    fields[2].parse().unwrap()
}

/// The runtime's settings: the defaults (Wasmtime: a pool of 1000, then on
/// demand), with `FUNK_BENCH_POOLING=off` every process on demand, with
/// `FUNK_BENCH_POOLING=N` a pool of N processes of 64 MiB memory each and
/// nothing beyond it, and with `FUNK_BENCH_RESERVATION_MIB=M` a reservation
/// of M MiB per memory.
fn settings(engine: EngineKind) -> Settings {
    let pooling = match std::env::var("FUNK_BENCH_POOLING").ok().as_deref() {
        None => Settings::default().pooling,
        Some("off") => None,
        Some(n) => Some(Pooling {
            instances: n
                .parse()
                .expect("FUNK_BENCH_POOLING: a slot count or `off`"),
            memory_per_instance: Some(64 << 20),
            on_demand_when_full: false,
        }),
    };
    Settings {
        engine,
        pooling,
        memory_reservation: program::memory_reservation_from_env(),
        ..Settings::default()
    }
}

/// The measured columns: each engine on funk's local workers, then on
/// tokio's executor (`FUNK_BENCH_SCHEDULER=local` or `tokio`: one of them).
fn columns() -> Vec<(EngineKind, Scheduler)> {
    let local = Scheduler::Local {
        workers: workers_from_env(),
    };
    let only = std::env::var("FUNK_BENCH_SCHEDULER").ok();
    let mut columns = Vec::new();
    for engine in [EngineKind::Wasmtime, EngineKind::Wasmer] {
        for scheduler in [local, Scheduler::Tokio] {
            if only
                .as_deref()
                .is_none_or(|name| name == scheduler_name(scheduler))
            {
                columns.push((engine, scheduler));
            }
        }
    }
    columns
}

fn scheduler_name(scheduler: Scheduler) -> &'static str {
    match scheduler {
        Scheduler::Local { .. } => "local",
        Scheduler::Tokio => "tokio",
    }
}

/// `FUNK_BENCH_WORKERS=N`: the worker threads of both schedulers (default:
/// one per CPU), to see what cross-thread wake-ups cost.
fn workers_from_env() -> Option<NonZeroUsize> {
    std::env::var("FUNK_BENCH_WORKERS")
        .ok()
        .and_then(|n| n.parse().ok())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let selected: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| filter.as_ref().is_none_or(|f| s.name.contains(f.as_str())))
        .collect();
    // `FUNK_BENCH_ENGINE=wasmtime` (or `wasmer`) measures one engine only,
    // e.g. under a profiler.
    let engines: Vec<EngineKind> = match std::env::var("FUNK_BENCH_ENGINE") {
        Ok(name) => vec![name.parse().expect("FUNK_BENCH_ENGINE: wasmtime or wasmer")],
        Err(_) => vec![EngineKind::Wasmtime, EngineKind::Wasmer],
    };
    let wasm = guest();
    let mut executor = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = workers_from_env() {
        executor.worker_threads(workers.get());
    }
    let executor = executor.enable_all().build().unwrap();
    let mut table = Vec::new();
    for scenario in &selected {
        let floor_mt = median(
            (0..RUNS)
                .map(|_| tokio_floor::run(scenario.name, true))
                .collect(),
        );
        let floor_ct = median(
            (0..RUNS)
                .map(|_| tokio_floor::run(scenario.name, false))
                .collect(),
        );
        let mut row = vec![
            scenario.what.to_owned(),
            format!("{:.2}", floor_mt / 1000.0),
            format!("{:.2}", floor_ct / 1000.0),
        ];
        for (engine, scheduler) in columns() {
            if !engines.contains(&engine) {
                row.push("-".into());
                continue;
            }
            let ns = executor.block_on(async {
                let runtime = Runtime::builder()
                    .settings(Settings {
                        scheduler,
                        ..settings(engine)
                    })
                    .host_functions(|_| Bench)
                    .build()
                    .unwrap();
                let module = runtime.compile(&wasm).unwrap();
                let mut runs = Vec::new();
                for _ in 0..RUNS {
                    runs.push(run(&runtime, &module, scenario).await);
                }
                median(runs)
            });
            row.push(format!("{:.2}", ns / 1000.0));
        }
        eprintln!("{}", row.join(" | "));
        table.push(row);
    }
    let titles: Vec<String> = columns()
        .into_iter()
        .map(|(engine, scheduler)| format!("funk {engine} ({})", scheduler_name(scheduler)))
        .collect();
    println!(
        "\n| scenario (µs per op) | tokio multi-thread | tokio current-thread | {} |",
        titles.join(" | ")
    );
    println!("|---|---:|---:|{}", "---:|".repeat(titles.len()));
    for row in table {
        println!("| {} |", row.join(" | "));
    }
}
