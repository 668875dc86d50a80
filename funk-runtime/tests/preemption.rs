//! Preemption, on every mechanism of every engine: processes spinning in
//! `loop {}` on every worker thread leave a ping-pong pair a bounded round
//! trip, a kill stops a spinner in bounded time, `max_fuel` stops a spinner
//! and spares a process that stays under it, and a runtime that does not
//! preempt refuses a compute limit; on tokio's executor and on the local
//! workers (`Scheduler::Local`, the CLI's default) for each engine's
//! default mechanism.
//!
//! The bounds are loose (a noisy, shared 2-core machine); the measured
//! figures are printed (`--nocapture`) and the benchmark records them.

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use common::{Harness, guard};
use funk_runtime::process::KillCause;
use funk_runtime::{
    EngineKind, ExitStatus, Preemption, ProcessConfig, Scheduler, Settings, Spawn, SpawnError,
    Stdio,
};

/// The worker threads of every case's executor, and so its spinners.
const WORKERS: usize = 2;

/// Round trips measured per run.
const ROUND_TRIPS: usize = 200;

/// Writes one test per case and mechanism, for each engine that has it.
macro_rules! on_every_mechanism {
    ($($case:ident),* $(,)?) => {
        #[cfg(feature = "wasmtime")]
        mod wasmtime {
            use funk_runtime::Preemption;
            const ENGINE: funk_runtime::EngineKind = funk_runtime::EngineKind::Wasmtime;
            $(
                mod $case {
                    use super::*;
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn epoch() {
                        crate::run(ENGINE, Preemption::epoch(), crate::$case).await;
                    }
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn epoch_on_local_workers() {
                        crate::run_local(ENGINE, Preemption::epoch(), crate::$case).await;
                    }
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn fuel() {
                        crate::run(ENGINE, Preemption::fuel(), crate::$case).await;
                    }
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn injected() {
                        crate::run(ENGINE, Preemption::injected(), crate::$case).await;
                    }
                }
            )*
        }
        #[cfg(feature = "wasmer")]
        mod wasmer {
            use funk_runtime::Preemption;
            const ENGINE: funk_runtime::EngineKind = funk_runtime::EngineKind::Wasmer;
            $(
                mod $case {
                    use super::*;
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn injected() {
                        crate::run(ENGINE, Preemption::injected(), crate::$case).await;
                    }
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn injected_on_local_workers() {
                        crate::run_local(ENGINE, Preemption::injected(), crate::$case).await;
                    }
                }
            )*
        }
    };
}

on_every_mechanism! {
    spinners_leave_a_ping_pong_pair_a_bounded_round_trip,
    a_spinning_process_is_killed_in_bounded_time,
    max_fuel_stops_a_spinner_and_spares_a_light_process,
}

/// Runs `case` with processes on the test's tokio runtime.
async fn run<F: Future<Output = ()>>(
    engine: EngineKind,
    preemption: Preemption,
    case: impl FnOnce(Harness, String) -> F,
) {
    let h = harness(engine, preemption, Scheduler::Tokio);
    let label = format!("{engine}/{preemption:?}");
    guard(engine, case(h, label)).await;
}

/// Runs `case` with processes on `WORKERS` local workers.
async fn run_local<F: Future<Output = ()>>(
    engine: EngineKind,
    preemption: Preemption,
    case: impl FnOnce(Harness, String) -> F,
) {
    let workers = std::num::NonZeroUsize::new(WORKERS);
    let h = harness(engine, preemption, Scheduler::Local { workers });
    let label = format!("{engine}/{preemption:?}/local");
    guard(engine, case(h, label)).await;
}

fn harness(engine: EngineKind, preemption: Preemption, scheduler: Scheduler) -> Harness {
    Harness::new(Settings {
        engine,
        preemption: Some(preemption),
        scheduler,
        ..Settings::default()
    })
}

