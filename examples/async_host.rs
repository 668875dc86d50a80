//! A guest that calls async host functions, run on every engine the build
//! enables:
//!
//! ```sh
//! cargo run --example async_host                                         # Wasmtime
//! cargo run --example async_host --no-default-features --features wasmer # Wasmer
//! cargo run --example async_host --all-features                          # both
//! ```
//!
//! The guest sleeps on a tokio timer, then reads messages from a tokio
//! channel that a separate task fills, until the channel closes. Finally the
//! host gives up on a guest call that sleeps too long (a timeout cancels it)
//! and shows that the guest still takes calls afterwards.

use std::time::{Duration, Instant};

use funk::{Failure, HostError, Status};
use tokio::sync::mpsc;
use tokio::time::timeout;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The messages the sender task puts on the channel, one every
/// `SEND_INTERVAL`, before it closes the channel.
const MESSAGES: [&str; 3] = ["message 1", "message 2", "message 3"];
const SEND_INTERVAL: Duration = Duration::from_millis(20);
/// A guest call that would sleep this long (ms) is cancelled after
/// `PATIENCE`.
const LONG_NAP: u32 = 60_000;
const PATIENCE: Duration = Duration::from_millis(50);

/// The host state: the receiving end of the channel and what the guest
/// logged.
pub struct Mailbox {
    engine: &'static str,
    inbox: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Mailbox {
    /// A mailbox whose channel a new task fills with `MESSAGES`, then
    /// closes.
    fn new(engine: &'static str) -> Mailbox {
        let (outbox, inbox) = mpsc::channel(1);
        tokio::spawn(async move {
            for message in MESSAGES {
                tokio::time::sleep(SEND_INTERVAL).await;
                outbox
                    .send(message.to_owned())
                    .await
                    .expect("the guest is listening");
            }
            // Dropping `outbox` closes the channel: `recv` then says `Closed`.
        });
        Mailbox {
            engine,
            inbox,
            log: Vec::new(),
        }
    }
}

/// Returned to the guest as a status code (0 is success).
#[derive(Debug, Clone, Copy)]
pub enum Errno {
    Closed = 1,
}

impl HostError for Errno {
    type Abi = Status;
    fn into_failure(self) -> Failure {
        Failure::Status(self as i32)
    }
}

#[funk::host_functions(namespace = "env")]
impl Mailbox {
    /// `log(ptr, len)`: synchronous, next to the async functions.
    fn log(&mut self, line: &str) {
        println!("[{}] guest: {line}", self.engine);
        self.log.push(line.to_owned());
    }

    /// `sleep_ms(ms)`: the guest is suspended, the executor thread is not.
    async fn sleep_ms(&self, ms: u32) {
        tokio::time::sleep(Duration::from_millis(ms.into())).await;
    }

