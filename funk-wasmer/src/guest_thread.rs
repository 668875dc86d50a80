//! Guest threads: how funk runs Wasmer guests that call async host
//! functions without Wasmer's coroutine-based async support.
//!
//! Wasmer keeps trap-handling state for the running wasm in thread-locals.
//! Its `experimental-async` coroutines leave that state behind when a call
//! suspends, so two calls suspended on one thread and resumed in the other
//! order turn the next wasm trap into a crash. funk avoids the problem by
//! construction: a store that calls async host functions lives on a
//! [`GuestThread`] of its own (a Wasmer `Store` is `!Send`, so it is created
//! there too), and the guest executes there with Wasmer's ordinary
//! synchronous API. A thread never holds more than one wasm call stack, so
//! Wasmer's thread-locals are always used in the order they expect.
//!
//! When the guest calls an async host function, the guest thread polls the
//! function's future itself (inside the tokio runtime that was current
//! where the call was made, with the default `tokio` feature). A future
//! that is ready at once costs no more than a synchronous call. A pending
//! one is polled again, on the guest thread, when it is woken: its waker
//! unparks the guest thread directly, so a message or a timer reaches a
//! suspended guest with one thread wake-up, and the task awaiting the
//! [`GuestCall`] has nothing to do until the call ends. (Tokio timers,
//! channels and I/O work from the guest thread because it has entered the
//! runtime; the runtime's own threads drive them.)
//!
//! Dropping a [`GuestCall`] cancels the call. If the guest is suspended in
//! an async host function, the guest thread wakes and drops that function's future
//! (`drop` waits for this, so the destructors of everything the host
//! function held or took have run when it returns), the host function traps
//! ("the guest call was cancelled"), the wasm stack unwinds and your
//! closure finishes on the guest thread; its result is dropped there. Any
//! further host call of a cancelled call, async or not, traps without
//! running. The guest value (and its store) stays on the thread, usable by
//! the next call. If the guest is running wasm instead, `drop` does not
//! wait.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

mod spin;

/// Stack size of a guest thread. Wasm itself runs on a stack Wasmer
/// allocates; this one holds only the embedder's closures and host frames.
const GUEST_THREAD_STACK: usize = 512 * 1024;

/// Idle OS threads kept for reuse by later [`GuestThread`]s.
const MAX_IDLE_THREADS: usize = 64;

/// A thread that owns one guest (typically a Wasmer `Store` with its
/// instance) and runs calls into it, so that the guest can call async host
/// functions.
///
/// [`spawn`](GuestThread::spawn) builds the guest value `G` on the thread;
/// [`call`](GuestThread::call) runs a closure on it there and returns a
/// future of its result. Calls run one at a time, in the order they were
/// made. Dropping the `GuestThread` drops the guest on its thread once the
/// calls already made have finished.
///
/// ```
/// use funk::wasmer::{GuestThread, Host, link};
/// use wasmer::{Engine, FunctionEnv, Imports, Instance, Module, Store, TypedFunction};
///
/// struct Clock;
///
/// #[funk::host_functions(namespace = "env")]
/// impl Clock {
///     async fn later(&mut self, x: u32) -> u32 {
///         tokio::task::yield_now().await;
///         x + 1
///     }
/// }
///
/// struct Guest { store: Store, run: TypedFunction<(), u32> }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let engine = Engine::default();
/// let module = Module::new(&engine, r#"(module
///     (import "env" "later" (func $later (param i32) (result i32)))
///     (func (export "run") (result i32) (call $later (i32.const 41))))"#)?;
/// let guest = GuestThread::spawn(move || {
///     let mut store = Store::new(engine);
///     let env = FunctionEnv::new(&mut store, Host::new(Clock));
///     let mut imports = Imports::new();
///     link(&mut store, &env, &mut imports, |host: &mut Host<Clock>| &mut host.state)?;
///     let instance = Instance::new(&mut store, &module, &imports)?;
///     let run = instance.exports.get_typed_function(&store, "run")?;
///     Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Guest { store, run })
/// })
/// .await?;
/// let answer = guest.call(|g: &mut Guest| g.run.call(&mut g.store)).await?;
/// assert_eq!(answer, 42);
/// # Ok(())
/// # }
/// ```
pub struct GuestThread<G: 'static> {
    calls: Sender<Job<G>>,
}

