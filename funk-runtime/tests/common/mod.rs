//! A harness for running hand-written WAT guests as processes, on either
//! engine, and watching what they do.
//!
//! Guests see every `lunatic::*` import they may need under a short name
//! (`$send`, `$spawn`, ...; see [`IMPORTS`]), one exported page of memory,
//! and a `probe` namespace of the test's own: `probe::value(i64)` and
//! `probe::text(ptr, len)` record what the guest observed, so a test can
//! assert on status codes and out-values the guest got back, and wait for
//! a report from a process it did not spawn itself. (Reports are keyed by
//! process id, so a harness keeps to one node.)

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use funk_runtime::engine::EntryValue;
use funk_runtime::message::{DataMessage, Message};
use funk_runtime::{
    EngineKind, ExitStatus, Module, ProcessConfig, ProcessHandle, ProcessId, Runtime, Settings,
    Spawn, Stdio,
};
use tokio::sync::watch;

/// Longest any case may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(60);

/// What a guest recorded through the `probe` namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// `probe::value`.
    Value(i64),
    /// `probe::text`, as (lossy) UTF-8.
    Text(String),
}

/// What each process reported, in order; `None` when its state was dropped
/// (the process is gone and runs no more code).
type Log = Vec<(ProcessId, Option<Report>)>;

/// The `probe` namespace: a per-process view of the test's shared log.
pub struct Probe {
    process: ProcessId,
    log: Arc<watch::Sender<Log>>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        let process = self.process;
        self.log.send_modify(|log| log.push((process, None)));
    }
}

#[funk::host_functions(namespace = "probe")]
impl Probe {
    /// Records a number.
    fn value(&mut self, value: i64) {
        let process = self.process;
        self.log
            .send_modify(|log| log.push((process, Some(Report::Value(value)))));
    }

    /// Records a string of guest memory.
    fn text(&mut self, text: &[u8]) {
        let process = self.process;
        let text = String::from_utf8_lossy(text).into_owned();
        self.log
            .send_modify(|log| log.push((process, Some(Report::Text(text)))));
    }
}

