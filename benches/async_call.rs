//! Async host calls: funk versus the engine's own async host-function API.
//!
//! For each engine (Wasmtime, Wasmer) the same WAT module is instantiated
//! twice: once linked through `#[funk::host_functions]` with `async fn`
//! methods, once against hand-written host functions that use the engine's
//! native async API (Wasmtime `Linker::func_wrap_async`; Wasmer
//! `Function::new_typed_with_env_async` behind its `experimental-async`
//! feature). Both do the same work:
//!
//! - `ready`: the host future is ready at its first poll;
//! - `suspend_once`: the host future awaits [`YieldOnce`], which wakes its
//!   own waker and returns `Pending` once, then `Ready`: one real suspension
//!   per host call, independent of the executor (no timers).
//!
//! One measured iteration makes one async guest call of an export that
//! loops [`CALLS`] times calling the import, so the cost of entering the
//! guest is spread over [`CALLS`] host calls; divide the reported time by
//! [`CALLS`] (criterion's throughput line shows calls per second). Every
//! future, funk's and the baseline's, is driven by
//! `futures::executor::block_on` on the bench thread.
//!
//! The `*-entry` groups measure one guest call of an empty export: async
//! entry versus a synchronous call on the current thread. The
//! `thread-round-trip` group measures the floor of handing control to
//! another OS thread and back, which funk's Wasmer guest threads pay per
//! suspension.
//!
//! Before criterion runs, `main` measures the memory of [`SUSPENDED`] guest
//! calls suspended at once in an async host function (RSS and virtual size
//! from `/proc/self/status`, and OS threads for Wasmer) and prints it.
//!
//! Run with `cargo bench --all-features --bench async_call`; add
//! `-- --instructions` for instruction counts under callgrind instead (see
//! `support/instructions.rs`).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput};
use futures::channel::oneshot;
use futures::executor::block_on;

#[path = "support/instructions.rs"]
#[allow(dead_code)]
mod instructions;

/// Host calls per measured iteration.
const CALLS: u32 = 1000;

/// Guest calls suspended at once for the memory measurement.
const SUSPENDED: usize = 500;

/// Returns `Pending` once (after waking its own waker), then `Ready`: one
/// suspension that any executor resumes at once.
#[derive(Default)]
struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

// ---------------------------------------------------------------------------
// funk

/// The funk host state of the timed cases.
#[derive(Default)]
struct Bench;

#[funk::host_functions(namespace = "bench")]
impl Bench {
    async fn ready(&mut self, x: u32) -> u32 {
        x.wrapping_add(1)
    }

    async fn suspend_once(&mut self, x: u32) -> u32 {
        YieldOnce::default().await;
        x.wrapping_add(1)
    }
}

/// The guest of the timed cases: `run_*(n)` calls the import `n` times,
/// feeding each result into the next call, and returns the last one (`n`).
const BENCH_WAT: &str = r#"(module
    (import "bench" "ready" (func $ready (param i32) (result i32)))
    (import "bench" "suspend_once" (func $suspend_once (param i32) (result i32)))
    (func (export "nop"))
    (func (export "run_ready") (param $n i32) (result i32)
        (local $acc i32)
        (block $done
            (loop $next
                (br_if $done (i32.eqz (local.get $n)))
                (local.set $acc (call $ready (local.get $acc)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br $next)))
        (local.get $acc))
    (func (export "run_suspend_once") (param $n i32) (result i32)
        (local $acc i32)
        (block $done
            (loop $next
                (br_if $done (i32.eqz (local.get $n)))
                (local.set $acc (call $suspend_once (local.get $acc)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br $next)))
        (local.get $acc)))"#;

/// The funk host state of the memory measurement: `park` suspends until
/// its gate is released.
struct Parker {
    gate: Option<oneshot::Receiver<()>>,
    parked: Arc<AtomicUsize>,
}

#[funk::host_functions(namespace = "park")]
impl Parker {
    async fn park(&mut self) -> u32 {
        self.parked.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = self.gate.take() {
            gate.await.expect("the gate is released, not dropped");
        }
        1
    }
}

const PARK_WAT: &str = r#"(module
    (import "park" "park" (func $park (result i32)))
    (func (export "park") (result i32) (call $park)))"#;

