//! The cost and the effect of preemption, on both engines (a bench binary;
//! `cargo bench -p funk-runtime --bench preemption`).
//!
//! The guest (`benches/guests/preempt-bench`, written with the crates.io
//! `lunatic` crate, built here for wasm32-wasip1 in release) times its own
//! workloads, so only the computation is measured:
//!
//! - `fib 32`: recursive Fibonacci, compute-heavy (a call per step);
//! - `calls N`: a loop of indirect and direct calls to small leaves;
//! - `pingpong R S`: `R` round trips to a ponger while `S` processes spin.
//!
//! Each runs on every mechanism of each engine (`Off` is the uninstrumented
//! baseline of its engine, measured in the same run), and `fib` also runs
//! natively, from the same source. Last, the cost of the injection pass
//! itself at compile time, per MB of wasm. Prints a Markdown table.
//! `FUNK_BENCH_SCHEDULER=local` runs the processes on funk's local workers
//! (`Scheduler::Local`, as `funk run` does) instead of tokio's executor.

#[path = "../../tests/support/guest_build.rs"]
mod guest_build;
#[path = "support/program.rs"]
#[allow(dead_code)]
mod program;
#[path = "guests/preempt-bench/src/work.rs"]
#[allow(dead_code)]
mod work;

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::path::Path;
use std::time::{Duration, Instant};

use funk_runtime::{EngineKind, Preemption, Runtime, Scheduler, Settings};
use program::run_program;

/// Runs of each compute workload; the median is reported.
const RUNS: usize = 5;
/// Passes over the shapes in the call-heavy workload.
const CALL_ROUNDS: &str = "300000";
/// Round trips per ping-pong run.
const ROUND_TRIPS: &str = "2000";
/// Spinning processes during a ping-pong run: the executor's threads.
const SPINNERS: usize = 2;

fn main() {
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/guests/preempt-bench/Cargo.toml");
    let target_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/funk-runtime-guests");
    let wasm = guest_build::build(&manifest, "wasm32-wasip1", true, &target_dir)
        .join("preempt-bench.wasm");
    let wasm = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));

    let executor = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SPINNERS)
        .enable_all()
        .build()
        .expect("an executor");

    println!(
        "| engine | mechanism | fib(32) ms | vs off | vs native | calls ms | vs off | round trip p50/p99 µs, 0 spinners | with {SPINNERS} spinners |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let native = median(|| {
        let start = Instant::now();
        black_box(work::fib(black_box(32)));
        start.elapsed()
    });
    println!("| native | - | {:.1} | | 1.00 | | | | |", ms(native));
    let cases: &[(EngineKind, &[Preemption])] = &[
        (
            EngineKind::Wasmtime,
            &[
                Preemption::Off,
                Preemption::epoch(),
                Preemption::fuel(),
                Preemption::injected(),
            ],
        ),
        (
            EngineKind::Wasmer,
            &[Preemption::Off, Preemption::injected()],
        ),
    ];
    for (engine, mechanisms) in cases {
        let mut off = None;
        for &preemption in *mechanisms {
            let row = executor.block_on(measure(*engine, preemption, &wasm));
            let (fib_off, calls_off) = *off.get_or_insert((row.fib, row.calls));
            let pingpong = |trips: &Option<(Duration, Duration)>| match trips {
                Some((p50, p99)) => format!("{:.0} / {:.0}", us(*p50), us(*p99)),
                None => "-".to_owned(),
            };
            println!(
                "| {engine} | {} | {:.1} | {:.2} | {:.2} | {:.1} | {:.2} | {} | {} |",
                name(preemption),
                ms(row.fib),
                row.fib.as_secs_f64() / fib_off.as_secs_f64(),
                row.fib.as_secs_f64() / native.as_secs_f64(),
                ms(row.calls),
                row.calls.as_secs_f64() / calls_off.as_secs_f64(),
                pingpong(&row.alone),
                pingpong(&row.spinning),
            );
        }
    }

    let options = funk_runtime::preempt::Options::default();
    let pass = median(|| {
        let start = Instant::now();
        black_box(funk_runtime::preempt::instrument(&wasm, &options).expect("instruments"));
        start.elapsed()
    });
    let mb = wasm.len() as f64 / 1e6;
    println!(
        "\nInjection pass: {:.2} MB module in {:.1} ms: {:.1} ms per MB",
        mb,
        ms(pass),
        ms(pass) / mb
    );
}

fn name(preemption: Preemption) -> &'static str {
    match preemption {
        Preemption::Off => "off",
        Preemption::Epoch { .. } => "epoch",
        Preemption::Fuel { .. } => "fuel",
        Preemption::Injected { .. } => "injected",
    }
}

struct Row {
    fib: Duration,
    calls: Duration,
    alone: Option<(Duration, Duration)>,
    spinning: Option<(Duration, Duration)>,
}

async fn measure(engine: EngineKind, preemption: Preemption, wasm: &[u8]) -> Row {
    // `FUNK_BENCH_SCHEDULER=local`: processes on funk's local workers (as
    // `funk run` runs them) instead of tokio's.
    let scheduler = match std::env::var("FUNK_BENCH_SCHEDULER").ok().as_deref() {
        Some("local") => Scheduler::Local {
            workers: NonZeroUsize::new(SPINNERS),
        },
        _ => Scheduler::Tokio,
    };
    let runtime = Runtime::builder()
        .settings(Settings {
            engine,
            preemption: Some(preemption),
            scheduler,
            ..Settings::default()
        })
        .build()
        .expect("the runtime builds");
    let module = runtime.compile(wasm).expect("the guest compiles");
    let mut fib = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..RUNS {
        fib.push(nanos(&run(&runtime, &module, &["fib", "32"]).await));
        calls.push(nanos(
            &run(&runtime, &module, &["calls", CALL_ROUNDS]).await,
        ));
    }
    // Without preemption spinners would never give way.
    let (alone, spinning) = if preemption == Preemption::Off {
        (None, None)
    } else {
        let spinners = SPINNERS.to_string();
        (
            Some(quantiles(
                &run(&runtime, &module, &["pingpong", ROUND_TRIPS, "0"]).await,
            )),
            Some(quantiles(
                &run(&runtime, &module, &["pingpong", ROUND_TRIPS, &spinners]).await,
            )),
        )
    };
    Row {
        fib: median_of(fib),
        calls: median_of(calls),
        alone,
        spinning,
    }
}

/// Runs the guest's `_start` with `args`; returns what it printed.
async fn run(runtime: &Runtime, module: &funk_runtime::Module, args: &[&str]) -> String {
    let (status, printed) = run_program(runtime, module, "preempt-bench", args).await;
    assert!(status.is_success(), "{args:?}: {status:?}");
    printed
}

/// The first number a workload printed, as a duration.
fn nanos(printed: &str) -> Duration {
    let first = printed.split_whitespace().next().expect("a time");
    Duration::from_nanos(first.parse().expect("nanoseconds"))
}

/// p50 and p99 of the sorted round trips a ping-pong run printed.
fn quantiles(printed: &str) -> (Duration, Duration) {
    let times: Vec<u64> = printed
        .split_whitespace()
        .map(|t| t.parse().expect("nanoseconds"))
        .collect();
    let at = |q: f64| Duration::from_nanos(times[((times.len() - 1) as f64 * q).round() as usize]);
    (at(0.5), at(0.99))
}

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    median_of((0..RUNS).map(|_| f()).collect())
}

fn median_of(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
