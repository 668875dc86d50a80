//! Why funk's Wasmer backend runs guests on guest threads: with Wasmer's own
//! coroutine async (`experimental-async`), two calls suspended on one
//! thread and resumed in the other order, the first then hitting a wasm
//! trap, kill the process (SIGSEGV, every run here). The first test replays
//! that in a child process and expects the child to die from a signal; the
//! second runs the same guests in the same order through funk's
//! `GuestThread`s and gets the trap back as an error and the other call's
//! result intact. If a Wasmer release fixes the crash, the first test fails
//! and says so: the design note in `funk-wasmer/src/guest_thread.rs` should
//! then be revisited.
#![cfg(feature = "wasmer")]

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const CHILD: &str = "FUNK_WASMER_NATIVE_ASYNC_CHILD";
const NAME: &str = "native_async_non_lifo_resumption_then_trap_kills_the_process";

#[test]
fn native_async_non_lifo_resumption_then_trap_kills_the_process() {
    if std::env::var_os(CHILD).is_some() {
        child::run();
        return;
    }
    // Through `sh` only to switch core dumps off for the crash.
    let output = Command::new("sh")
        .args(["-c", "ulimit -c 0; exec \"$0\" \"$@\""])
        .arg(std::env::current_exe().unwrap())
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.signal().is_some(),
        "the child survived (status {:?}); Wasmer may have fixed the non-LIFO crash:\n{stdout}",
        output.status
    );
    // It got as far as the out-of-order resumption, and no further.
    assert!(stdout.contains("resuming the first call"), "{stdout}");
    assert!(!stdout.contains("the first call returned"), "{stdout}");
}

/// The crashing order above, on funk's guest threads.
#[tokio::test(flavor = "current_thread")]
async fn the_same_order_on_guest_threads_returns_the_trap_as_an_error() {
    use funk::wasmer::{GuestThread, Host, link};
    use futures::channel::oneshot;
    use tokio::sync::mpsc;
    use wasmer::{FunctionEnv, Imports, Instance, Module, Store, TypedFunction};

    struct Gated {
        gate: Option<oneshot::Receiver<u32>>,
        entered: mpsc::UnboundedSender<()>,
    }

    #[funk::host_functions(namespace = "env")]
    impl Gated {
        async fn wait(&mut self) -> i32 {
            let gate = self.gate.take().expect("one wait per call");
            self.entered.send(()).unwrap();
            gate.await.unwrap() as i32
        }
    }

    struct Guest {
        store: Store,
        export: TypedFunction<(), i32>,
    }

    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let mut gates = Vec::new();
    let mut calls = Vec::new();
    for export in ["run", "fine"] {
        let (open, gate) = oneshot::channel();
        gates.push(open);
        let state = Gated {
            gate: Some(gate),
            entered: entered_tx.clone(),
        };
        let guest = GuestThread::spawn(move || {
            let mut store = Store::default();
            let module = Module::new(&store, child::WAT)?;
            let env = FunctionEnv::new(&mut store, Host::new(state));
            let mut imports = Imports::new();
            link(&mut store, &env, &mut imports, |h: &mut Host<Gated>| {
                &mut h.state
            })?;
            let instance = Instance::new(&mut store, &module, &imports)?;
            let export = instance.exports.get_typed_function(&store, export)?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Guest { store, export })
        })
        .await
        .unwrap();
        let call = guest.call(|g: &mut Guest| g.export.call(&mut g.store));
        calls.push(tokio::spawn(async move {
            let result = call.await.map_err(|e| e.message());
            drop(guest);
            result
        }));
        entered.recv().await.unwrap();
    }
    // Both are suspended; resume the first one (not the last suspended).
    let mut gates = gates.into_iter();
    gates.next().unwrap().send(1).unwrap();
    let second = calls.pop().unwrap();
    let first = calls.pop().unwrap().await.unwrap();
    assert!(first.unwrap_err().contains("out of bounds"));
    gates.next().unwrap().send(5).unwrap();
    assert_eq!(second.await.unwrap(), Ok(5));
}

mod child {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};

    use futures::channel::oneshot;
    use wasmer::{
        AsyncFunctionEnvMut, Function, FunctionEnv, Imports, Instance, Module, Store, StoreAsync,
        TypedFunction,
    };

    pub const WAT: &str = r#"(module
        (import "env" "wait" (func $wait (result i32)))
        (memory 1)
        (func (export "run") (result i32) (drop (call $wait)) (i32.load (i32.const 0x20000)))
        (func (export "fine") (result i32) (call $wait)))"#;

    type Gate = Arc<Mutex<Option<oneshot::Receiver<u32>>>>;

    fn guest(gate: Gate, export: &str) -> (StoreAsync, TypedFunction<(), i32>) {
        let mut store = Store::default();
        let module = Module::new(&store, WAT).unwrap();
        let env = FunctionEnv::new(&mut store, ());
        let wait = Function::new_typed_with_env_async(
            &mut store,
            &env,
            move |_: AsyncFunctionEnvMut<()>| {
                let receiver = gate.lock().unwrap().take().unwrap();
                async move { receiver.await.unwrap() as i32 }
            },
        );
        let mut imports = Imports::new();
        imports.define("env", "wait", wait);
        let instance = Instance::new(&mut store, &module, &imports).unwrap();
        let run = instance.exports.get_typed_function(&store, export).unwrap();
        (store.into_async(), run)
    }

    fn poll<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    pub fn run() {
        let (open_first, first_gate) = oneshot::channel();
        let (_open_second, second_gate) = oneshot::channel::<u32>();
        let (first_store, first_run) = guest(Arc::new(Mutex::new(Some(first_gate))), "run");
        let (second_store, second_run) = guest(Arc::new(Mutex::new(Some(second_gate))), "fine");
        let mut first = pin!(first_run.call_async(&first_store));
        let mut second = pin!(second_run.call_async(&second_store));
        assert!(poll(first.as_mut()).is_pending());
        assert!(poll(second.as_mut()).is_pending());
        println!("both calls suspended; resuming the first call");
        open_first.send(1).unwrap();
        // The first call resumes while the second is still suspended on this
        // thread, then hits `unreachable`.
        let result = poll(first.as_mut());
        println!("the first call returned {result:?}");
        _open_second.send(5).unwrap();
        let result = poll(second.as_mut());
        println!("the second call returned {result:?}");
    }
}