/// The timed cases.
#[derive(Debug, Clone, Copy)]
enum Case {
    Ready,
    SuspendOnce,
}

impl Case {
    const ALL: [Case; 2] = [Case::Ready, Case::SuspendOnce];

    fn label(self) -> &'static str {
        match self {
            Case::Ready => "ready",
            Case::SuspendOnce => "suspend_once",
        }
    }

    fn export(self) -> &'static str {
        match self {
            Case::Ready => "run_ready",
            Case::SuspendOnce => "run_suspend_once",
        }
    }
}

/// One instance of [`BENCH_WAT`], linked one way.
trait Runner {
    /// One async guest call of `case`'s export with `n` host calls.
    fn run(&mut self, case: Case, n: u32) -> Result<u32, String>;
    /// One async guest call of the empty export.
    fn nop(&mut self) -> Result<(), String>;
}

// ---------------------------------------------------------------------------
// Wasmtime

mod on_wasmtime {
    use super::*;
    use funk::wasmtime::{Host, link};
    use wasmtime::{Caller, Engine, Linker, Module, Store, TypedFunc};

    pub struct Side<T: 'static> {
        store: Store<T>,
        runs: Vec<TypedFunc<u32, u32>>,
        nop: TypedFunc<(), ()>,
    }

    impl<T: Send + 'static> Side<T> {
        fn new(mut store: Store<T>, linker: &Linker<T>, module: &Module) -> Self {
            let instance = block_on(linker.instantiate_async(&mut store, module)).unwrap();
            let runs = Case::ALL
                .iter()
                .map(|case| instance.get_typed_func(&mut store, case.export()).unwrap())
                .collect();
            let nop = instance.get_typed_func(&mut store, "nop").unwrap();
            Side { store, runs, nop }
        }
    }

    impl<T: Send + 'static> Runner for Side<T> {
        fn run(&mut self, case: Case, n: u32) -> Result<u32, String> {
            block_on(self.runs[case as usize].call_async(&mut self.store, n))
                .map_err(|e| format!("{e:?}"))
        }

        fn nop(&mut self) -> Result<(), String> {
            block_on(self.nop.call_async(&mut self.store, ())).map_err(|e| format!("{e:?}"))
        }
    }

    /// funk: `link` of the async methods.
    pub fn funk(engine: &Engine, module: &Module) -> Side<Host<Bench>> {
        let mut linker = Linker::new(engine);
        link(&mut linker, |host: &mut Host<Bench>| &mut host.state).unwrap();
        Side::new(Store::new(engine, Host::new(Bench)), &linker, module)
    }

    /// Native: `func_wrap_async` closures written by hand. Nothing can fail,
    /// so they return a bare `u32`, as an expert would write them.
    pub fn native(engine: &Engine, module: &Module) -> Side<()> {
        let mut linker = Linker::new(engine);
        linker
            .func_wrap_async("bench", "ready", |_: Caller<'_, ()>, (x,): (u32,)| {
                Box::new(async move { x.wrapping_add(1) })
            })
            .unwrap();
        linker
            .func_wrap_async(
                "bench",
                "suspend_once",
                |_: Caller<'_, ()>, (x,): (u32,)| {
                    Box::new(async move {
                        YieldOnce::default().await;
                        x.wrapping_add(1)
                    })
                },
            )
            .unwrap();
        Side::new(Store::new(engine, ()), &linker, module)
    }

    /// The same module with synchronous imports, for the entry baseline.
    pub struct Sync {
        store: Store<()>,
        nop: TypedFunc<(), ()>,
    }

    impl Sync {
        pub fn new(engine: &Engine, module: &Module) -> Self {
            let mut linker = Linker::new(engine);
            for name in ["ready", "suspend_once"] {
                linker
                    .func_wrap("bench", name, |x: u32| x.wrapping_add(1))
                    .unwrap();
            }
            let mut store = Store::new(engine, ());
            let instance = linker.instantiate(&mut store, module).unwrap();
            let nop = instance.get_typed_func(&mut store, "nop").unwrap();
            Sync { store, nop }
        }

        pub fn nop(&mut self) {
            self.nop.call(&mut self.store, ()).unwrap();
        }
    }

    /// Suspends [`SUSPENDED`] guest calls in `Parker::park`, one store each,
    /// and reports what the stores and the suspended calls cost.
    pub fn memory(engine: &Engine) -> Memory {
        use funk::wasmtime::link;
        let module = Module::new(engine, PARK_WAT).unwrap();
        let mut linker = Linker::new(engine);
        link(&mut linker, |host: &mut Host<Parker>| &mut host.state).unwrap();
        let parked = Arc::new(AtomicUsize::new(0));
        let new_store = |gate| {
            let state = Parker {
                gate,
                parked: parked.clone(),
            };
            let mut store = Store::new(engine, Host::new(state));
            let instance = block_on(linker.instantiate_async(&mut store, &module)).unwrap();
            let park: TypedFunc<(), u32> = instance.get_typed_func(&mut store, "park").unwrap();
            (store, park)
        };
        // Warm up: fault in the code and the allocator's first pages.
        {
            let (mut store, park) = new_store(None);
            assert_eq!(block_on(park.call_async(&mut store, ())).unwrap(), 1);
            parked.store(0, Ordering::SeqCst);
        }

        let before = ProcStatus::read();
        let mut gates = Vec::with_capacity(SUSPENDED);
        let mut guests: Vec<_> = (0..SUSPENDED)
            .map(|_| {
                let (release, gate) = oneshot::channel();
                gates.push(release);
                new_store(Some(gate))
            })
            .collect();
        let idle = ProcStatus::read();
        let mut calls: Vec<_> = guests
            .iter_mut()
            .map(|(store, park)| Box::pin(park.call_async(store, ())))
            .collect();
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        for call in &mut calls {
            assert!(call.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(parked.load(Ordering::SeqCst), SUSPENDED);
        let suspended = ProcStatus::read();

        for release in gates {
            release.send(()).unwrap();
        }
        for result in block_on(futures::future::join_all(calls)) {
            assert_eq!(result.unwrap(), 1);
        }
        drop(guests);
        Memory {
            before,
            idle,
            suspended,
        }
    }
}

// ---------------------------------------------------------------------------
// Wasmer

mod on_wasmer {
    use super::*;
    use funk::wasmer::{GuestThread, Host, link};
    use wasmer::{
        AsyncFunctionEnvMut, Engine, Function, FunctionEnv, Imports, Instance, Module, Store,
        StoreAsync, TypedFunction,
    };

    /// What a funk guest thread owns.
    pub struct Guest {
        store: Store,
        runs: Vec<TypedFunction<u32, u32>>,
        nop: TypedFunction<(), ()>,
    }

    impl Guest {
        fn new(mut store: Store, module: &Module, imports: &Imports) -> Self {
            let instance = Instance::new(&mut store, module, imports).unwrap();
            let runs = Case::ALL
                .iter()
                .map(|case| {
                    instance
                        .exports
                        .get_typed_function(&store, case.export())
                        .unwrap()
                })
                .collect();
            let nop = instance.exports.get_typed_function(&store, "nop").unwrap();
            Guest { store, runs, nop }
        }
    }

    /// funk: the store lives on a `GuestThread`; each guest call is a
    /// `GuestThread::call` running the synchronous `TypedFunction::call`.
    pub struct Funk {
        guest: GuestThread<Guest>,
    }

    pub fn funk(engine: &Engine, module: &Module) -> Funk {
        let (engine, module) = (engine.clone(), module.clone());
        let guest = block_on(GuestThread::spawn(move || {
            let mut store = Store::new(engine);
            let env = FunctionEnv::new(&mut store, Host::new(Bench));
            let mut imports = Imports::new();
            link(&mut store, &env, &mut imports, |host: &mut Host<Bench>| {
                &mut host.state
            })?;
            Ok::<_, funk::LinkError>(Guest::new(store, &module, &imports))
        }))
        .unwrap();
        Funk { guest }
    }

    impl Runner for Funk {
        fn run(&mut self, case: Case, n: u32) -> Result<u32, String> {
            // The guest runs on its own thread, which callgrind's toggle
            // does not reach: the Wasmer groups are counted over the whole
            // process (`instruction_report`).
            block_on(
                self.guest
                    .call(move |g: &mut Guest| g.runs[case as usize].call(&mut g.store, n)),
            )
            .map_err(|e| format!("{e:?}"))
        }

        fn nop(&mut self) -> Result<(), String> {
            block_on(self.guest.call(|g: &mut Guest| g.nop.call(&mut g.store)))
                .map_err(|e| format!("{e:?}"))
        }
    }

    /// Native: `Function::new_typed_with_env_async` closures written by
    /// hand (the environment is not locked: the work needs no state), the
    /// store turned into a `StoreAsync`, `TypedFunction::call_async`. Only
    /// one call is in flight at a time.
    pub struct Native {
        store: StoreAsync,
        runs: Vec<TypedFunction<u32, u32>>,
        nop: TypedFunction<(), ()>,
    }

    pub fn native(engine: &Engine, module: &Module) -> Native {
        let mut store = Store::new(engine.clone());
        let env = FunctionEnv::new(&mut store, ());
        let ready = Function::new_typed_with_env_async(
            &mut store,
            &env,
            |_: AsyncFunctionEnvMut<()>, x: u32| async move { x.wrapping_add(1) },
        );
        let suspend_once = Function::new_typed_with_env_async(
            &mut store,
            &env,
            |_: AsyncFunctionEnvMut<()>, x: u32| async move {
                YieldOnce::default().await;
                x.wrapping_add(1)
            },
        );
        let mut imports = Imports::new();
        imports.define("bench", "ready", ready);
        imports.define("bench", "suspend_once", suspend_once);
        let Guest { store, runs, nop } = Guest::new(store, module, &imports);
        Native {
            store: store.into_async(),
            runs,
            nop,
        }
    }

    impl Runner for Native {
        fn run(&mut self, case: Case, n: u32) -> Result<u32, String> {
            block_on(self.runs[case as usize].call_async(&self.store, n))
                .map_err(|e| format!("{e:?}"))
        }

        fn nop(&mut self) -> Result<(), String> {
            block_on(self.nop.call_async(&self.store)).map_err(|e| format!("{e:?}"))
        }
    }

    /// The same module with synchronous imports, called on this thread, for
    /// the entry baseline.
    pub struct Sync {
        guest: Guest,
    }

    impl Sync {
        pub fn new(engine: &Engine, module: &Module) -> Self {
            let mut store = Store::new(engine.clone());
            let mut imports = Imports::new();
            for name in ["ready", "suspend_once"] {
                let function = Function::new_typed(&mut store, |x: u32| x.wrapping_add(1));
                imports.define("bench", name, function);
            }
            Sync {
                guest: Guest::new(store, module, &imports),
            }
        }

        pub fn nop(&mut self) {
            self.guest.nop.call(&mut self.guest.store).unwrap();
        }
    }

    /// What a funk guest thread of the memory measurement owns.
    struct ParkGuest {
        store: Store,
        park: TypedFunction<(), u32>,
    }

    fn spawn_parker(
        engine: &Engine,
        module: &Module,
        gate: Option<oneshot::Receiver<()>>,
        parked: &Arc<AtomicUsize>,
    ) -> GuestThread<ParkGuest> {
        let (engine, module, parked) = (engine.clone(), module.clone(), parked.clone());
        block_on(GuestThread::spawn(move || {
            let mut store = Store::new(engine);
            let env = FunctionEnv::new(&mut store, Host::new(Parker { gate, parked }));
            let mut imports = Imports::new();
            link(&mut store, &env, &mut imports, |host: &mut Host<Parker>| {
                &mut host.state
            })?;
            let instance = Instance::new(&mut store, &module, &imports).unwrap();
            let park = instance.exports.get_typed_function(&store, "park").unwrap();
            Ok::<_, funk::LinkError>(ParkGuest { store, park })
        }))
        .unwrap()
    }

    /// Suspends [`SUSPENDED`] guest calls in `Parker::park`, one
    /// `GuestThread` each, and reports what the guests and the suspended
    /// calls cost.
    pub fn memory(engine: &Engine) -> Memory {
        use futures::StreamExt;
        use futures::stream::FuturesUnordered;

        let module = Module::new(engine, PARK_WAT).unwrap();
        let parked = Arc::new(AtomicUsize::new(0));
        // Warm up: fault in the code and the allocator's first pages. The
        // thread goes back to funk's pool and serves the first guest below.
        {
            let guest = spawn_parker(engine, &module, None, &parked);
            let result = block_on(guest.call(|g: &mut ParkGuest| g.park.call(&mut g.store)));
            assert_eq!(result.unwrap(), 1);
            parked.store(0, Ordering::SeqCst);
        }

        let before = ProcStatus::read();
        let mut gates = Vec::with_capacity(SUSPENDED);
        let guests: Vec<_> = (0..SUSPENDED)
            .map(|_| {
                let (release, gate) = oneshot::channel();
                gates.push(release);
                spawn_parker(engine, &module, Some(gate), &parked)
            })
            .collect();
        let idle = ProcStatus::read();
        let mut calls: FuturesUnordered<_> = guests
            .iter()
            .map(|guest| guest.call(|g: &mut ParkGuest| g.park.call(&mut g.store)))
            .collect();
        // Poll until every host future has been polled once and waits at
        // its gate (each guest thread blocked in its host call).
        block_on(futures::future::poll_fn(|cx| {
            if let Poll::Ready(done) = calls.poll_next_unpin(cx) {
                panic!("a parked call finished early: {done:?}");
            }
            if parked.load(Ordering::SeqCst) == SUSPENDED {
                Poll::Ready(())
            } else {
                // A call's future is woken only when the call finishes,
                // not when its guest thread reaches the gate: poll again
                // (after giving the guest threads the CPU) instead of
                // waiting for a wake that never comes.
                std::thread::yield_now();
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }));
        let suspended = ProcStatus::read();

        for release in gates {
            release.send(()).unwrap();
        }
        for result in block_on(calls.collect::<Vec<_>>()) {
            assert_eq!(result.unwrap(), 1);
        }
        drop(guests);
        Memory {
            before,
            idle,
            suspended,
        }
    }
}

// ---------------------------------------------------------------------------
// Memory per suspended instance.

/// The fields of `/proc/self/status` the memory measurement reads.
#[derive(Debug, Clone, Copy)]
struct ProcStatus {
    /// Resident set, KiB.
    rss_kib: i64,
    /// Virtual size, KiB.
    virt_kib: i64,
    /// OS threads.
    threads: i64,
}

impl ProcStatus {
    fn read() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
        let field = |name: &str| -> i64 {
            let line = status
                .lines()
                .find(|line| line.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} in /proc/self/status"));
            line[name.len()..]
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("bad {line:?}"))
        };
        ProcStatus {
            rss_kib: field("VmRSS:"),
            virt_kib: field("VmSize:"),
            threads: field("Threads:"),
        }
    }
}

