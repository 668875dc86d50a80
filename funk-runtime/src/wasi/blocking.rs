//! Where blocking file-system work runs, so that it never stalls the
//! executor.
//!
//! A Wasmtime guest runs inside `poll` on the executor's threads: a
//! system call that waits there (a read from a slow disk, a FIFO with no
//! writer yet, a network file system) would stop every other process on
//! that thread. So by default ([`Blocking::Offload`]) each blocking
//! operation of a WASI call runs on tokio's blocking pool
//! (`spawn_blocking`), and the call is an async host function that waits
//! for it. A Wasmer guest runs on a thread of its own (a
//! `funk::wasmer::GuestThread`), which stalls nobody but its own process
//! when it blocks: there the runtime chooses [`Blocking::Inline`], which
//! makes the system call on the calling thread and saves the two thread
//! hand-offs.
//!
//! Outside a tokio runtime there is no blocking pool, and `Offload` runs
//! inline too.

use super::Errno;

/// Where a process's blocking WASI operations run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Blocking {
    /// On tokio's blocking pool (`spawn_blocking`): for guests that run on
    /// the executor's threads (Wasmtime).
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

    #[test]
    fn outside_a_runtime_offload_runs_inline() {
        let result = futures::executor::block_on(Blocking::Offload.run(|| Ok(3)));
        assert_eq!(result, Ok(3));
    }
}
