//! funk's own workers: a FIFO queue per worker thread, a shared queue for
//! wake-ups from other threads, and stealing by idle workers.
//!
//! The rules that make communicating processes stay together:
//! - A task woken on a worker (by a message, a join, its own yield) joins
//!   the back of *that* worker's queue, wherever it ran before.
//! - A worker wakes an idle one only when its queue holds more than one
//!   task: one waiting task is the next thing it runs itself, so a chain
//!   of processes that wake one another never wakes another thread.
//! - A task woken anywhere else (a timer, a socket, a Wasmer guest thread,
//!   the embedder) goes to the shared queue and wakes an idle worker.
//! - An idle worker takes from the shared queue, then steals half of
//!   another worker's queue if it holds more than one task, then sleeps.
//!   It leaves a lone task where it is for the same reason: that is the
//!   next task of a busy worker (the other half of a ping-pong pair); an
//!   idle worker that took it would make every exchange cross threads.
//!   A lone task waits for the time slice of the task running before it:
//!   when that one is preempted, it joins the queue behind the lone task,
//!   and two tasks waiting make the queue stealable (and wake an idle
//!   worker). Behind a poll that does not yield, an idle worker takes it
//!   once it has watched that poll run for 20 µs: idle workers sleep with
//!   a timeout (1 ms, doubling to 64 ms while they find nothing) to come
//!   back and look.
//! - The workers end when the executor is dropped and no task is alive
//!   (queued, running or waiting): a task woken later still runs.
//! - Every other task a worker runs comes from the shared queue when it has
//!   one, so a wake-up from outside (a message from the embedder, a kill,
//!   a timer) waits for at most one time slice of a busy worker's
//!   processes, not for its whole queue. Looking costs two loads when the
//!   shared queue is empty.
//!
//! Tasks are `async-task` tasks: it owns the task state machine (woken
//! while running, woken after completion, dropped while queued), so this
//! file holds only the queues and the sleeping.

use std::cell::RefCell;
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::{Arc, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use async_task::{Runnable, ScheduleInfo, WithInfo};
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use tokio::runtime::Handle;

/// The workers of one runtime. Dropping it lets them end once no task of
/// theirs is left: a task still alive (queued, running or waiting for a
/// wake-up) keeps them, since whatever wakes it needs a worker to run it.
pub(crate) struct LocalExecutor {
    queues: Arc<Queues>,
}

/// What the workers and every task's waker share.
struct Queues {
    /// Tasks woken off the workers.
    shared: Injector<Runnable>,
    /// Each worker's queue, for stealing.
    stealers: Vec<Stealer<Runnable>>,
    /// Each worker's thread, to wake it.
    threads: OnceLock<Vec<Thread>>,
    /// Each worker's flags.
    workers: Vec<WorkerFlags>,
    /// How many `asleep` flags are set, so a wake-up with nobody asleep
    /// reads one counter.
    asleep_count: AtomicUsize,
    /// The executor was dropped: once no task is alive, the workers end.
    closing: AtomicBool,
    /// Tasks spawned and not yet finished or dropped.
    alive: AtomicUsize,
}

/// The fewest waiting tasks that make a worker's queue worth stealing from.
const STEALABLE: usize = 2;

/// How long an idle worker sleeps at first before it looks again for work
/// nobody woke it for, and at most (doubling each time it found nothing):
/// a lone task behind a poll that does not yield (no preemption, or long
/// work in a host function) is queued without waking anybody, so an idle
/// worker must come back to watch it. Past the first, an idle worker wakes
/// about 16 times a second.
const LONE_TASK_RECHECK: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_millis(64));

/// How long an idle worker watches a busy worker that has one task waiting
/// before it takes that task: longer than a message exchange (about a
/// microsecond), far shorter than a time slice.
const LONE_TASK_PATIENCE: Duration = Duration::from_micros(20);

/// What other threads read of a worker; a cache line of its own, since its
/// worker writes `runs` at every task.
#[derive(Default)]
#[repr(align(128))]
struct WorkerFlags {
    /// Asleep (or about to be) and not yet woken.
    asleep: AtomicBool,
    /// Tasks it started running (wrapping): unchanged over a while means
    /// one long poll.
    runs: AtomicUsize,
}