/// `/proc/self/status` before making the instances, with them idle, and
/// with a call suspended in each.
struct Memory {
    before: ProcStatus,
    idle: ProcStatus,
    suspended: ProcStatus,
}

impl Memory {
    fn print(&self, engine: &str) {
        let per = |from: i64, to: i64| (to - from) as f64 / SUSPENDED as f64;
        let (b, i, s) = (self.before, self.idle, self.suspended);
        println!(
            "{engine}-memory: {SUSPENDED} instances; per instance: \
             idle RSS {:.1} KiB, +suspended RSS {:.1} KiB, total RSS {:.1} KiB; \
             virtual: idle {:.1} KiB, +suspended {:.1} KiB; \
             OS threads {} -> {} (idle) -> {} (suspended)",
            per(b.rss_kib, i.rss_kib),
            per(i.rss_kib, s.rss_kib),
            per(b.rss_kib, s.rss_kib),
            per(b.virt_kib, i.virt_kib),
            per(i.virt_kib, s.virt_kib),
            b.threads,
            i.threads,
            s.threads,
        );
    }
}

// ---------------------------------------------------------------------------
// Checking and measuring.

/// Both sides return the same results.
fn check_same(engine: &str, funk: &mut impl Runner, native: &mut impl Runner) {
    for case in Case::ALL {
        for n in [0, 1, 3] {
            let got = funk.run(case, n);
            assert_eq!(got, Ok(n), "{engine} funk {case:?}({n})");
            assert_eq!(
                got,
                native.run(case, n),
                "{engine} {case:?}: funk vs native"
            );
        }
    }
    funk.nop().unwrap();
    native.nop().unwrap();
}