type Job<G> = Box<dyn FnOnce(&mut G) + Send>;

impl<G: 'static> GuestThread<G> {
    /// Starts a guest thread and builds the guest on it with `init`, which
    /// may itself call into the guest (and so reach async host functions,
    /// for example from a start function). Resolves to `init`'s error if it
    /// fails; the thread is then released.
    ///
    /// # Panics
    /// If the OS cannot start a thread. A panic in `init` is resumed when
    /// the returned future is awaited.
    pub fn spawn<E, F>(init: F) -> GuestCall<Result<GuestThread<G>, E>>
    where
        F: FnOnce() -> Result<G, E> + Send + 'static,
        E: Send + 'static,
    {
        let (calls, queue) = channel::<Job<G>>();
        let exchange = Arc::new(Exchange::for_caller());
        let init_exchange = exchange.clone();
        run_on_pooled_thread(Box::new(move || {
            let mut guest = None;
            init_exchange.run(|| match init() {
                Ok(value) => {
                    guest = Some(value);
                    Ok(GuestThread { calls })
                }
                Err(error) => Err(error),
            });
            if let Some(guest) = guest {
                serve(guest, queue);
            }
        }))
        .expect("cannot start a funk guest thread");
        GuestCall::new(exchange)
    }

    /// Runs `f` on the guest, on its thread, and resolves to its result.
    ///
    /// Inside `f`, use the store with Wasmer's ordinary synchronous API
    /// (`TypedFunction::call` and friends). When the guest calls an async
    /// host function, the returned future drives that function's future on
    /// the executor polling it. If `f` panics, awaiting the call resumes the
    /// panic; the guest stays on the thread for later calls.
    pub fn call<R, F>(&self, f: F) -> GuestCall<R>
    where
        F: FnOnce(&mut G) -> R + Send + 'static,
        R: Send + 'static,
    {
        let exchange = Arc::new(Exchange::for_caller());
        let job_exchange = exchange.clone();
        let job: Job<G> = Box::new(move |guest| job_exchange.run(|| f(guest)));
        if let Err(returned) = self.calls.send(job) {
            // The thread is gone only if it panicked outside a call, which
            // `Exchange::run` prevents; report it as a cancelled call.
            drop(returned);
            exchange.lock().phase = Phase::Finished;
        }
        GuestCall::new(exchange)
    }
}

impl GuestThread<()> {
    /// Runs `f` once on a (pooled) guest thread and resolves to its result:
    /// for a guest that lives for one call, build the store, instantiate
    /// and call in `f`, with one hand-over instead of the two of
    /// [`spawn`](GuestThread::spawn) and [`call`](GuestThread::call).
    /// Async host functions work inside `f`; everything `f` made is dropped
    /// on that thread when it returns. A panic in `f` is resumed when the
    /// returned future is awaited.
    ///
    /// # Panics
    /// If the OS cannot start a thread.
    pub fn once<R, F>(f: F) -> GuestCall<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        Self::try_once(f).expect("cannot start a funk guest thread")
    }

    /// [`once`](GuestThread::once), but a thread the OS refuses (a thread
    /// limit, no memory for its stack) is an error instead of a panic: for
    /// a runtime that must report such limits to whoever asked for the
    /// guest.
    pub fn try_once<R, F>(f: F) -> std::io::Result<GuestCall<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let exchange = Arc::new(Exchange::for_caller());
        let job_exchange = exchange.clone();
        run_on_pooled_thread(Box::new(move || job_exchange.run(f)))?;
        Ok(GuestCall::new(exchange))
    }
}

impl<G: 'static> std::fmt::Debug for GuestThread<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestThread").finish_non_exhaustive()
    }
}

/// Runs the calls sent to one guest until its `GuestThread` is dropped.
fn serve<G>(mut guest: G, queue: Receiver<Job<G>>) {
    while let Ok(job) = queue.recv() {
        job(&mut guest);
    }
}

