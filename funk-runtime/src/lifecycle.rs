//! A process's life: spawn, run under supervision, die and tell others.
//!
//! `spawn` instantiates the process (so a resource limit is the spawner's
//! error, not a process that dies after its id was handed out) and makes
//! it reachable (an id in its node, its links in place) *before* its entry
//! function runs, then starts a task that drives the engine's future for
//! it. The task stops polling that future as soon as the process is killed
//! (the future is dropped, which unwinds the guest), and when it ends, for
//! whatever reason, the process leaves its node, its links and monitors
//! are told, and a failure is reported through `tracing`.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tokio::sync::oneshot;

use crate::config::ProcessConfig;
use crate::engine::{EntryValue, Module, Preemption, check_entry};
use crate::node::{Node, ProcessLimit};
use crate::outcome::{ExitStatus, Failure, Outcome, ProcessExit};
use crate::process::{self, DeathReason, Process, ProcessId};
use crate::runtime::Shared;
use crate::state::{ProcessState, Stdio};

/// Everything a new process is made from.
pub(crate) struct SpawnRequest {
    pub(crate) module: Arc<dyn Module>,
    pub(crate) config: Arc<ProcessConfig>,
    pub(crate) entry: String,
    pub(crate) args: Vec<EntryValue>,
    pub(crate) stdio: Stdio,
    /// Link the new process to this parent; the parent is told the tag
    /// when the child dies.
    pub(crate) link: Option<(Arc<Process>, Option<i64>)>,
    /// Told how the process ended.
    pub(crate) exit: Option<oneshot::Sender<ProcessExit>>,
}

/// Why a process could not be spawned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// The entry function is missing or has the wrong type.
    #[error("cannot spawn: {0}")]
    Entry(String),
    /// The node runs as many processes as it may.
    #[error("cannot spawn: {0}")]
    Limit(#[from] ProcessLimit),
    /// The process could not be instantiated: a resource limit (memory,
    /// address space, a full instance pool, threads) or a failing start
    /// function. The message says which.
    #[error("cannot spawn: {0}")]
    Instantiate(String),
    /// The process has a compute limit (`max_fuel`) on a runtime built
    /// with `Preemption::Off`, which cannot enforce one.
    #[error(
        "cannot spawn: this process has a compute limit (max_fuel), which a runtime built with Preemption::Off cannot enforce"
    )]
    UnenforceableLimit,
}

/// Spawns a process on `node`. It is instantiated, reachable and linked as
/// requested when this returns; its entry function runs on the executor
/// (on Wasmer, on its guest thread, which may start it at once).
pub(crate) fn spawn(
    shared: &Arc<Shared>,
    node: &Node,
    request: SpawnRequest,
) -> Result<Arc<Process>, SpawnError> {
    check_entry(&*request.module, &request.entry, &request.args).map_err(SpawnError::Entry)?;
    if request.config.max_fuel.is_some() && shared.preemption() == Preemption::Off {
        return Err(SpawnError::UnenforceableLimit);
    }
    let process = node.create_process()?;
    // Linked before any of its code can run (on Wasmer, the entry function
    // starts on its own thread as soon as it is instantiated).
    if let Some((parent, tag)) = &request.link {
        process::link_child(parent, &process, *tag);
    }
    let state = ProcessState::new(
        process.clone(),
        node.clone(),
        shared.clone(),
        request.module.clone(),
        request.config,
        request.stdio,
    );
    let body = match request
        .module
        .clone()
        .start(state, request.entry, request.args)
    {
        Ok(body) => body,
        Err(message) => {
            // It never ran: its parent is not told of a death (the spawn
            // error says it all); whoever found its id meanwhile hears of
            // a failed process.
            if let Some((parent, _)) = &request.link {
                process::unlink(parent, process.id());
            }
            node.remove_process(process.id());
            process.exit(DeathReason::Failure);
            return Err(SpawnError::Instantiate(message));
        }
    };
    shared.executor.spawn(drive(
        shared.clone(),
        node.clone(),
        process.clone(),
        body,
        request.exit,
    ));
    Ok(process)
}

async fn drive(
    shared: Arc<Shared>,
    node: Node,
    process: Arc<Process>,
    body: BoxFuture<'static, Outcome>,
    exit: Option<oneshot::Sender<ProcessExit>>,
) {
    let status = Supervised {
        process: &process,
        body: Some(body),
    }
    .await;
    let id = process.id();
    node.remove_process(id);
    report(&node, id, &status);
    process.exit(status.death_reason());
    if let Some(exit) = exit {
        let _ = exit.send(ProcessExit { id, status });
    }
    // The runtime (its executor among it) outlives every process's task,
    // also on Wasmer, where the process state, which holds it too, is
    // dropped on the guest thread before the task's last wake-up.
    drop(shared);
}

/// Polls a process's body unless it has been killed.
struct Supervised<'p> {
    process: &'p Process,
    body: Option<BoxFuture<'static, Outcome>>,
}

impl Future for Supervised<'_> {
    type Output = ExitStatus;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ExitStatus> {
        if let Some(cause) = self.process.poll_kill(cx.waker()) {
            // Dropping the body unwinds the guest and runs its host
            // futures' destructors.
            self.body = None;
            return Poll::Ready(ExitStatus::Killed(cause));
        }
        let Some(body) = self.body.as_mut() else {
            return Poll::Ready(ExitStatus::Failed(Failure::new("polled after it ended")));
        };
        // Host functions catch their own panics; this catches one from the
        // engine or the runtime, so the process still dies properly.
        match catch_unwind(AssertUnwindSafe(|| body.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(outcome)) => {
                self.body = None;
                Poll::Ready(ExitStatus::from_outcome(outcome))
            }
            Err(payload) => {
                self.body = None;
                let trap = funk::Trap::panic("funk-runtime", payload);
                Poll::Ready(ExitStatus::Failed(Failure::new(trap)))
            }
        }
    }
}

/// Reports an abnormal end through `tracing`; a normal one is silent.
fn report(node: &Node, id: ProcessId, status: &ExitStatus) {
    if status.is_success() {
        return;
    }
    let who = describe(node, id);
    match status {
        ExitStatus::Failed(Failure {
            message,
            backtrace: Some(backtrace),
        }) => {
            tracing::warn!(target: "funk_runtime::process", "process {who} failed: {message}\n{backtrace}")
        }
        ExitStatus::Failed(Failure { message, .. }) => {
            tracing::warn!(target: "funk_runtime::process", "process {who} failed: {message}")
        }
        // An exit code is the guest's own decision, not a fault.
        ExitStatus::Exited(code) => {
            tracing::info!(target: "funk_runtime::process", "process {who} exited with code {code}")
        }
        other => tracing::warn!(target: "funk_runtime::process", "process {who} {other}"),
    }
}

/// `'name'` for a registered process (the guest crate's type prefix
/// stripped), its id otherwise.
fn describe(node: &Node, id: ProcessId) -> String {
    let registry = node.registry();
    let names: Vec<String> = registry
        .names_of(id)
        .map(|name| format!("'{}'", name.splitn(4, '/').last().unwrap_or(name)))
        .collect();
    if names.is_empty() {
        id.to_string()
    } else {
        format!("{id} ({})", names.join(", "))
    }
}