/// The worker the current thread is, if it is one.
struct CurrentWorker {
    /// Whose worker: a task of another executor must not join this queue.
    queues: *const Queues,
    local: Worker<Runnable>,
}

thread_local! {
    static CURRENT: RefCell<Option<CurrentWorker>> = const { RefCell::new(None) };
}

impl LocalExecutor {
    /// Starts `workers` threads, each in the context of the tokio runtime
    /// `handle` (timers, sockets and `spawn_blocking` work there).
    pub(crate) fn new(workers: NonZeroUsize, handle: Handle) -> std::io::Result<LocalExecutor> {
        let locals: Vec<Worker<Runnable>> =
            (0..workers.get()).map(|_| Worker::new_fifo()).collect();
        let queues = Arc::new(Queues {
            shared: Injector::new(),
            stealers: locals.iter().map(Worker::stealer).collect(),
            threads: OnceLock::new(),
            workers: (0..workers.get()).map(|_| WorkerFlags::default()).collect(),
            asleep_count: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            alive: AtomicUsize::new(0),
        });
        let mut threads = Vec::with_capacity(workers.get());
        for (index, local) in locals.into_iter().enumerate() {
            let (worker_queues, handle) = (queues.clone(), handle.clone());
            let thread = thread::Builder::new()
                .name(format!("funk-worker-{index}"))
                .spawn(move || run_worker(worker_queues, index, local, handle));
            match thread {
                Ok(thread) => threads.push(thread.thread().clone()),
                Err(error) => {
                    // The started workers see `closing` and end.
                    queues.close(&threads);
                    return Err(error);
                }
            }
        }
        // Nothing can be scheduled before this returns, so no wake-up
        // misses the threads.
        let _ = queues.threads.set(threads);
        Ok(LocalExecutor { queues })
    }

    /// Starts `task` on the current worker, or through the shared queue
    /// when called off the workers.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        spawn_on(&self.queues, task);
    }
}

/// Starts `task` on the workers of `queues`: see [`LocalExecutor::spawn`].
fn spawn_on(queues: &Arc<Queues>, task: impl Future<Output = ()> + Send + 'static) {
    queues.alive.fetch_add(1, Ordering::SeqCst);
    let alive = Alive(queues.clone());
    let task = async move {
        // Dropped when the task finishes or is dropped unfinished.
        let _alive = alive;
        task.await;
    };
    let queues = queues.clone();
    let schedule = move |runnable: Runnable, info: ScheduleInfo| {
        queues.schedule(runnable, info);
    };
    // A panic that escapes a task is kept in its (detached, so dropped)
    // handle instead of unwinding through the worker.
    let (runnable, handle) = async_task::Builder::new()
        .propagate_panic(true)
        .spawn(move |_| task, WithInfo(schedule));
    handle.detach();
    runnable.schedule();
}

/// Counts a task as alive until it is dropped; the last one to go after
/// the executor was dropped lets the workers end.
struct Alive(Arc<Queues>);

impl Drop for Alive {
    fn drop(&mut self) {
        let queues = &self.0;
        if queues.alive.fetch_sub(1, Ordering::SeqCst) == 1
            && queues.closing.load(Ordering::SeqCst)
            && let Some(threads) = queues.threads.get()
        {
            queues.close(threads);
        }
    }
}

impl Drop for LocalExecutor {
    fn drop(&mut self) {
        if let Some(threads) = self.queues.threads.get() {
            self.queues.close(threads);
        }
    }
}

impl Queues {
    /// Queues a woken task: on the current worker's queue when this thread
    /// is one of ours, on the shared queue otherwise.
    fn schedule(&self, runnable: Runnable, _info: ScheduleInfo) {
        let mut runnable = Some(runnable);
        let crowded = CURRENT
            .try_with(|current| {
                let current = current.borrow();
                match (&*current, runnable.take()) {
                    (Some(worker), Some(task)) if std::ptr::eq(worker.queues, self) => {
                        worker.local.push(task);
                        worker.local.len() >= STEALABLE
                    }
                    (_, task) => {
                        runnable = task;
                        false
                    }
                }
            })
            .unwrap_or(false);
        if let Some(task) = runnable {
            self.shared.push(task);
            self.wake_one();
        } else if crowded {
            self.wake_one();
        }
    }