fn measure(c: &mut Criterion, engine: &str, funk: &mut impl Runner, native: &mut impl Runner) {
    check_same(engine, funk, native);
    for case in Case::ALL {
        let mut group = c.benchmark_group(format!("{engine}-{}", case.label()));
        group.throughput(Throughput::Elements(CALLS.into()));
        // One iteration of funk's Wasmer `suspend_once` takes milliseconds:
        // sample with a fixed iteration count instead of a linear ramp.
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("native", |bench| {
            bench.iter(|| native.run(case, black_box(CALLS)).unwrap())
        });
        group.bench_function("funk", |bench| {
            bench.iter(|| funk.run(case, black_box(CALLS)).unwrap())
        });
        group.finish();
    }
}

fn wasmtime_benches(c: &mut Criterion) {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, BENCH_WAT).unwrap();
    let mut funk = on_wasmtime::funk(&engine, &module);
    let mut native = on_wasmtime::native(&engine, &module);
    measure(c, "wasmtime", &mut funk, &mut native);

    let mut sync = on_wasmtime::Sync::new(&engine, &module);
    let mut group = c.benchmark_group("wasmtime-entry");
    group.bench_function("sync call", |bench| bench.iter(|| sync.nop()));
    group.bench_function("call_async (funk store)", |bench| {
        bench.iter(|| funk.nop().unwrap())
    });
    group.bench_function("call_async (native store)", |bench| {
        bench.iter(|| native.nop().unwrap())
    });
    group.finish();
}

