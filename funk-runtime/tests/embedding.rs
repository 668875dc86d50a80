//! The embedding surface around processes, on both engines: failures are
//! reported through `tracing` (by id or registered name, with the trap
//! message and the wasm backtrace) while clean exits are silent, guest
//! metrics arrive as `tracing` events, and Wasmtime's pooling allocator
//! runs processes and turns an exhausted pool into a process failure.

#[allow(dead_code)] // each test binary uses its own part of the harness
mod common;

use std::sync::{Mutex, OnceLock};

use common::{Harness, guard};
use funk_runtime::{EngineKind, ExitStatus, Pooling, ProcessConfig, Settings, SpawnError};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// One event: target, level and its fields as `name=value` text.
#[derive(Debug, Clone)]
struct Event {
    target: String,
    level: tracing::Level,
    message: String,
    fields: Vec<(String, String)>,
}

/// Every event of this test binary (the subscriber is process-wide: the
/// runtime's tasks run on any thread).
static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());

struct Record;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Record {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Fields(Vec<(String, String)>, String);
        impl Visit for Fields {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.1 = format!("{value:?}");
                } else {
                    self.0.push((field.name().to_owned(), format!("{value:?}")));
                }
            }
            fn record_str(&mut self, field: &Field, value: &str) {
                if field.name() == "message" {
                    self.1 = value.to_owned();
                } else {
                    self.0.push((field.name().to_owned(), value.to_owned()));
                }
            }
        }
        let mut fields = Fields(Vec::new(), String::new());
        event.record(&mut fields);
        EVENTS.lock().unwrap().push(Event {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            message: fields.1,
            fields: fields.0,
        });
    }
}

fn record_events() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Record);
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
    });
}

fn events_where(pred: impl Fn(&Event) -> bool) -> Vec<Event> {
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|e| pred(e))
        .cloned()
        .collect()
}

macro_rules! on_both_engines {
    ($($case:ident),* $(,)?) => {
        mod wasmtime {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let engine = funk_runtime::EngineKind::Wasmtime;
                    crate::guard(engine, crate::$case(engine)).await;
                }
            )*
        }
        mod wasmer {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let engine = funk_runtime::EngineKind::Wasmer;
                    crate::guard(engine, crate::$case(engine)).await;
                }
            )*
        }
    };
}

on_both_engines! {
    a_failure_is_reported_by_name_with_message_and_backtrace,
    metrics_become_tracing_events,
}

/// A guest that registers itself under a name (carrying the engine: both
/// engines' tests share one subscriber) and traps two calls deep.
fn registered_failure(engine: EngineKind) -> (String, String) {
    let name = format!("the-failing-one-{engine}");
    let full = format!("funk-test/name/Process/{name}");
    let wat = format!(
        r#"
  (data (i32.const 0x200) "{full}")
  (func $fails_deeply (unreachable))
  (func (export "fail")
    (call $registry_put (i32.const 0x200) (i32.const {}) (i64.const 0) (call $process_id))
    (call $fails_deeply))
  (func (export "fine"))
"#,
        full.len()
    );
    (wat, name)
}

async fn a_failure_is_reported_by_name_with_message_and_backtrace(engine: EngineKind) {
    record_events();
    let h = Harness::on(engine);
    let (wat, name) = registered_failure(engine);
    let module = h.module(&wat);
    let (status, _) = h.run(&module, "fail", &[]).await;
    let ExitStatus::Failed(failure) = status else {
        panic!("{engine}: the process did not fail: {status:?}");
    };
    let fine = h.spawn(&module, "fine", &[]);
    let fine_id = fine.id();
    assert_eq!(fine.wait().await.status, ExitStatus::Returned);
    let reports = events_where(|e| {
        e.target == "funk_runtime::process" && e.message.contains(&format!("'{name}'"))
    });
    assert_eq!(reports.len(), 1, "{engine}: {reports:?}");
    let report = &reports[0];
    assert_eq!(report.level, tracing::Level::WARN);
    assert!(
        report.message.contains("failed: ") && report.message.contains(&failure.message),
        "{engine}: {report:?}"
    );
    // The backtrace names the guest function that trapped.
    assert!(
        failure
            .backtrace
            .as_deref()
            .is_some_and(|b| b.contains("fails_deeply")),
        "{engine}: {failure:?}"
    );
    assert!(
        report.message.contains("fails_deeply"),
        "{engine}: {report:?}"
    );
    // A clean exit says nothing.
    let fine_reports = events_where(|e| {
        e.target == "funk_runtime::process" && e.message.contains(&format!("process {fine_id} "))
    });
    assert!(fine_reports.is_empty(), "{engine}: {fine_reports:?}");
}