    /// Wakes one sleeping worker, if any.
    fn wake_one(&self) {
        // Pairs with the fence a worker makes between saying it sleeps and
        // looking at the queues a last time: either it sees the task just
        // queued, or this sees its flag.
        fence(Ordering::SeqCst);
        if self.asleep_count.load(Ordering::SeqCst) == 0 {
            return;
        }
        let Some(threads) = self.threads.get() else {
            return;
        };
        for (flags, thread) in self.workers.iter().zip(threads) {
            // A load first: a swap would write every busy worker's line.
            if flags.asleep.load(Ordering::Relaxed) && flags.asleep.swap(false, Ordering::SeqCst) {
                self.asleep_count.fetch_sub(1, Ordering::SeqCst);
                thread.unpark();
                return;
            }
        }
    }

    /// Whether an idle worker has something to take.
    fn has_work(&self) -> bool {
        !self.shared.is_empty() || self.stealers.iter().any(|s| s.len() >= STEALABLE)
    }

    /// Whether the workers may end: the executor is gone and so is every
    /// task.
    fn finished(&self) -> bool {
        self.closing.load(Ordering::SeqCst) && self.alive.load(Ordering::SeqCst) == 0
    }

    /// A task for `local`'s worker from the shared queue or another worker.
    fn find_work(&self, index: usize, local: &Worker<Runnable>) -> Option<Runnable> {
        let found = self.take_work(index, local);
        // A batch big enough to share: an idle worker that looked while it
        // was being moved here may have gone to sleep.
        if found.is_some() && local.len() >= STEALABLE {
            self.wake_one();
        }
        found
    }