    /// `recv(buf_ptr, buf_cap, len_out) -> errno`: waits for the next
    /// message and copies it into `buf`. The length goes out through
    /// `len_out`; it is the whole message's, so a length above `buf_cap`
    /// means the message was cut short.
    ///
    /// `buf` is a copy of the guest's buffer taken before the call; funk
    /// writes it back when this method returns.
    async fn recv(&mut self, buf: &mut [u8]) -> Result<u32, Errno> {
        let message = self.inbox.recv().await.ok_or(Errno::Closed)?;
        let n = message.len().min(buf.len());
        buf[..n].copy_from_slice(&message.as_bytes()[..n]);
        Ok(message.len() as u32)
    }
}

const GUEST: &str = r#"(module
  (import "env" "log" (func $log (param i32 i32)))
  (import "env" "sleep_ms" (func $sleep_ms (param i32)))
  (import "env" "recv" (func $recv (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x100) "sleeping for 30 ms")
  (data (i32.const 0x120) "awake, waiting for messages")
  ;; 0x200: the message length `recv` writes; 0x400: a 64-byte message buffer.

  ;; Sleeps, then logs every message until the channel closes. Returns the
  ;; number of messages.
  (func (export "run") (result i32)
    (local $status i32)
    (local $count i32)
    (call $log (i32.const 0x100) (i32.const 18))
    (call $sleep_ms (i32.const 30))
    (call $log (i32.const 0x120) (i32.const 27))
    (block $closed
      (loop $next
        (local.set $status (call $recv (i32.const 0x400) (i32.const 64) (i32.const 0x200)))
        (br_if $closed (local.get $status))
        (call $log (i32.const 0x400) (i32.load (i32.const 0x200)))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (br $next)))
    ;; Errno::Closed is the only way out of the loop.
    (if (i32.ne (local.get $status) (i32.const 1)) (then unreachable))
    (local.get $count))

  ;; Sleeps for `ms` milliseconds.
  (func (export "nap") (param $ms i32)
    (call $sleep_ms (local.get $ms))))"#;

/// Prints what happened on one engine, and fails loudly if it is wrong.
fn report(engine: &str, received: u32, took: Duration, cancelled: bool, log: &[String]) {
    println!("[{engine}] run() -> {received} messages, then the channel closed");
    let nap = match cancelled {
        true => format!("cancelled by a {PATIENCE:?} timeout"),
        false => "finished?!".to_owned(),
    };
    println!("[{engine}] nap({LONG_NAP}) -> {nap}");
    println!("[{engine}] nap(1) after the cancellation -> ok");

    let mut expected = vec!["sleeping for 30 ms", "awake, waiting for messages"];
    expected.extend(MESSAGES);
    assert_eq!(log, expected);
    assert_eq!(received as usize, MESSAGES.len());
    // `run` returned only once the sender had sent everything and closed
    // the channel: `recv` really waited for it.
    assert!(took >= SEND_INTERVAL * MESSAGES.len() as u32, "{took:?}");
    assert!(cancelled, "the long nap was not cancelled");
}

#[cfg(feature = "wasmtime")]
async fn on_wasmtime() -> Result<(), Error> {
    use funk::wasmtime::{Host, bind_memory, link};
    use wasmtime::{Engine, Linker, Module, Store};

    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let mut linker = Linker::new(&engine);
    link(&mut linker, |host: &mut Host<Mailbox>| &mut host.state)?;

    let started = Instant::now();
    let mut store = Store::new(&engine, Host::new(Mailbox::new("wasmtime")));
    // Wasmtime runs the guest on a fiber that it suspends whenever a host
    // future is pending. A store with async host functions must therefore
    // be driven through the `_async` APIs.
    let instance = linker.instantiate_async(&mut store, &module).await?;
    bind_memory(&mut store, &instance)?;
    let run = instance.get_typed_func::<(), u32>(&mut store, "run")?;
    let nap = instance.get_typed_func::<u32, ()>(&mut store, "nap")?;

    let received = run.call_async(&mut store, ()).await?;
    let took = started.elapsed();
    // Dropping the call's future (here: by the timeout) cancels the call;
    // the store stays usable.
    let cancelled = timeout(PATIENCE, nap.call_async(&mut store, LONG_NAP))
        .await
        .is_err();
    nap.call_async(&mut store, 1).await?;

    report(
        "wasmtime",
        received,
        took,
        cancelled,
        &store.data().state.log,
    );
    Ok(())
}

#[cfg(feature = "wasmer")]
async fn on_wasmer() -> Result<(), Error> {
    use funk::wasmer::{GuestThread, Host, bind_memory, link};
    use wasmer::{Engine, FunctionEnv, Imports, Instance, Module, Store, TypedFunction};

    /// Everything that lives on the guest thread.
    struct Guest {
        store: Store,
        env: FunctionEnv<Host<Mailbox>>,
        run: TypedFunction<(), u32>,
        nap: TypedFunction<u32, ()>,
    }

    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;

    let started = Instant::now();
    let mailbox = Mailbox::new("wasmer");
    // A Wasmer `Store` cannot leave its thread, so the guest is built on,
    // and runs on, a thread of its own. An async host function blocks that
    // thread and hands its future to whoever awaits the `GuestCall`: this
    // task, on tokio, where the timer and the channel work as usual.
    let guest = GuestThread::spawn(move || -> Result<Guest, Error> {
        let mut store = Store::new(engine);
        let env = FunctionEnv::new(&mut store, Host::new(mailbox));
        let mut imports = Imports::new();
        link(
            &mut store,
            &env,
            &mut imports,
            |host: &mut Host<Mailbox>| &mut host.state,
        )?;
        let instance = Instance::new(&mut store, &module, &imports)?;
        bind_memory(&mut store, &env, &instance)?;
        let run = instance.exports.get_typed_function(&store, "run")?;
        let nap = instance.exports.get_typed_function(&store, "nap")?;
        Ok(Guest {
            store,
            env,
            run,
            nap,
        })
    })
    .await?;

    // Inside `call`, the guest is driven with Wasmer's ordinary sync API.
    let received = guest.call(|g: &mut Guest| g.run.call(&mut g.store)).await?;
    let took = started.elapsed();
    // Dropping a `GuestCall` (here: by the timeout) cancels the call; the
    // guest stays on its thread for the next one.
    let long_nap = guest.call(|g: &mut Guest| g.nap.call(&mut g.store, LONG_NAP));
    let cancelled = timeout(PATIENCE, long_nap).await.is_err();
    guest
        .call(|g: &mut Guest| g.nap.call(&mut g.store, 1))
        .await?;

    let log = guest
        .call(|g: &mut Guest| g.env.as_ref(&g.store).state.log.clone())
        .await;
    report("wasmer", received, took, cancelled, &log);
    Ok(())
}

// Multi-threaded, as most servers are: a suspended guest call may be resumed
// on any worker thread.
#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    #[cfg(feature = "wasmtime")]
    on_wasmtime().await?;
    #[cfg(feature = "wasmer")]
    on_wasmer().await?;
    Ok(())
}
