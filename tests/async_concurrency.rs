//! Many guests suspended at once inside async host functions, woken in a
//! scrambled order; suspended guests that trap after resuming out of order
//! (Wasmer's known non-LIFO crash must be impossible); and 10,000
//! start-suspend-drop cycles whose memory use stays flat.

use std::future::Future;
use std::pin::pin;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures::channel::oneshot;
use tokio::sync::mpsc;

/// Each guest's host state: a gate it waits on, and a line to say so.
pub struct Waiter {
    gate: Option<oneshot::Receiver<u32>>,
    entered: mpsc::UnboundedSender<u32>,
    id: u32,
}

#[funk::host_functions(namespace = "w")]
impl Waiter {
    /// Suspends until the test opens this guest's gate (or forever, if the
    /// gate's sender is kept and never used).
    async fn wait(&mut self) -> u32 {
        let gate = self.gate.take().expect("each guest waits once per gate");
        self.entered.send(self.id).expect("the test listens");
        gate.await.unwrap_or(u32::MAX)
    }
}

const WAT: &str = r#"(module
    (import "w" "wait" (func $wait (result i32)))
    (memory 1)
    ;; wait() * 3 + id
    (func (export "run") (param $id i32) (result i32)
        (i32.add (i32.mul (call $wait) (i32.const 3)) (local.get $id)))
    ;; wait, then trap: `unreachable` for odd ids, an out-of-bounds load for even ones
    (func (export "trap") (param $id i32) (result i32)
        (drop (call $wait))
        (if (i32.and (local.get $id) (i32.const 1)) (then unreachable))
        (i32.load (i32.const 0x20000))))"#;

const GUESTS: u32 = 1000;

/// A deterministic scramble of `0..n` (a multiplicative step coprime to n).
fn scrambled(n: u32) -> Vec<u32> {
    let step = (1..n)
        .rev()
        .find(|s| gcd(*s, n) == 1 && *s > n / 2)
        .unwrap_or(1);
    (0..n)
        .map(|i| ((u64::from(i) * u64::from(step) + 17) % u64::from(n)) as u32)
        .collect()
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn value_for(id: u32) -> u32 {
    id * 13 + 5
}

/// Waits until all `n` guests are suspended, then opens their gates in
/// scrambled order.
async fn release_scrambled(
    entered: &mut mpsc::UnboundedReceiver<u32>,
    mut gates: Vec<Option<oneshot::Sender<u32>>>,
) {
    for _ in 0..gates.len() {
        entered.recv().await.expect("guests announce themselves");
    }
    for id in scrambled(gates.len() as u32) {
        let gate = gates[id as usize].take().unwrap();
        gate.send(value_for(id)).unwrap();
    }
}

/// Starts `count` guest calls with `start` (each on its own task), waits
/// until all are suspended in `wait`, opens their gates in scrambled order
/// and returns the results by guest id.
async fn suspend_all_then_release<F, Fut>(count: u32, mut start: F) -> Vec<Result<u32, String>>
where
    F: FnMut(Waiter) -> Fut,
    Fut: Future<Output = Result<u32, String>> + Send + 'static,
{
    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let mut gates = Vec::new();
    let mut tasks = Vec::new();
    for id in 0..count {
        let (gate_tx, gate) = oneshot::channel();
        gates.push(Some(gate_tx));
        let waiter = Waiter {
            gate: Some(gate),
            entered: entered_tx.clone(),
            id,
        };
        tasks.push(tokio::spawn(start(waiter)));
    }
    release_scrambled(&mut entered, gates).await;
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

/// Every guest returned `value_for(id) * 3 + id`.
fn assert_all_correct(results: &[Result<u32, String>]) {
    for (id, result) in (0..).zip(results) {
        assert_eq!(*result, Ok(value_for(id) * 3 + id), "guest {id}");
    }
}

/// Odd guests hit `unreachable`, even ones an out-of-bounds load, reported
/// by the engine as `out_of_bounds`.
fn assert_all_trapped(results: Vec<Result<u32, String>>, out_of_bounds: &str) {
    for (id, result) in (0..).zip(results) {
        let error = result.unwrap_err();
        let expected = if id % 2 == 1 {
            "unreachable"
        } else {
            out_of_bounds
        };
        assert!(error.contains(expected), "guest {id}: {error}");
    }
}

/// Resident memory of this process, from /proc.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Polls `call` until its guest is suspended in `wait` (it announces
/// `id`), then drops it while suspended.
async fn suspend_and_drop<F: Future>(call: F, entered: &mut mpsc::UnboundedReceiver<u32>, id: u32) {
    let mut call = pin!(call);
    tokio::select! {
        _ = &mut call => panic!("the call finished instead of suspending"),
        announced = entered.recv() => assert_eq!(announced, Some(id)),
    }
    assert!(futures::poll!(call.as_mut()).is_pending());
}

const CYCLES: u32 = 10_000;

/// The memory tests measure the whole process, so they run alone; the
/// others may share the process with each other.
static SERIAL: RwLock<()> = RwLock::new(());

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    SERIAL.write().unwrap_or_else(PoisonError::into_inner)
}

fn shared() -> RwLockReadGuard<'static, ()> {
    SERIAL.read().unwrap_or_else(PoisonError::into_inner)
}