/// The future of a call made with [`GuestThread::call`] (or of
/// [`GuestThread::spawn`]); resolves to the closure's result. Dropping it
/// cancels the call.
#[must_use = "the guest call is cancelled when this future is dropped"]
pub struct GuestCall<R> {
    exchange: Arc<Exchange>,
    finished: bool,
    _result: PhantomData<fn() -> R>,
}

impl<R> GuestCall<R> {
    fn new(exchange: Arc<Exchange>) -> Self {
        GuestCall {
            exchange,
            finished: false,
            _result: PhantomData,
        }
    }
}

impl<R> std::fmt::Debug for GuestCall<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestCall").finish_non_exhaustive()
    }
}

impl<R: 'static> Future for GuestCall<R> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let mut inner = self.exchange.lock();
        match &mut inner.phase {
            Phase::Running => {
                inner.set_waker(cx.waker());
                Poll::Pending
            }
            Phase::Finished => {
                let outcome = inner.outcome.take();
                drop(inner);
                self.finished = true;
                let Some(outcome) = outcome else {
                    panic!(
                        "the guest thread of this call is gone, or the call was polled after it completed"
                    );
                };
                let outcome = *outcome
                    .downcast::<thread::Result<R>>()
                    .expect("the outcome has the type `GuestThread::call` stored");
                match outcome {
                    Ok(value) => Poll::Ready(value),
                    Err(panic) => resume_unwind(panic),
                }
            }
            Phase::Cancelled => {
                panic!("this guest call was polled after it was cancelled")
            }
        }
    }
}

impl<R> Drop for GuestCall<R> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut inner = self.exchange.lock();
        match inner.phase {
            Phase::Finished => {
                let outcome = inner.outcome.take();
                drop(inner);
                drop(outcome);
            }
            Phase::Running => {
                inner.phase = Phase::Cancelled;
                self.exchange.cancelled.store(true, Ordering::SeqCst);
                self.exchange.guest.notify_all();
                // If the guest thread is inside an async host function
                // (parked on its future, or polling it), it now drops that
                // future (and with it what the host function took and
                // held); wait for that, so those destructors have run when
                // `drop` returns. The wasm stack unwinds and the closure
                // finishes after, on that thread. A guest running wasm is
                // not waited for.
                let exchange = &self.exchange;
                let _inner = exchange
                    .guest
                    .wait_while(inner, |inner| {
                        exchange.in_host.load(Ordering::SeqCst) > 0
                            && !matches!(inner.phase, Phase::Finished)
                    })
                    .unwrap_or_else(PoisonError::into_inner);
            }
            Phase::Cancelled => {}
        }
    }
}

/// The guest call was cancelled: its [`GuestCall`] was dropped.
#[derive(Debug)]
pub(crate) struct Cancelled;

/// Runs `future` to completion for the host function the guest thread is
/// in: polls it here, and while it is pending, parks the guest thread until
/// its waker (or a cancelling `GuestCall::drop`) unparks it. `None` when
/// this thread is not running a [`GuestThread`] call.
pub(crate) fn drive(
    mut future: Pin<&mut (dyn Future<Output = ()> + Send + '_)>,
) -> Option<Result<(), Cancelled>> {
    let exchange = CURRENT.with(|current| current.borrow().clone())?;
    // Paired with `cancelled` (both `SeqCst`): a cancelling `drop` either
    // sees this flag and waits for `settle`, or this thread sees
    // `cancelled` below.
    exchange.in_host.fetch_add(1, Ordering::SeqCst);
    if exchange.cancelled.load(Ordering::SeqCst) {
        // Once a call is cancelled, no more host code runs for it.
        return Some(Err(Cancelled));
    }
    // Most host futures are ready at once (a message already waiting, a
    // write that fits a buffer): the first poll needs no waker of its own.
    if future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_ready()
    {
        return Some(Ok(()));
    }
    Some(exchange.block_on(future))
}

/// Called by the host function once the future it gave [`drive`] is
/// dropped: the guest thread has left the async host function. Wakes a
/// cancelling `GuestCall::drop` waiting for that.
pub(crate) fn settle() {
    CURRENT.with(|current| {
        let current = current.borrow();
        let Some(exchange) = current.as_ref() else {
            return;
        };
        exchange.in_host.fetch_sub(1, Ordering::SeqCst);
        if exchange.cancelled.load(Ordering::SeqCst) {
            // Under the lock, so a `drop` between its check of `in_host`
            // and its wait cannot miss this.
            let _inner = exchange.lock();
            exchange.guest.notify_all();
        }
    });
}

/// Whether the call this thread is running was cancelled. A synchronous
/// host function checks this first, so that, as with async ones, no host
/// code runs for a cancelled call (its guest may still be running wasm).
#[inline(always)]
pub(crate) fn is_cancelled() -> bool {
    let flag = CANCELLED.get();
    // SAFETY: a non-null `CANCELLED` points to the `cancelled` flag of the
    // exchange in `CURRENT` on this thread: `Exchange::run` sets both
    // before the call and resets `CANCELLED` to null before it clears
    // `CURRENT`, whose `Arc` keeps the exchange (and so the flag) alive
    // meanwhile.
    !flag.is_null() && unsafe { (*flag).load(Ordering::Relaxed) }
}

/// Runs `f`, ignoring a panic: for destructors and wakers run on a guest
/// thread outside any call, where a panic would kill the thread and leave
/// the calls queued on it hanging.
fn quietly(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        // Its destructor may panic too.
        funk_core::__private::drop_panic_payload(payload);
    }
}