fn wasmer_benches(c: &mut Criterion) {
    let engine = wasmer::Engine::default();
    let module = wasmer::Module::new(&engine, BENCH_WAT).unwrap();
    let mut funk = on_wasmer::funk(&engine, &module);
    let mut native = on_wasmer::native(&engine, &module);
    measure(c, "wasmer", &mut funk, &mut native);

    let mut sync = on_wasmer::Sync::new(&engine, &module);
    let mut group = c.benchmark_group("wasmer-entry");
    group.bench_function("sync call", |bench| bench.iter(|| sync.nop()));
    group.bench_function("native call_async", |bench| {
        bench.iter(|| native.nop().unwrap())
    });
    group.bench_function("funk GuestThread::call", |bench| {
        bench.iter(|| funk.nop().unwrap())
    });
    group.finish();
}

/// The floor of any design that runs the guest on an OS thread of its own
/// and the host future on the caller's: [`CALLS`] round trips between the
/// bench thread and a helper thread, each blocking on a futex (`Mutex` +
/// `Condvar`, as funk's guest threads do) while the other runs.
fn thread_round_trips(c: &mut Criterion) {
    /// Whose turn it is, and whether the helper should exit.
    #[derive(Default)]
    struct Turn {
        helper: bool,
        stop: bool,
    }
    let shared = Arc::new((Mutex::new(Turn::default()), Condvar::new()));
    let helper = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            let (turn, changed) = &*shared;
            let mut turn = turn.lock().unwrap();
            loop {
                turn = changed.wait_while(turn, |t| !t.helper && !t.stop).unwrap();
                if turn.stop {
                    return;
                }
                turn.helper = false;
                changed.notify_one();
            }
        })
    };
    let mut group = c.benchmark_group("thread-round-trip");
    group.throughput(Throughput::Elements(CALLS.into()));
    group.bench_function("mutex+condvar", |bench| {
        bench.iter(|| {
            let (turn, changed) = &*shared;
            let mut turn = turn.lock().unwrap();
            for _ in 0..black_box(CALLS) {
                turn.helper = true;
                changed.notify_one();
                turn = changed.wait_while(turn, |t| t.helper).unwrap();
            }
        })
    });
    group.finish();
    shared.0.lock().unwrap().stop = true;
    shared.1.notify_one();
    helper.join().unwrap();
}