fn runtime(flavor: &str) -> tokio::runtime::Runtime {
    let mut builder = match flavor {
        "multi_thread" => tokio::runtime::Builder::new_multi_thread(),
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    builder.worker_threads(4).enable_all().build().unwrap()
}

fn assert_flat(engine: &str, (warm, end): (u64, u64)) {
    println!("{engine}: RSS after warm-up {warm} KiB, after 10,000 cycles {end} KiB");
    assert!(
        end < warm + 16 * 1024,
        "{engine}: memory grew from {warm} KiB to {end} KiB over the cycles"
    );
}

#[cfg(feature = "wasmtime")]
mod on_wasmtime {
    use super::*;
    use funk::wasmtime::{Host, link};
    use std::sync::Arc;
    use wasmtime::{Engine, Linker, Module, Store};

    fn linker() -> (Arc<Linker<Host<Waiter>>>, Module) {
        let engine = Engine::default();
        let module = Module::new(&engine, WAT).unwrap();
        let mut linker = Linker::new(&engine);
        link(&mut linker, |host: &mut Host<Waiter>| &mut host.state).unwrap();
        (Arc::new(linker), module)
    }

    async fn call(
        linker: &Linker<Host<Waiter>>,
        module: &Module,
        waiter: Waiter,
        export: &str,
    ) -> Result<u32, String> {
        let id = waiter.id;
        let mut store = Store::new(linker.engine(), Host::new(waiter));
        let instance = linker.instantiate_async(&mut store, module).await.unwrap();
        let run = instance
            .get_typed_func::<u32, u32>(&mut store, export)
            .unwrap();
        run.call_async(&mut store, id)
            .await
            .map_err(|e| format!("{e:#}"))
    }

    #[test]
    fn a_thousand_suspended_guests_woken_out_of_order() {
        let _serial = shared();
        runtime("multi_thread").block_on(async {
            let (linker, module) = linker();
            let results = suspend_all_then_release(GUESTS, |waiter| {
                let (linker, module) = (linker.clone(), module.clone());
                async move { call(&linker, &module, waiter, "run").await }
            })
            .await;
            assert_all_correct(&results);
        });
    }

    /// All guests on one thread, resumed out of order, each then trapping.
    #[test]
    fn traps_after_out_of_order_resumption_are_errors() {
        let _serial = shared();
        runtime("current_thread").block_on(async {
            let (linker, module) = linker();
            let results = suspend_all_then_release(200, |waiter| {
                let (linker, module) = (linker.clone(), module.clone());
                async move { call(&linker, &module, waiter, "trap").await }
            })
            .await;
            assert_all_trapped(results, "out of bounds memory access");
        });
    }

    #[test]
    fn ten_thousand_cancelled_calls_leave_memory_flat() {
        let _serial = exclusive();
        runtime("current_thread").block_on(async {
            let (linker, module) = linker();
            let (entered_tx, mut entered) = mpsc::unbounded_channel();
            let waiter = Waiter {
                gate: None,
                entered: entered_tx,
                id: 0,
            };
            let mut store = Store::new(linker.engine(), Host::new(waiter));
            let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
            let run = instance
                .get_typed_func::<u32, u32>(&mut store, "run")
                .unwrap();
            let mut warm = 0;
            for id in 0..CYCLES {
                if id == CYCLES / 10 {
                    warm = rss_kib();
                }
                // The sender stays here, so the gate never opens.
                let (_keep, gate) = oneshot::channel();
                let waiter = &mut store.data_mut().state;
                waiter.gate = Some(gate);
                waiter.id = id;
                suspend_and_drop(run.call_async(&mut store, id), &mut entered, id).await;
            }
            assert_flat("wasmtime", (warm, rss_kib()));
            // The store still works after all those cancellations.
            let (gate_tx, gate) = oneshot::channel();
            store.data_mut().state.gate = Some(gate);
            gate_tx.send(1).unwrap();
            assert_eq!(run.call_async(&mut store, 4).await.unwrap(), 7);
        });
    }
}

#[cfg(feature = "wasmer")]
mod on_wasmer {
    use super::*;
    use funk::wasmer::{GuestThread, Host, bind_memory, link};
    use wasmer::{Engine, FunctionEnv, Imports, Instance, Module, Store, TypedFunction};

    struct Guest {
        store: Store,
        env: FunctionEnv<Host<Waiter>>,
        run: TypedFunction<u32, u32>,
        trap: TypedFunction<u32, u32>,
    }

    fn module() -> (Engine, Module) {
        let engine = Engine::default();
        let module = Module::new(&engine, WAT).unwrap();
        (engine, module)
    }

    async fn spawn(engine: &Engine, module: &Module, waiter: Waiter) -> GuestThread<Guest> {
        let (engine, module) = (engine.clone(), module.clone());
        GuestThread::spawn(move || {
            let mut store = Store::new(engine);
            let env = FunctionEnv::new(&mut store, Host::new(waiter));
            let mut imports = Imports::new();
            link(&mut store, &env, &mut imports, |h: &mut Host<Waiter>| {
                &mut h.state
            })?;
            let instance = Instance::new(&mut store, &module, &imports)?;
            let _ = bind_memory(&mut store, &env, &instance);
            let run = instance.exports.get_typed_function(&store, "run")?;
            let trap = instance.exports.get_typed_function(&store, "trap")?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Guest {
                store,
                env,
                run,
                trap,
            })
        })
        .await
        .unwrap()
    }

    async fn call(
        engine: Engine,
        module: Module,
        waiter: Waiter,
        trap: bool,
    ) -> Result<u32, String> {
        let id = waiter.id;
        let guest = spawn(&engine, &module, waiter).await;
        guest
            .call(move |g: &mut Guest| match trap {
                true => g.trap.call(&mut g.store, id),
                false => g.run.call(&mut g.store, id),
            })
            .await
            .map_err(|e| e.message())
    }

    /// Each Wasmer guest has its own guest thread: a thousand OS threads.
    #[test]
    fn a_thousand_suspended_guests_woken_out_of_order() {
        let _serial = shared();
        runtime("multi_thread").block_on(async {
            let (engine, module) = module();
            let results = suspend_all_then_release(GUESTS, |waiter| {
                call(engine.clone(), module.clone(), waiter, false)
            })
            .await;
            assert_all_correct(&results);
        });
    }

    /// The awaiting tasks all on one thread, resumed out of order, each
    /// guest then trapping: with Wasmer's coroutine async this order kills
    /// the process; on guest threads every trap is an error value.
    #[test]
    fn traps_after_out_of_order_resumption_are_errors() {
        let _serial = shared();
        runtime("current_thread").block_on(async {
            let (engine, module) = module();
            let results = suspend_all_then_release(200, |waiter| {
                call(engine.clone(), module.clone(), waiter, true)
            })
            .await;
            assert_all_trapped(results, "out of bounds");
        });
    }

    #[test]
    fn ten_thousand_cancelled_calls_leave_memory_flat() {
        let _serial = exclusive();
        runtime("current_thread").block_on(async {
            let (engine, module) = module();
            let (entered_tx, mut entered) = mpsc::unbounded_channel();
            let waiter = Waiter {
                gate: None,
                entered: entered_tx,
                id: 0,
            };
            let guest = spawn(&engine, &module, waiter).await;
            let mut warm = 0;
            for id in 0..CYCLES {
                if id == CYCLES / 10 {
                    warm = rss_kib();
                }
                let (keep, gate) = oneshot::channel();
                let call = guest.call(move |g: &mut Guest| {
                    let waiter = &mut g.env.as_mut(&mut g.store).state;
                    waiter.gate = Some(gate);
                    waiter.id = id;
                    let result = g.run.call(&mut g.store, id);
                    drop(keep);
                    result
                });
                suspend_and_drop(call, &mut entered, id).await;
            }
            assert_flat("wasmer", (warm, rss_kib()));
            let answer = guest
                .call(|g: &mut Guest| {
                    let (gate_tx, gate) = oneshot::channel();
                    g.env.as_mut(&mut g.store).state.gate = Some(gate);
                    gate_tx.send(1).unwrap();
                    g.run.call(&mut g.store, 4)
                })
                .await;
            assert_eq!(answer.unwrap(), 7);
        });
    }
}