thread_local! {
    /// The call this guest thread is running.
    static CURRENT: RefCell<Option<Arc<Exchange>>> = const { RefCell::new(None) };
    /// `&CURRENT.cancelled`, or null: what every synchronous host call
    /// checks, kept as a plain pointer so the check is one thread-local
    /// load and one atomic load.
    static CANCELLED: Cell<*const AtomicBool> = const { Cell::new(std::ptr::null()) };
}

/// The state one guest call shares between its guest thread and the task
/// awaiting it.
#[derive(Default)]
struct Exchange {
    /// The tokio runtime current where the call was made, entered on the
    /// guest thread for the call so that host futures polled there can
    /// create timers and I/O resources.
    #[cfg(feature = "tokio")]
    runtime: Option<tokio::runtime::Handle>,
    inner: Mutex<Inner>,
    /// Mirrors `Phase::Cancelled` for a lock-free check before polling.
    cancelled: AtomicBool,
    /// How many async host functions of this call the guest thread is
    /// inside (more than one when a host function called back into the
    /// guest): from [`drive`] until [`settle`].
    in_host: AtomicUsize,
    /// Wakes the guest thread (and a cancelling `drop`).
    guest: Condvar,
    /// Set by a wake before it takes the lock: what a guest thread about to
    /// park spins on (see [`spin`]). Only a hint: `Inner::woken` decides.
    woken_hint: AtomicBool,
}

#[derive(Default)]
struct Inner {
    phase: Phase,
    /// The future the guest thread is parked on was woken.
    woken: bool,
    /// The guest thread waits on the condvar in `block_on`: only then does
    /// a wake need the (system-call) notify.
    parked: bool,
    /// The awaiting task, woken when the call finishes.
    waker: Option<Waker>,
    /// `thread::Result<R>` once finished.
    outcome: Option<Box<dyn Any + Send>>,
}

#[derive(Default)]
enum Phase {
    /// The guest thread runs the closure (or is parked in a host future).
    #[default]
    Running,
    /// The awaiting task dropped the call.
    Cancelled,
    /// The closure returned (or panicked).
    Finished,
}