    fn take_work(&self, index: usize, local: &Worker<Runnable>) -> Option<Runnable> {
        loop {
            let mut retry = false;
            match self.shared.steal_batch_and_pop(local) {
                Steal::Success(task) => return Some(task),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            // Start after this worker, so that idle workers do not all
            // pile onto the first one.
            let others = self.stealers.len();
            for offset in 1..others {
                let victim = &self.stealers[(index + offset) % others];
                if victim.len() < STEALABLE {
                    continue;
                }
                match victim.steal_batch_and_pop(local) {
                    Steal::Success(task) => return Some(task),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return self.steal_lone_task(index);
            }
        }
    }

    /// The one waiting task of a worker that has been running another for
    /// [`LONE_TASK_PATIENCE`] without finishing its poll.
    fn steal_lone_task(&self, index: usize) -> Option<Runnable> {
        let watched: Vec<(usize, usize)> = (0..self.stealers.len())
            .filter(|&victim| victim != index && !self.stealers[victim].is_empty())
            .map(|victim| (victim, self.workers[victim].runs.load(Ordering::Relaxed)))
            .collect();
        if watched.is_empty() {
            return None;
        }
        let start = Instant::now();
        while start.elapsed() < LONE_TASK_PATIENCE {
            if !self.shared.is_empty() {
                return None;
            }
            std::hint::spin_loop();
        }
        watched.into_iter().find_map(|(victim, runs)| {
            if self.workers[victim].runs.load(Ordering::Relaxed) != runs {
                return None;
            }
            match self.stealers[victim].steal() {
                Steal::Success(task) => Some(task),
                Steal::Empty | Steal::Retry => None,
            }
        })
    }

    /// Sleeps until woken or `recheck` has passed, unless work turns up
    /// meanwhile.
    fn sleep(&self, index: usize, recheck: Duration) {
        let flag = &self.workers[index].asleep;
        flag.store(true, Ordering::SeqCst);
        self.asleep_count.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if !self.has_work() && !self.finished() {
            thread::park_timeout(recheck);
        }
        // Woken (the waker cleared the flag), or not asleep after all, or
        // a spurious wake-up: clear it here if nobody did.
        if flag.swap(false, Ordering::SeqCst) {
            self.asleep_count.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Tells every worker to end once no task is alive (and wakes them to
    /// see whether none is).
    fn close(&self, threads: &[Thread]) {
        self.closing.store(true, Ordering::SeqCst);
        for thread in threads {
            thread.unpark();
        }
    }
}

fn run_worker(queues: Arc<Queues>, index: usize, local: Worker<Runnable>, handle: Handle) {
    let _tokio = handle.enter();
    CURRENT.with(|current| {
        *current.borrow_mut() = Some(CurrentWorker {
            queues: Arc::as_ptr(&queues),
            local,
        });
    });
    let mut shared_first = false;
    let (first_recheck, last_recheck) = LONE_TASK_RECHECK;
    let mut recheck = first_recheck;
    let runs = &queues.workers[index].runs;
    loop {
        shared_first = !shared_first;
        let next = CURRENT.with(|current| {
            let current = current.borrow();
            let local = &current.as_ref()?.local;
            // `is_empty` first: two plain loads, where `steal` fences.
            if shared_first
                && !queues.shared.is_empty()
                && let Steal::Success(task) = queues.shared.steal()
            {
                return Some(task);
            }
            local.pop().or_else(|| queues.find_work(index, local))
        });
        match next {
            // The task's waker may queue it here again, so the thread-local
            // is not borrowed while it runs.
            Some(task) => {
                recheck = first_recheck;
                // Only this thread writes it: no atomic read-modify-write.
                runs.store(
                    runs.load(Ordering::Relaxed).wrapping_add(1),
                    Ordering::Relaxed,
                );
                task.run();
            }
            None if queues.finished() => break,
            None => {
                queues.sleep(index, recheck);
                recheck = (recheck * 2).min(last_recheck);
            }
        }
    }
    // Every task has ended, so this worker's queue is empty.
    CURRENT.with(|current| current.borrow_mut().take());
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU64;
    use std::time::{Duration, Instant};

    use tokio::sync::{mpsc, oneshot};

    use super::*;

    fn executor(workers: usize) -> (tokio::runtime::Runtime, LocalExecutor) {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let local = LocalExecutor::new(NonZeroUsize::new(workers).unwrap(), tokio.handle().clone())
            .unwrap();
        (tokio, local)
    }

    /// Runs `task` on `local` and waits for what it sends back.
    fn run<T: Send + 'static>(
        local: &LocalExecutor,
        task: impl Future<Output = T> + Send + 'static,
    ) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        local.spawn(async move {
            let _ = tx.send(task.await);
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the task finished")
    }

    #[test]
    fn every_task_runs_once_wherever_it_was_spawned() {
        let (_tokio, local) = executor(2);
        let count = Arc::new(AtomicU64::new(0));
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        // Half from off the workers, half from a task on one.
        for _ in 0..5000 {
            let (count, done) = (count.clone(), done_tx.clone());
            local.spawn(async move {
                count.fetch_add(1, Ordering::Relaxed);
                let _ = done.send(());
            });
        }
        let queues = local.queues.clone();
        let inner_count = count.clone();
        run(&local, async move {
            for _ in 0..5000 {
                let (count, done) = (inner_count.clone(), done_tx.clone());
                spawn_on(&queues, async move {
                    count.fetch_add(1, Ordering::Relaxed);
                    let _ = done.send(());
                });
            }
        });
        for _ in 0..10_000 {
            assert!(done_rx.blocking_recv().is_some());
        }
        assert_eq!(count.load(Ordering::Relaxed), 10_000);
    }

    #[test]
    fn processes_that_wake_one_another_stay_on_one_worker() {
        let (_tokio, local) = executor(2);
        let threads = Arc::new(Mutex::new(HashMap::<thread::ThreadId, u32>::new()));
        let seen = threads.clone();
        let queues = local.queues.clone();
        run(&local, async move {
            let (ping_tx, mut ping_rx) = mpsc::unbounded_channel::<u32>();
            let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<u32>();
            spawn_on(&queues, async move {
                while let Some(n) = ping_rx.recv().await {
                    let _ = pong_tx.send(n);
                }
            });
            for n in 0..2000 {
                ping_tx.send(n).unwrap();
                assert_eq!(pong_rx.recv().await, Some(n));
                // After a warm-up, count where the exchanges run.
                if n >= 100 {
                    *seen
                        .lock()
                        .unwrap()
                        .entry(thread::current().id())
                        .or_default() += 1;
                }
            }
        });
        let threads = threads.lock().unwrap();
        let most = threads.values().copied().max().unwrap_or(0);
        // Only a spurious wake-up of the idle worker (which may then steal
        // the one waiting task) moves the pair; it is rare, not never.
        assert!(most >= 1800, "the pair moved between threads: {threads:?}");
    }

    #[test]
    fn independent_work_spreads_over_the_workers() {
        let (_tokio, local) = executor(2);
        let queues = local.queues.clone();
        let threads = run(&local, async move {
            let mut done = Vec::new();
            for _ in 0..2 {
                let (tx, rx) = oneshot::channel();
                spawn_on(&queues, async move {
                    // Computes without yielding: only another worker can
                    // run the second task meanwhile.
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_millis(200) {
                        std::hint::spin_loop();
                    }
                    let _ = tx.send(thread::current().id());
                });
                done.push(rx);
            }
            let mut threads = Vec::new();
            for rx in done {
                threads.push(rx.await.unwrap());
            }
            threads
        });
        assert_ne!(threads[0], threads[1]);
    }

    /// Computes for `time`, yielding every millisecond as a preempted
    /// process does; returns the thread it ran on last.
    async fn compute_in_slices(time: Duration) -> thread::ThreadId {
        let start = Instant::now();
        while start.elapsed() < time {
            let slice = Instant::now();
            while slice.elapsed() < Duration::from_millis(1) {
                std::hint::spin_loop();
            }
            tokio::task::yield_now().await;
        }
        thread::current().id()
    }

    #[test]
    fn a_lone_task_behind_a_busy_one_moves_at_its_next_yield() {
        let (_tokio, local) = executor(2);
        let queues = local.queues.clone();
        let (first, second) = run(&local, async move {
            let (tx, rx) = oneshot::channel();
            // Queued alone behind the task that spawned it.
            spawn_on(&queues, async move {
                let _ = tx.send(compute_in_slices(Duration::from_millis(200)).await);
            });
            let first = compute_in_slices(Duration::from_millis(200)).await;
            (first, rx.await.unwrap())
        });
        assert_ne!(first, second, "both computed on one worker");
    }

    #[test]
    fn a_lone_task_behind_a_poll_that_never_yields_is_taken() {
        let (_tokio, local) = executor(2);
        let queues = local.queues.clone();
        let (waited, spun) = run(&local, async move {
            let (tx, rx) = std::sync::mpsc::channel();
            let start = Instant::now();
            spawn_on(&queues, async move {
                let _ = tx.send(start.elapsed());
            });
            // One poll of a second: nothing queues behind the lone task.
            while start.elapsed() < Duration::from_secs(1) {
                std::hint::spin_loop();
            }
            let spun = start.elapsed();
            (rx.recv().unwrap(), spun)
        });
        assert!(
            waited < spun,
            "the lone task waited {waited:?} for the poll to end"
        );
    }

    #[test]
    fn a_task_woken_after_its_executor_is_dropped_still_runs() {
        let (_tokio, local) = executor(2);
        let (wake, woken) = oneshot::channel::<u32>();
        let (done, finished) = std::sync::mpsc::channel();
        local.spawn(async move {
            let _ = done.send(woken.await.unwrap());
        });
        let queues = Arc::downgrade(&local.queues);
        drop(local);
        thread::sleep(Duration::from_millis(20));
        wake.send(9).unwrap();
        assert_eq!(finished.recv_timeout(Duration::from_secs(30)), Ok(9));
        wait_for_the_workers_to_end(&queues);
    }

    #[test]
    fn wake_ups_from_other_threads_and_timers_reach_the_task() {
        let (_tokio, local) = executor(1);
        let (tx, rx) = oneshot::channel::<u32>();
        let plain = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            tx.send(7).unwrap();
        });
        let got = run(&local, async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            rx.await.unwrap()
        });
        plain.join().unwrap();
        assert_eq!(got, 7);
    }

    /// Waits until no worker holds `queues` any more.
    fn wait_for_the_workers_to_end(queues: &std::sync::Weak<Queues>) {
        let start = Instant::now();
        while queues.upgrade().is_some() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "a worker kept running"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_panicking_task_leaves_its_worker_running() {
        let (_tokio, local) = executor(1);
        local.spawn(async { panic!("a task's own panic") });
        assert_eq!(run(&local, async { 5 }), 5);
    }

    #[test]
    fn the_workers_end_with_their_executor() {
        let (_tokio, local) = executor(2);
        assert_eq!(run(&local, async { 1 }), 1);
        let queues = Arc::downgrade(&local.queues);
        drop(local);
        wait_for_the_workers_to_end(&queues);
    }
}
