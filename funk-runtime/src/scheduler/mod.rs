//! Where processes' tasks run: on the tokio runtime the embedder gave, or
//! on funk's own workers, which keep communicating processes on one thread.
//!
//! A process is a future; a message, a join or a timer that it waits for
//! wakes it. On tokio's multi-thread runtime a woken task often moves to
//! another worker (a full LIFO slot sends it to the shared queue, and a
//! parked worker is woken to take it), and every such move costs a
//! cross-thread wake-up, several microseconds on a small machine: a token
//! passed around a ring of processes crosses threads at most hops. The
//! [`Scheduler::Local`] workers run a woken process on the worker that woke
//! it, and wake an idle worker only when a worker has more than one task
//! waiting, so a chain of processes that wake one another (a ring,
//! ping-pong, spawn and join) stays on one thread, while independent work
//! still spreads over every worker (an idle worker steals half of a busy
//! one's queue).

mod local;

use std::future::Future;
use std::num::NonZeroUsize;

use tokio::runtime::Handle;

pub(crate) use local::LocalExecutor;

/// How a runtime schedules its processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheduler {
    /// Each process is a task of the tokio runtime the runtime was built in
    /// (or given with [`RuntimeBuilder::executor`](crate::RuntimeBuilder::executor)).
    /// Blocking WASI file operations hand the worker's other tasks to
    /// another thread (`block_in_place`) and run where they are.
    #[default]
    Tokio,
    /// Processes run on funk's own worker threads (`workers` of them;
    /// `None`: one per CPU), which keep a woken process on the thread that
    /// woke it; see the [module documentation](self). Timers, sockets and
    /// the blocking pool are still those of the tokio runtime the runtime
    /// was built with. Blocking WASI file operations run on tokio's
    /// blocking pool while the process waits (a thread hand-off each way,
    /// tens of microseconds per operation). The worker threads end when
    /// the runtime and all its processes are gone.
    Local {
        /// Worker threads; `None`: one per CPU.
        workers: Option<NonZeroUsize>,
    },
}

/// A runtime's executor for process tasks.
pub(crate) enum Executor {
    Tokio(Handle),
    Local(LocalExecutor),
}

impl Executor {
    /// The executor `scheduler` asks for; `handle` is the tokio runtime the
    /// local workers enter (for timers, sockets and the blocking pool).
    pub(crate) fn new(scheduler: Scheduler, handle: &Handle) -> std::io::Result<Executor> {
        Ok(match scheduler {
            Scheduler::Tokio => Executor::Tokio(handle.clone()),
            Scheduler::Local { workers } => {
                let workers = match workers {
                    Some(workers) => workers,
                    None => std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
                };
                Executor::Local(LocalExecutor::new(workers, handle.clone())?)
            }
        })
    }

    /// Starts a process's task.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        match self {
            // Only a tokio worker may `block_in_place`.
            Executor::Tokio(handle) => {
                handle.spawn(crate::wasi::in_process_task(task));
            }
            Executor::Local(local) => local.spawn(task),
        }
    }
}