/// `spin` loops forever without a host call once it has reported;
/// `pong` reports the tag of every message it receives; `count` loops `n`
/// times and returns.
const GUEST: &str = r#"
  (func (export "spin")
    (call $report (i64.const 1))
    (loop $forever (br $forever)))
  (func (export "pong")
    (loop $serve
      (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
      (call $report (call $get_tag))
      (br $serve)))
  (func (export "count") (param $n i64)
    (loop $again
      (local.set $n (i64.sub (local.get $n) (i64.const 1)))
      (br_if $again (i64.gt_s (local.get $n) (i64.const 0))))
    (call $report (i64.const 2)))
"#;

/// The `q`-quantile of sorted `samples`.
fn quantile(samples: &[Duration], q: f64) -> Duration {
    let at = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[at]
}

/// `ROUND_TRIPS` round trips between the test and a `pong` process: the
/// test sends, `pong` receives and reports. Returns (p50, p99).
async fn round_trips(h: &Harness, module: &funk_runtime::Module) -> (Duration, Duration) {
    let pong = h.spawn(module, "pong", &[]);
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    for i in 0..ROUND_TRIPS {
        let start = Instant::now();
        h.send(pong.id(), i as i64 + 1);
        h.wait_reports(pong.id(), i + 1).await;
        samples.push(start.elapsed());
    }
    pong.kill();
    pong.wait().await;
    samples.sort();
    (quantile(&samples, 0.5), quantile(&samples, 0.99))
}

async fn spinners_leave_a_ping_pong_pair_a_bounded_round_trip(h: Harness, label: String) {
    let module = h.module(GUEST);
    let (base50, base99) = round_trips(&h, &module).await;
    let spinners: Vec<_> = (0..WORKERS)
        .map(|_| h.spawn(&module, "spin", &[]))
        .collect();
    for spinner in &spinners {
        h.wait_reports(spinner.id(), 1).await;
    }
    let (p50, p99) = round_trips(&h, &module).await;
    eprintln!(
        "{label}: round trip p50 {p50:?} p99 {p99:?} with {WORKERS} spinners; \
         without: p50 {base50:?} p99 {base99:?}"
    );
    for spinner in &spinners {
        assert!(spinner.process().is_alive(), "a spinner stopped on {label}");
    }
    assert!(p50 < Duration::from_millis(100), "{label}: p50 {p50:?}");
    assert!(p99 < Duration::from_secs(1), "{label}: p99 {p99:?}");
    for spinner in spinners {
        let id = spinner.id();
        spinner.kill();
        spinner.wait().await;
        h.wait_dropped(id).await;
    }
}

async fn a_spinning_process_is_killed_in_bounded_time(h: Harness, label: String) {
    let bystander = h.bystander();
    let module = h.module(GUEST);
    let spinner = h.spawn(&module, "spin", &[]);
    let id = spinner.id();
    h.wait_reports(id, 1).await;
    let start = Instant::now();
    spinner.kill();
    assert_eq!(
        spinner.wait().await.status,
        ExitStatus::Killed(KillCause::Killed),
        "on {label}"
    );
    let dead = start.elapsed();
    // Its state is dropped once its guest has stopped running.
    h.wait_dropped(id).await;
    let stopped = start.elapsed();
    eprintln!("{label}: killed a spinner: dead after {dead:?}, stopped after {stopped:?}");
    assert!(stopped < Duration::from_secs(5), "{label}: {stopped:?}");
    h.assert_lives_on(bystander).await;
}

async fn max_fuel_stops_a_spinner_and_spares_a_light_process(h: Harness, label: String) {
    let module = h.module(GUEST);
    let limited = || ProcessConfig {
        max_fuel: Some(5),
        ..ProcessConfig::privileged()
    };
    let spinner = h.spawn_config(&module, "spin", &[], limited());
    match spinner.wait().await.status {
        ExitStatus::Failed(failure) => assert!(
            failure.message.contains("compute limit (max_fuel 5"),
            "{label}: {}",
            failure.message
        ),
        other => panic!("{label}: the spinner ended with {other:?}"),
    }
    // A thousand iterations is well under 5 units (500 000 instructions).
    let light = h.spawn_config(
        &module,
        "count",
        &[funk_runtime::engine::EntryValue::I64(1_000)],
        limited(),
    );
    let exit = light.wait().await;
    assert_eq!(exit.status, ExitStatus::Returned, "on {label}");
    assert_eq!(h.reports(exit.id), common::values(&[2]), "on {label}");
}

/// Without preemption a compute limit cannot be kept: such a process
/// cannot be spawned, on both engines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_preemption_a_compute_limit_is_refused() {
    let engines = [
        #[cfg(feature = "wasmtime")]
        EngineKind::Wasmtime,
        #[cfg(feature = "wasmer")]
        EngineKind::Wasmer,
    ];
    for engine in engines {
        let h = harness(engine, Preemption::Off, Scheduler::Tokio);
        let module = h.module(GUEST);
        let config = ProcessConfig {
            max_fuel: Some(1),
            ..ProcessConfig::privileged()
        };
        let refused = h.runtime.spawn_with(Spawn {
            module: &module,
            entry: "count",
            args: vec![funk_runtime::engine::EntryValue::I64(1)],
            config,
            stdio: Stdio::inherit(),
            node: None,
        });
        match refused {
            Err(error @ SpawnError::UnenforceableLimit) => {
                assert!(
                    error.to_string().contains("Preemption::Off"),
                    "on {engine}: {error}"
                )
            }
            other => panic!("on {engine}: spawned: {:?}", other.map(|p| p.id())),
        }
        // Without a limit it runs.
        let (status, _) = h
            .run(
                &module,
                "count",
                &[funk_runtime::engine::EntryValue::I64(1)],
            )
            .await;
        assert_eq!(status, ExitStatus::Returned, "on {engine}");
    }
}

/// Wasmer has no fuel or epochs: a runtime asking for them does not build.
#[cfg(feature = "wasmer")]
#[tokio::test]
async fn wasmer_refuses_fuel_and_epochs() {
    for preemption in [Preemption::fuel(), Preemption::epoch()] {
        let error = funk_runtime::Runtime::builder()
            .settings(Settings {
                engine: EngineKind::Wasmer,
                preemption: Some(preemption),
                ..Settings::default()
            })
            .build()
            .err()
            .expect("the runtime does not build");
        assert!(error.to_string().contains("Injected"), "{error}");
    }
}