/// A guest reporting a counter and a gauge; the names carry the engine,
/// since both engines' tests share one process-wide subscriber and their
/// runtimes both number their first process 1.
fn metrics_guest(engine: EngineKind) -> (String, String, String) {
    let counter = format!("requests_total_{engine}");
    let gauge = format!("queue_depth_{engine}");
    let wat = format!(
        r#"
  (import "lunatic::metrics" "counter" (func $counter (param i32 i32 i64)))
  (import "lunatic::metrics" "gauge" (func $gauge (param i32 i32 f64)))
  (data (i32.const 0x300) "{counter}")
  (data (i32.const 0x340) "{gauge}")
  (func (export "measure")
    (call $counter (i32.const 0x300) (i32.const {}) (i64.const 42))
    (call $gauge (i32.const 0x340) (i32.const {}) (f64.const 2.5)))
"#,
        counter.len(),
        gauge.len()
    );
    (wat, counter, gauge)
}

async fn metrics_become_tracing_events(engine: EngineKind) {
    record_events();
    let h = Harness::on(engine);
    let (wat, counter, gauge) = metrics_guest(engine);
    let module = h.module_importing(&wat, "");
    let process = h.spawn(&module, "measure", &[]);
    let id = process.id().to_string();
    assert_eq!(process.wait().await.status, ExitStatus::Returned);
    let metrics = events_where(|e| {
        e.target == "funk_runtime::metrics"
            && e.fields.iter().any(|(k, v)| k == "process" && *v == id)
            && e.fields
                .iter()
                .any(|(k, v)| k == "metric" && (*v == counter || *v == gauge))
    });
    let seen: Vec<Vec<(String, String)>> = metrics.iter().map(|e| e.fields.clone()).collect();
    let field = |metric: &Vec<(String, String)>, name: &str| {
        metric
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(seen.len(), 2, "{engine}: {seen:?}");
    assert_eq!(field(&seen[0], "metric").as_deref(), Some(counter.as_str()));
    assert_eq!(field(&seen[0], "kind").as_deref(), Some("counter"));
    assert_eq!(field(&seen[0], "value").as_deref(), Some("42"));
    assert_eq!(field(&seen[1], "metric").as_deref(), Some(gauge.as_str()));
    assert_eq!(field(&seen[1], "value").as_deref(), Some("2.5"));
}

/// A Wasmtime harness whose pool has `instances` slots of `memory` bytes,
/// spawns beyond it running on demand if `on_demand_when_full`.
fn pooled(instances: u32, memory: u64, on_demand_when_full: bool) -> Harness {
    Harness::new(Settings {
        engine: EngineKind::Wasmtime,
        pooling: Some(Pooling {
            instances,
            memory_per_instance: Some(memory),
            on_demand_when_full,
        }),
        ..Settings::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmtime_pooling_runs_processes_and_a_full_pool_fails_a_spawn() {
    let engine = EngineKind::Wasmtime;
    guard(engine, async {
        let h = pooled(3, 1 << 20, false);
        let module = h.module(
            r#"(func (export "wait")
                 (call $report (i64.const 1))
                 (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1))))"#,
        );
        let waiting: Vec<_> = (0..3).map(|_| h.spawn(&module, "wait", &[])).collect();
        for process in &waiting {
            h.wait_reports(process.id(), 1).await;
        }
        // The pool is full: the fourth process cannot be instantiated,
        // spawn says so, and nothing else is disturbed.
        match h
            .runtime
            .spawn(&module, "wait", ProcessConfig::privileged())
        {
            Err(SpawnError::Instantiate(message)) => {
                assert!(message.contains("limit"), "{message}")
            }
            other => panic!("the fourth spawn did not fail: {:?}", other.map(|p| p.id())),
        }
        for process in &waiting {
            h.send(process.id(), 0);
        }
        for process in waiting {
            assert_eq!(process.wait().await.status, ExitStatus::Returned);
        }
        // Slots came back.
        let again = h.spawn(&module, "wait", &[]);
        h.wait_reports(again.id(), 1).await;
        h.send(again.id(), 0);
        assert_eq!(again.wait().await.status, ExitStatus::Returned);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmtime_processes_beyond_the_pool_run_on_demand() {
    let engine = EngineKind::Wasmtime;
    guard(engine, async {
        let h = pooled(2, 2 << 20, true);
        // Each grows its memory by one page (to 2 pages) and reports the
        // old size, then waits; a third grow (to 34 pages, past the slot's
        // 2 MiB) is refused in the pool but not on demand.
        let module = h.module(
            r#"(func (export "wait")
                 (call $report32 (memory.grow (i32.const 1)))
                 (drop (call $receive (i32.const 0) (i32.const 0) (i64.const -1)))
                 (call $report32 (memory.grow (i32.const 32))))"#,
        );
        let waiting: Vec<_> = (0..4).map(|_| h.spawn(&module, "wait", &[])).collect();
        for process in &waiting {
            h.wait_reports(process.id(), 1).await;
        }
        for process in &waiting {
            h.send(process.id(), 0);
        }
        let mut refused = 0;
        for process in waiting {
            let id = process.id();
            assert_eq!(process.wait().await.status, ExitStatus::Returned);
            let reports = format!("{:?}", h.reports(id));
            match reports.as_str() {
                "[Value(1), Value(-1)]" => refused += 1,
                "[Value(1), Value(2)]" => {}
                other => panic!("process {id}: {other}"),
            }
        }
        // Two processes had pool slots (and the slot's ceiling), two more
        // ran on demand instead of failing their spawns.
        assert_eq!(refused, 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmtime_a_pooled_process_out_of_fiber_stacks_fails_and_is_not_a_caught_panic() {
    let engine = EngineKind::Wasmtime;
    guard(engine, async {
        // One slot: two fiber stacks, the process's own and one `catch`.
        let h = pooled(1, 1 << 20, true);
        let module = h.module(
            r#"(table 1 funcref)
               (elem (i32.const 0) $five)
               (func $five (param i32) (result i32) (i32.const 5))
               (func (export "_lunatic_catch_trap") (param $function i32) (param $argument i32) (result i32)
                 (if (result i32) (i32.eq (local.get $function) (i32.const 99))
                   (then (call $catch (i32.const 0) (i32.const 0)))
                   (else (call_indirect (param i32) (result i32) (local.get $argument) (local.get $function)))))
               (func (export "nest")
                 (call $report32 (call $catch (i32.const 0) (i32.const 0)))
                 ;; A catch inside a catch needs a third stack.
                 (call $report32 (call $catch (i32.const 99) (i32.const 0))))"#,
        );
        let process = h.spawn(&module, "nest", &[]);
        let id = process.id();
        let exit = process.wait().await;
        assert!(
            matches!(&exit.status, ExitStatus::Failed(f) if f.message.contains("fibers")),
            "{:?}",
            exit.status
        );
        // The first catch ran; the nested one neither ran nor reported a
        // caught panic (0).
        assert_eq!(format!("{:?}", h.reports(id)), "[Value(5)]");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmtime_a_small_memory_reservation_still_grows_and_enforces_max_memory() {
    let engine = EngineKind::Wasmtime;
    guard(engine, async {
        // A 1 MiB reservation: growing to 5 MiB moves the memory, which
        // keeps what was written before the move.
        let h = Harness::new(Settings {
            engine,
            memory_reservation: Some(1 << 20),
            ..Settings::default()
        });
        let module = h.module(
            r#"(func (export "grow")
                 (i32.store (i32.const 0x100) (i32.const 7))
                 (call $report32 (memory.grow (i32.const 79)))
                 (i32.store (i32.const 0x4ffffc) (i32.const 9))
                 (call $report32 (i32.load (i32.const 0x100)))
                 (call $report32 (i32.load (i32.const 0x4ffffc)))
                 (call $report32 (memory.size))
                 ;; Out of bounds past the grown memory: a trap, not a read.
                 (drop (i32.load (i32.const 0x500000))))"#,
        );
        let process = h.spawn(&module, "grow", &[]);
        let id = process.id();
        let exit = process.wait().await;
        assert!(
            matches!(&exit.status, ExitStatus::Failed(f) if f.message.contains("out of bounds")),
            "{:?}",
            exit.status
        );
        let values = h.reports(id);
        assert_eq!(
            format!("{values:?}"),
            "[Value(1), Value(7), Value(9), Value(80)]"
        );
        // `max_memory` is enforced whatever the reservation: 2 MiB allows
        // growing to 32 pages, not to 80.
        let mut config = ProcessConfig::privileged();
        config.max_memory = 2 << 20;
        let module = h.module(
            r#"(func (export "grow")
                 (call $report32 (memory.grow (i32.const 79)))
                 (call $report32 (memory.grow (i32.const 31))))"#,
        );
        let process = h.spawn_config(&module, "grow", &[], config);
        let id = process.id();
        assert_eq!(process.wait().await.status, ExitStatus::Returned);
        assert_eq!(format!("{:?}", h.reports(id)), "[Value(-1), Value(1)]");
    })
    .await;
}