fn memory_report() {
    on_wasmtime::memory(&wasmtime::Engine::default()).print("wasmtime");
    on_wasmer::memory(&wasmer::Engine::default()).print("wasmer");
}

/// Every side of one engine, by name.
fn sides(engine: &str) -> Vec<(&'static str, Box<dyn Runner>)> {
    match engine {
        "wasmtime" => {
            let engine = wasmtime::Engine::default();
            let module = wasmtime::Module::new(&engine, BENCH_WAT).unwrap();
            vec![
                (
                    "native",
                    Box::new(on_wasmtime::native(&engine, &module)) as Box<dyn Runner>,
                ),
                ("funk", Box::new(on_wasmtime::funk(&engine, &module))),
            ]
        }
        "wasmer" => {
            let engine = wasmer::Engine::default();
            let module = wasmer::Module::new(&engine, BENCH_WAT).unwrap();
            vec![
                (
                    "native",
                    Box::new(on_wasmer::native(&engine, &module)) as Box<dyn Runner>,
                ),
                ("funk", Box::new(on_wasmer::funk(&engine, &module))),
            ]
        }
        other => panic!("no engine {other}"),
    }
}

/// A callgrind child: `iterations` iterations of one case on one side.
fn instruction_child(group: &str, side: &str, iterations: u32) {
    let (engine, label) = group.split_once('-').expect("engine-case");
    let case = Case::ALL
        .into_iter()
        .find(|c| c.label() == label)
        .unwrap_or_else(|| panic!("no case {label}"));
    let (_, mut runner) = sides(engine)
        .into_iter()
        .find(|(name, _)| *name == side)
        .unwrap_or_else(|| panic!("no side {side}"));
    instructions::run_child(iterations, || {
        black_box(runner.run(case, black_box(CALLS)).unwrap());
    });
}

fn instruction_report() {
    let groups: Vec<String> = ["wasmtime", "wasmer"]
        .iter()
        .flat_map(|engine| Case::ALL.map(|case| format!("{engine}-{}", case.label())))
        .collect();
    let side_names: Vec<&str> = sides("wasmtime").iter().map(|(name, _)| *name).collect();
    let cases: Vec<(&str, &[&str])> = groups
        .iter()
        .map(|g| (g.as_str(), side_names.as_slice()))
        .collect();
    // A Wasmer guest runs on its `GuestThread`: whole process, both sides.
    instructions::report_scoped(&cases, CALLS, &[("funk", "native")], &|group| {
        group.starts_with("wasmer-")
    });
}

fn main() {
    if let Some((group, side, iterations)) = instructions::child_args() {
        return instruction_child(&group, &side, iterations);
    }
    if instructions::wanted() {
        return instruction_report();
    }
    // The memory measurement runs first, on a fresh process, and only under
    // `cargo bench` (which passes `--bench`), not when profiling one case.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--profile-time") {
        memory_report();
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    wasmtime_benches(&mut c);
    wasmer_benches(&mut c);
    thread_round_trips(&mut c);
    c.final_summary();
}
