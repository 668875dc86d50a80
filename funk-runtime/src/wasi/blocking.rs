//! Where blocking file-system work runs, so that it never stalls the
//! executor.
//!
//! A Wasmtime guest runs inside `poll` on the executor's threads: a
//! system call that waits there (a read from a slow disk, a FIFO with no
//! writer yet, a network file system) would stop every other process on
//! that thread. So by default ([`Blocking::Offload`]) each blocking
//! operation of a WASI call first hands the executor thread's other work
//! to another thread: in a runtime process's task on tokio's multi-thread
//! runtime with `block_in_place` (the call then runs where it is, and the
//! process goes on without waiting for a wake-up); anywhere else (a
//! current-thread runtime, a `LocalSet`, an embedder's own task, where
//! `block_in_place` may be refused) by running the operation on the
//! blocking pool (`spawn_blocking`) and waiting for it. The first costs one thread
//! hand-off that nobody waits for; the second two that the process waits
//! for (about 25 µs per operation on the project's machine: a 100 MiB
//! file copied in 64 KiB chunks took 1.3x as long as on `wasmtime-wasi`
//! with it, and 0.6-0.7x with `block_in_place`). A Wasmer guest runs on a
//! thread of its own (a `funk::wasmer::GuestThread`), which stalls nobody
//! but its own process when it blocks: there the runtime chooses
//! [`Blocking::Inline`], which makes the system call on the calling thread.
//!
//! Outside a tokio runtime there is no executor to keep free, and
//! `Offload` runs inline too.

use std::future::Future;

use tokio::runtime::RuntimeFlavor;

use super::Errno;

tokio::task_local! {
    /// Set while a runtime process's own task runs (see
    /// [`in_process_task`]): a task the runtime spawned on its executor,
    /// so a worker thread's, where `block_in_place` is allowed whenever
    /// that executor is multi-threaded.
    static IN_PROCESS_TASK: ();
}

/// Runs `task`, a process's task as the runtime spawns it, so that its
/// blocking WASI operations may use `block_in_place`.
pub(crate) fn in_process_task<F: Future>(task: F) -> impl Future<Output = F::Output> {
    IN_PROCESS_TASK.scope((), task)
}

/// Where a process's blocking WASI operations run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Blocking {
    /// Off the executor: the executor thread's other tasks move to another
    /// thread while the operation runs (`block_in_place`), or, on a
    /// current-thread runtime, the operation runs on the blocking pool
    /// (`spawn_blocking`). For guests that run on the executor's threads
    /// (Wasmtime).
    #[default]
    Offload,
    /// On the calling thread: for guests that have a thread of their own
    /// (Wasmer's guest threads), or embedders that accept the stall.
    Inline,
}

impl Blocking {
    /// Runs `work` where this policy says and waits for it. A panic in
    /// `work` resumes here (funk turns it into a trap naming the call).
    pub(crate) async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> Result<T, Errno> + Send + 'static,
    ) -> Result<T, Errno> {
        let handle = match self {
            Blocking::Inline => return work(),
            Blocking::Offload => match tokio::runtime::Handle::try_current() {
                Ok(handle)
                    if handle.runtime_flavor() == RuntimeFlavor::MultiThread
                        && IN_PROCESS_TASK.try_with(|_| ()).is_ok() =>
                {
                    return tokio::task::block_in_place(work);
                }
                Ok(handle) => handle,
                Err(_) => return work(),
            },
        };
        match handle.spawn_blocking(work).await {
            Ok(result) => result,
            Err(error) => match error.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                // The runtime is shutting down.
                Err(_) => Err(Errno::Canceled),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn offloaded_work_leaves_the_executor_free() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // The work blocks its thread until the executor has run another task.
        let work = tokio::spawn(Blocking::Offload.run(move || {
            rx.recv().map_err(|_| Errno::Io)?;
            Ok(7)
        }));
        tokio::spawn(async move { tx.send(()).unwrap() })
            .await
            .unwrap();
        assert_eq!(work.await.unwrap(), Ok(7));
        assert_eq!(Blocking::Inline.run(|| Ok(1)).await, Ok(1));
    }

    /// Whether blocking `work` ran on its caller's thread. It returns only
    /// once another task has run meanwhile, on a runtime of one worker: so
    /// the executor went on either way.
    async fn offload_from(in_process: bool) -> bool {
        let caller = tokio::spawn(async move {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            // Blocks until another task has run: that task can only run if
            // the worker's queue moved elsewhere.
            let other = tokio::spawn(async move { tx.send(()).unwrap() });
            let here = std::thread::current().id();
            let blocking = Blocking::Offload.run(move || {
                rx.recv().map_err(|_| Errno::Io)?;
                Ok(std::thread::current().id() == here)
            });
            let same_thread = if in_process {
                in_process_task(blocking).await
            } else {
                blocking.await
            };
            other.await.unwrap();
            same_thread.unwrap()
        });
        caller.await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn in_a_process_task_blocking_work_runs_in_place_and_the_executor_moves_on() {
        assert!(offload_from(true).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn elsewhere_blocking_work_goes_to_the_blocking_pool() {
        assert!(!offload_from(false).await);
    }

    #[test]
    fn outside_a_runtime_offload_runs_inline() {
        let result = futures::executor::block_on(Blocking::Offload.run(|| Ok(3)));
        assert_eq!(result, Ok(3));
    }
}