impl Inner {
    fn set_waker(&mut self, waker: &Waker) {
        match &mut self.waker {
            Some(old) if old.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    fn take_waker(&mut self) -> Option<Waker> {
        self.waker.take()
    }
}

impl Exchange {
    /// An exchange for a call made here (capturing the current tokio
    /// runtime, if any).
    fn for_caller() -> Self {
        Exchange {
            #[cfg(feature = "tokio")]
            runtime: tokio::runtime::Handle::try_current().ok(),
            ..Exchange::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock, but a poisoned lock still
        // holds consistent state.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Polls `future` on this (guest) thread until it is ready, parking
    /// the thread between polls until the future's waker, which is this
    /// exchange, unparks it. `Err` once the call is cancelled.
    fn block_on(
        self: &Arc<Self>,
        mut future: Pin<&mut (dyn Future<Output = ()> + Send + '_)>,
    ) -> Result<(), Cancelled> {
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            // Poll first: a wake sent to the no-op waker of the first poll
            // was not recorded, and polling looks at the future afresh.
            if future.as_mut().poll(&mut cx).is_ready() {
                return Ok(());
            }
            spin::until_woken(&self.woken_hint, &self.cancelled);
            let mut inner = self.lock();
            if !inner.woken && !matches!(inner.phase, Phase::Cancelled) {
                inner.parked = true;
                inner = self
                    .guest
                    .wait_while(inner, |inner| {
                        !inner.woken && !matches!(inner.phase, Phase::Cancelled)
                    })
                    .unwrap_or_else(PoisonError::into_inner);
                inner.parked = false;
            }
            if let Phase::Cancelled = inner.phase {
                return Err(Cancelled);
            }
            inner.woken = false;
            self.woken_hint.store(false, Ordering::Relaxed);
        }
    }

    /// Runs one call on this (guest) thread and reports its outcome. A call
    /// cancelled before it starts does not run.
    fn run<R: Send + 'static>(self: &Arc<Self>, f: impl FnOnce() -> R) {
        let cancelled = matches!(self.lock().phase, Phase::Cancelled);
        if cancelled {
            self.finish(Box::new(()));
            return;
        }
        CURRENT.with(|current| *current.borrow_mut() = Some(self.clone()));
        CANCELLED.set(&self.cancelled);
        #[cfg(feature = "tokio")]
        let entered = self.runtime.as_ref().map(tokio::runtime::Handle::enter);
        let outcome: thread::Result<R> = catch_unwind(AssertUnwindSafe(f));
        #[cfg(feature = "tokio")]
        quietly(|| drop(entered));
        CANCELLED.set(std::ptr::null());
        CURRENT.with(|current| current.borrow_mut().take());
        self.finish(Box::new(outcome));
    }

    fn finish(&self, outcome: Box<dyn Any + Send>) {
        let mut inner = self.lock();
        if let Phase::Cancelled = inner.phase {
            // Nobody will take the outcome: drop it (the store with it)
            // before reporting `Finished`, which a cancelling `drop` awaits.
            drop(inner);
            quietly(|| drop(outcome));
            let mut inner = self.lock();
            inner.phase = Phase::Finished;
            drop(inner);
            self.guest.notify_all();
            return;
        }
        inner.phase = Phase::Finished;
        inner.outcome = Some(outcome);
        let waker = inner.take_waker();
        drop(inner);
        if let Some(waker) = waker {
            quietly(|| waker.wake());
        }
    }
}

/// The waker of the future a guest thread is parked on: unparks it.
impl Wake for Exchange {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // The hint first, for a guest thread spinning before it parks.
        self.woken_hint.store(true, Ordering::Release);
        let mut inner = self.lock();
        inner.woken = true;
        let parked = inner.parked;
        drop(inner);
        if parked {
            self.guest.notify_all();
        }
    }
}

type PooledJob = Box<dyn FnOnce() + Send>;

/// Idle OS threads, each waiting for its next guest.
static IDLE: Mutex<Vec<Sender<PooledJob>>> = Mutex::new(Vec::new());

/// Runs `job` on an idle pooled thread, or on a new one; `Err` if the OS
/// cannot start one.
fn run_on_pooled_thread(mut job: PooledJob) -> std::io::Result<()> {
    loop {
        let idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let Some(thread) = idle else { break };
        match thread.send(job) {
            Ok(()) => return Ok(()),
            // That thread has exited; try the next one.
            Err(returned) => job = returned.0,
        }
    }
    let (sender, receiver) = channel::<PooledJob>();
    sender.send(job).expect("the receiver is alive");
    thread::Builder::new()
        .name("funk-guest".into())
        .stack_size(GUEST_THREAD_STACK)
        .spawn(move || {
            while let Ok(job) = receiver.recv() {
                job();
                let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
                if idle.len() >= MAX_IDLE_THREADS {
                    break;
                }
                idle.push(sender.clone());
            }
        })
        .map(drop)
}