/// The imports every guest gets, with the exact signatures of the
/// crates.io `lunatic` 0.14.1 guest crate (`src/host/api.rs`).
pub const IMPORTS: &str = r#"
  (import "lunatic::message" "create_data" (func $create_data (param i64 i64)))
  (import "lunatic::message" "write_data" (func $write_data (param i32 i32) (result i32)))
  (import "lunatic::message" "read_data" (func $read_data (param i32 i32) (result i32)))
  (import "lunatic::message" "seek_data" (func $seek_data (param i64)))
  (import "lunatic::message" "get_tag" (func $get_tag (result i64)))
  (import "lunatic::message" "get_process_id" (func $get_process_id (result i64)))
  (import "lunatic::message" "data_size" (func $data_size (result i64)))
  (import "lunatic::message" "push_module" (func $push_module (param i64) (result i64)))
  (import "lunatic::message" "take_module" (func $take_module (param i64) (result i64)))
  (import "lunatic::message" "send" (func $send (param i64) (result i32)))
  (import "lunatic::message" "send_receive_skip_search" (func $send_receive_skip_search (param i64 i64 i64) (result i32)))
  (import "lunatic::message" "receive" (func $receive (param i32 i32 i64) (result i32)))
  (import "lunatic::timer" "send_after" (func $send_after (param i64 i64) (result i64)))
  (import "lunatic::timer" "cancel_timer" (func $cancel_timer (param i64) (result i32)))
  (import "lunatic::error" "string_size" (func $error_size (param i64) (result i32)))
  (import "lunatic::error" "to_string" (func $error_to_string (param i64 i32)))
  (import "lunatic::error" "drop" (func $error_drop (param i64)))
  (import "lunatic::process" "compile_module" (func $compile_module (param i32 i32 i32) (result i32)))
  (import "lunatic::process" "drop_module" (func $drop_module (param i64)))
  (import "lunatic::process" "create_config" (func $create_config (result i64)))
  (import "lunatic::process" "drop_config" (func $drop_config (param i64)))
  (import "lunatic::process" "config_set_max_memory" (func $config_set_max_memory (param i64 i64)))
  (import "lunatic::process" "config_get_max_memory" (func $config_get_max_memory (param i64) (result i64)))
  (import "lunatic::process" "config_set_can_spawn_processes" (func $config_set_can_spawn_processes (param i64 i32)))
  (import "lunatic::process" "config_can_spawn_processes" (func $config_can_spawn_processes (param i64) (result i32)))
  (import "lunatic::process" "spawn" (func $spawn (param i64 i64 i64 i32 i32 i32 i32 i32) (result i32)))
  (import "lunatic::process" "get_or_spawn" (func $get_or_spawn (param i32 i32 i64 i64 i64 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "lunatic::process" "sleep_ms" (func $sleep_ms (param i64)))
  (import "lunatic::process" "die_when_link_dies" (func $die_when_link_dies (param i32)))
  (import "lunatic::process" "process_id" (func $process_id (result i64)))
  (import "lunatic::process" "link" (func $link (param i64 i64)))
  (import "lunatic::process" "unlink" (func $unlink (param i64)))
  (import "lunatic::process" "monitor" (func $monitor (param i64)))
  (import "lunatic::process" "stop_monitoring" (func $stop_monitoring (param i64)))
  (import "lunatic::process" "kill" (func $kill (param i64)))
  (import "lunatic::process" "exists" (func $exists (param i64) (result i32)))
  (import "lunatic::registry" "put" (func $registry_put (param i32 i32 i64 i64)))
  (import "lunatic::registry" "get" (func $registry_get (param i32 i32 i32 i32) (result i32)))
  (import "lunatic::registry" "remove" (func $registry_remove (param i32 i32)))
  (import "lunatic::trap" "catch" (func $catch (param i32 i32) (result i32)))
  (import "lunatic::wasi" "config_add_environment_variable" (func $config_add_environment_variable (param i64 i32 i32 i32 i32)))
  (import "lunatic::metrics" "counter" (func $metrics_counter (param i32 i32 i64)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "probe" "value" (func $report (param i64)))
  (import "probe" "text" (func $report_text (param i32 i32)))
"#;

/// What every guest gets after its imports:
///
/// - one page of exported memory (`0x10000` bytes: the size every
///   out-of-bounds trap names); at `0x40`, [`BYSTANDER_TAG`] as a one-tag
///   array for `receive`;
/// - `$report32` reports an `i32` (sign-extended), `$report_error` the text
///   of an error id (read through `lunatic::error`, at `0x8000`);
/// - `$param_i64(at, value)` writes one 17-byte `spawn` parameter.
pub const HELPERS: &str = r#"
  (memory (export "memory") 1)
  (data (i32.const 0x40) "\92\10\00\00\00\00\00\00")
  (func $report32 (param i32)
    (call $report (i64.extend_i32_s (local.get 0))))
  (func $report_error (param $id i64)
    (call $error_to_string (local.get $id) (i32.const 0x8000))
    (call $report_text (i32.const 0x8000) (call $error_size (local.get $id))))
  (func $param_i64 (param $at i32) (param $value i64)
    (i32.store8 (local.get $at) (i32.const 0x7e))
    (i64.store (i32.add (local.get $at) (i32.const 1)) (local.get $value))
    (i64.store (i32.add (local.get $at) (i32.const 9)) (i64.const 0)))
"#;

/// Assembles a guest: [`IMPORTS`], then more `imports`, [`HELPERS`], then
/// `body` (functions, data, exports).
pub fn guest_importing(imports: &str, body: &str) -> Vec<u8> {
    let text = format!("(module {IMPORTS}\n{imports}\n{HELPERS}\n{body})");
    wat::parse_str(&text).unwrap_or_else(|e| panic!("bad test guest: {e}\n{text}"))
}

/// Runs one engine's run of a case, failing it if it takes longer than
/// [`HANG`] (a hang is a bug; the tests never sleep to synchronise).
pub async fn guard(engine: EngineKind, case: impl Future<Output = ()>) {
    tokio::time::timeout(HANG, case)
        .await
        .unwrap_or_else(|_| panic!("the case hung on {engine}"));
}

/// A runtime with the `probe` namespace, and the log it writes.
#[derive(Clone)]
pub struct Harness {
    pub runtime: Runtime,
    log: Arc<watch::Sender<Log>>,
}

impl Harness {
    /// A runtime on `engine` with default settings.
    pub fn on(engine: EngineKind) -> Self {
        Harness::new(Settings {
            engine,
            ..Settings::default()
        })
    }

    /// A runtime with `settings`.
    pub fn new(settings: Settings) -> Self {
        let log = Arc::new(watch::Sender::new(Vec::new()));
        let factory_log = log.clone();
        let runtime = Runtime::builder()
            .settings(settings)
            .host_functions(move |process| Probe {
                process,
                log: factory_log.clone(),
            })
            .build()
            .expect("the runtime builds");
        Harness { runtime, log }
    }

    pub fn engine(&self) -> EngineKind {
        self.runtime.engine()
    }

    /// Compiles a guest of [`IMPORTS`], [`HELPERS`] and `body`.
    pub fn module(&self, body: &str) -> Module {
        self.module_importing("", body)
    }

    /// Compiles a guest made by [`guest_importing`].
    pub fn module_importing(&self, imports: &str, body: &str) -> Module {
        self.runtime
            .compile(&guest_importing(imports, body))
            .unwrap_or_else(|e| panic!("the test guest does not compile on {}: {e}", self.engine()))
    }

    /// Spawns `entry` with every permission.
    pub fn spawn(&self, module: &Module, entry: &str, args: &[EntryValue]) -> ProcessHandle {
        self.spawn_config(module, entry, args, ProcessConfig::privileged())
    }

    /// Spawns `entry` under `config`.
    pub fn spawn_config(
        &self,
        module: &Module,
        entry: &str,
        args: &[EntryValue],
        config: ProcessConfig,
    ) -> ProcessHandle {
        self.runtime
            .spawn_with(Spawn {
                module,
                entry,
                args: args.to_vec(),
                config,
                stdio: Stdio::inherit(),
                node: None,
            })
            .unwrap_or_else(|e| panic!("cannot spawn `{entry}`: {e}"))
    }

    /// Spawns `entry`, waits for it and returns its exit status and reports.
    pub async fn run(
        &self,
        module: &Module,
        entry: &str,
        args: &[EntryValue],
    ) -> (ExitStatus, Vec<Report>) {
        let exit = self.spawn(module, entry, args).wait().await;
        (exit.status, self.reports(exit.id))
    }

    /// What process `id` reported so far, in order.
    pub fn reports(&self, id: ProcessId) -> Vec<Report> {
        reports_of(&self.log.borrow(), id)
    }

    /// Waits until process `id` has reported `count` times; returns those
    /// reports.
    pub async fn wait_reports(&self, id: ProcessId, count: usize) -> Vec<Report> {
        let mut log = self.log.subscribe();
        let log = log
            .wait_for(|log| reports_of(log, id).len() >= count)
            .await
            .expect("the log outlives the harness");
        reports_of(&log, id)
    }

    /// Waits for the first report of any process matching `pred`; returns
    /// that process.
    pub async fn wait_report(&self, pred: impl Fn(ProcessId, &Report) -> bool) -> ProcessId {
        let find = |log: &Log| {
            log.iter()
                .find(|(p, r)| r.as_ref().is_some_and(|r| pred(*p, r)))
                .map(|(p, _)| *p)
        };
        let mut log = self.log.subscribe();
        let log = log
            .wait_for(|log| find(log).is_some())
            .await
            .expect("the log outlives the harness");
        find(&log).unwrap()
    }

    /// Waits until process `id`'s state has been dropped: it runs no more
    /// code, host or guest.
    pub async fn wait_dropped(&self, id: ProcessId) {
        let mut log = self.log.subscribe();
        log.wait_for(|log| log.iter().any(|(p, r)| *p == id && r.is_none()))
            .await
            .expect("the log outlives the harness");
    }

    /// Sends process `id` an empty message tagged `tag` from the host.
    pub fn send(&self, id: ProcessId, tag: i64) {
        self.send_bytes(id, tag, &[]);
    }

    /// Sends process `id` a message tagged `tag` holding `bytes`.
    pub fn send_bytes(&self, id: ProcessId, tag: i64, bytes: &[u8]) {
        let process = self
            .runtime
            .node()
            .process(id)
            .unwrap_or_else(|| panic!("process {id} is not alive"));
        let mut data = DataMessage::new(tag, 0);
        data.write(bytes, u64::MAX).unwrap();
        process.send(Message::Data(data));
    }

    /// A process that waits for a message tagged [`BYSTANDER_TAG`], reports
    /// its tag and returns; spawned before a hostile guest, it must still
    /// answer afterwards.
    pub fn bystander(&self) -> Bystander {
        let module = self.module(BYSTANDER);
        Bystander {
            handle: self.spawn(&module, "main", &[]),
            module,
        }
    }

    /// Asserts the runtime lives on: `bystander` (spawned before the hostile
    /// guest) still answers a message, and a new process spawned now does
    /// too.
    pub async fn assert_lives_on(&self, bystander: Bystander) {
        let fresh = self.spawn(&bystander.module, "main", &[]);
        for handle in [bystander.handle, fresh] {
            let process = handle.process().clone();
            assert!(process.is_alive(), "a bystander died on {}", self.engine());
            assert_eq!(
                process.queued(),
                0,
                "a stray message reached a bystander on {}",
                self.engine()
            );
            self.send(handle.id(), BYSTANDER_TAG);
            let exit = handle.wait().await;
            assert_eq!(exit.status, ExitStatus::Returned, "on {}", self.engine());
            assert_eq!(
                self.reports(exit.id),
                [Report::Value(BYSTANDER_TAG)],
                "on {}",
                self.engine()
            );
        }
    }
}

fn reports_of(log: &Log, id: ProcessId) -> Vec<Report> {
    log.iter()
        .filter(|(p, _)| *p == id)
        .filter_map(|(_, r)| r.clone())
        .collect()
}

/// A process spawned to check the runtime lives on.
pub struct Bystander {
    pub handle: ProcessHandle,
    module: Module,
}

/// The tag a bystander waits for.
pub const BYSTANDER_TAG: i64 = 4242;

const BYSTANDER: &str = r#"
  (func (export "main")
    (drop (call $receive (i32.const 0x40) (i32.const 1) (i64.const -1)))
    (call $report (call $get_tag)))
"#;

/// Reports of numbers, for comparing with [`Harness::reports`].
pub fn values(values: &[i64]) -> Vec<Report> {
    values.iter().copied().map(Report::Value).collect()
}

/// Asserts that each `(entry, trap)` row, run as a process of `module`,
/// fails with exactly that trap message; lists every row that does not.
pub async fn assert_traps(harness: &Harness, module: &Module, rows: &[(&str, &str)]) {
    let mut wrong = Vec::new();
    for (entry, trap) in rows {
        match harness.spawn(module, entry, &[]).wait().await.status {
            ExitStatus::Failed(failure) if failure.message == *trap => {}
            ExitStatus::Failed(failure) => wrong.push(format!(
                "{entry}:\n   expected {trap}\n        got {}",
                failure.message
            )),
            other => wrong.push(format!("{entry}: expected the trap {trap}, got {other:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows are wrong on {}:\n{}",
        wrong.len(),
        rows.len(),
        harness.engine(),
        wrong.join("\n")
    );
}

/// Asserts `status` is the trap `message`, exactly.
#[track_caller]
pub fn assert_trap(engine: EngineKind, status: &ExitStatus, message: &str) {
    match status {
        ExitStatus::Failed(failure) => assert_eq!(failure.message, message, "on {engine}"),
        other => panic!("expected the trap `{message}` on {engine}, got {other:?}"),
    }
}
