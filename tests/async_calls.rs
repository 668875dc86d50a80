//! Async host functions on every enabled engine: the borrowing rule (copies
//! in, written back after), iovecs, results after an `.await`, mixed sync
//! and async methods, traps and panics, and cancellation with drop counters.

mod common;

use std::future::Future;
use std::io::{IoSlice, IoSliceMut};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use funk::{Failure, Handle, HasResources, HostApi, HostError, ResourceTable, Status, Take};
use tokio::sync::mpsc;

/// Counts drops, to prove cancellation runs destructors.
pub struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Errno {
    Again = 6,
}

impl HostError for Errno {
    type Abi = Status;
    fn into_failure(self) -> Failure {
        Failure::Status(self as i32)
    }
}

#[derive(Default)]
pub struct Hub {
    table: ResourceTable,
    log: Vec<String>,
    drops: Arc<AtomicUsize>,
    /// Told when `hold` has started and is about to wait forever.
    entered: Option<mpsc::UnboundedSender<()>>,
}

impl HasResources for Hub {
    fn resources(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

#[funk::host_functions(namespace = "hub")]
impl Hub {
    /// Sync, next to async ones.
    fn note(&mut self, text: &str) -> u32 {
        self.log.push(text.to_owned());
        self.log.len() as u32
    }

    /// `&str` and `&mut [u8]` copies; state used before and after an await.
    async fn shout(&mut self, text: &str, out: &mut [u8]) -> u32 {
        self.log.push(format!("before {text}"));
        tokio::task::yield_now().await;
        for (o, b) in out.iter_mut().zip(text.bytes()) {
            *o = b.to_ascii_uppercase();
        }
        self.log.push(format!("after {text}"));
        text.len() as u32
    }

    /// `&mut u64` copy written back; the result goes through an out-pointer.
    async fn swap(&mut self, cell: &mut u64, by: u64) -> (u32, u64) {
        tokio::task::yield_now().await;
        let old = *cell;
        *cell = by;
        (7, old)
    }

    /// `Result` as a status code after an await, with an out-pointer.
    async fn maybe(&mut self, ok: bool) -> Result<u64, Errno> {
        tokio::task::yield_now().await;
        if ok {
            Ok(0x1234_5678_9abc)
        } else {
            Err(Errno::Again)
        }
    }

    /// Ready at once: no suspension at all.
    async fn add(&mut self, a: u32, b: u32) -> u32 {
        self.log.push(format!("{a}+{b}"));
        a.wrapping_add(b)
    }

    async fn boom(&mut self) -> u32 {
        tokio::task::yield_now().await;
        panic!("boom after an await")
    }

    fn track(&mut self) -> Handle<Tracked> {
        let tracked = Tracked(self.drops.clone());
        self.table.insert(tracked).expect("table has room")
    }

    /// Takes a resource, holds a value of its own, and never finishes.
    async fn hold(&mut self, token: Take<Tracked>) -> u32 {
        let local = Tracked(self.drops.clone());
        if let Some(entered) = &self.entered {
            entered.send(()).unwrap();
        }
        std::future::pending::<()>().await;
        drop((token, local));
        0
    }
}

const WAT: &str = r#"(module
    (import "hub" "note" (func $note (param i32 i32) (result i32)))
    (import "hub" "shout" (func $shout (param i32 i32 i32 i32) (result i32)))
    (import "hub" "swap" (func $swap (param i32 i64 i32) (result i32)))
    (import "hub" "maybe" (func $maybe (param i32 i32) (result i32)))
    (import "hub" "add" (func $add (param i32 i32) (result i32)))
    (import "hub" "boom" (func $boom (result i32)))
    (import "hub" "track" (func $track (result i32)))
    (import "hub" "hold" (func $hold (param i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hello")
    (func (export "note") (param i32 i32) (result i32) (call $note (local.get 0) (local.get 1)))
    (func (export "shout") (param i32 i32 i32 i32) (result i32)
        (call $shout (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
    (func (export "swap") (param i32 i64 i32) (result i32)
        (call $swap (local.get 0) (local.get 1) (local.get 2)))
    (func (export "maybe") (param i32 i32) (result i32) (call $maybe (local.get 0) (local.get 1)))
    (func (export "add") (param i32 i32) (result i32) (call $add (local.get 0) (local.get 1)))
    (func (export "boom") (result i32) (call $boom))
    (func (export "track") (result i32) (call $track))
    (func (export "hold") (param i32) (result i32) (call $hold (local.get 0)))
    (func (export "load") (param i32) (result i64) (i64.load (local.get 0))))"#;

/// Async methods taking iovecs: copies in, written back after an await.
#[derive(Default)]
pub struct Vectors {
    log: Vec<String>,
    /// Told when `scribble` has written and is about to wait forever.
    entered: Option<mpsc::UnboundedSender<()>>,
}

#[funk::host_functions(namespace = "vec")]
impl Vectors {
    /// Reads every buffer after an await and logs their bytes.
    async fn gather(&mut self, bufs: &[IoSlice<'_>]) -> u32 {
        tokio::task::yield_now().await;
        let bytes: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        self.log.push(String::from_utf8_lossy(&bytes).into_owned());
        bytes.len() as u32
    }

    /// After an await, fills buffer `i` with the letter `'a' + i`; the
    /// total goes out through an out-pointer.
    async fn scatter(&mut self, bufs: &mut [IoSliceMut<'_>]) -> Result<u32, Errno> {
        tokio::task::yield_now().await;
        let mut total = 0;
        for (i, buf) in bufs.iter_mut().enumerate() {
            buf.fill(b'a' + i as u8);
            total += buf.len();
        }
        self.log.push(format!("scatter {total}"));
        Ok(total as u32)
    }

    /// Writes into its copies, then never finishes.
    async fn scribble(&mut self, bufs: &mut [IoSliceMut<'_>]) -> u32 {
        for buf in bufs.iter_mut() {
            buf.fill(b'!');
        }
        if let Some(entered) = &self.entered {
            entered.send(()).unwrap();
        }
        std::future::pending::<()>().await;
        0
    }
}

/// Iovec arrays as data: `gather` entries at 0 (two buffers, then one
/// overlapping the first), `scatter` entries at 24, an out-of-bounds entry
/// at 40, two overlapping mutable buffers at 56, and at 72 an entry naming
/// its own array.
const VECTORS_WAT: &str = r#"(module
    (import "vec" "gather" (func $gather (param i32 i32) (result i32)))
    (import "vec" "scatter" (func $scatter (param i32 i32 i32) (result i32)))
    (import "vec" "scribble" (func $scribble (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "\60\00\00\00\07\00\00\00\70\00\00\00\05\00\00\00\60\00\00\00\05\00\00\00")
    (data (i32.const 24) "\80\00\00\00\04\00\00\00\88\00\00\00\03\00\00\00")
    (data (i32.const 40) "\80\00\00\00\04\00\00\00\f0\ff\00\00\20\00\00\00")
    (data (i32.const 56) "\80\00\00\00\08\00\00\00\84\00\00\00\08\00\00\00")
    (data (i32.const 72) "\48\00\00\00\08\00\00\00")
    (data (i32.const 96) "hello, ")
    (data (i32.const 112) "world")
    (data (i32.const 128) "........--------")
    (func (export "gather") (param i32 i32) (result i32) (call $gather (local.get 0) (local.get 1)))
    (func (export "scatter") (param i32 i32 i32) (result i32)
        (call $scatter (local.get 0) (local.get 1) (local.get 2)))
    (func (export "scribble") (param i32 i32) (result i32) (call $scribble (local.get 0) (local.get 1)))
    (func (export "load") (param i32) (result i64) (i64.load (local.get 0))))"#;

#[test]
fn function_info_says_which_are_async() {
    let flags: Vec<_> = Hub::FUNCTIONS
        .iter()
        .map(|f| (f.name, f.asynchronous))
        .collect();
    assert_eq!(
        flags,
        [
            ("note", false),
            ("shout", true),
            ("swap", true),
            ("maybe", true),
            ("add", true),
            ("boom", true),
            ("track", false),
            ("hold", true)
        ]
    );
}

/// Polls `call` until the host function announces (through `entered`) that
/// it is suspended, then drops the call.
async fn drop_while_suspended<F: Future>(call: F, entered: &mut mpsc::UnboundedReceiver<()>) {
    let mut call = pin!(call);
    tokio::select! {
        _ = &mut call => panic!("the call finished instead of suspending"),
        announced = entered.recv() => announced.unwrap(),
    }
    // One more poll lets the host future reach its pending await.
    assert!(futures::poll!(call.as_mut()).is_pending());
}

each_engine! {
    use super::{Hub, Vectors, VECTORS_WAT, WAT, drop_while_suspended};
    use crate::common::Val::{I32, I64};
    use std::sync::atomic::Ordering;
    use tokio::sync::mpsc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn borrowed_arguments_are_copied_in_and_written_back() {
        let mut guest = AsyncGuest::new(WAT, Hub::default()).await;
        let out = guest.call("shout", &[I32(16), I32(5), I32(32), I32(5)]).await;
        assert_eq!(out, Ok(vec![I32(5)]));
        let out = guest.call("load", &[I32(32)]).await.unwrap();
        assert_eq!(out[0].i64().to_le_bytes()[..5], *b"HELLO");
        // Sync and async methods share the state, across the await.
        assert_eq!(guest.call("note", &[I32(16), I32(2)]).await, Ok(vec![I32(3)]));
        let log = guest.with_state(|hub: &mut Hub| hub.log.clone()).await;
        assert_eq!(log, ["before hello", "after hello", "he"]);
    }

    #[tokio::test]
    async fn mutable_values_and_out_pointers_after_an_await() {
        let mut guest = AsyncGuest::new(WAT, Hub::default()).await;
        let out = guest.call("swap", &[I32(64), I64(99), I32(72)]).await;
        assert_eq!(out, Ok(vec![I32(7)]));
        // The old value went out through the out-pointer, the new one back
        // through the `&mut u64` copy.
        assert_eq!(guest.call("load", &[I32(72)]).await, Ok(vec![I64(0)]));
        assert_eq!(guest.call("load", &[I32(64)]).await, Ok(vec![I64(99)]));
        assert_eq!(guest.call("maybe", &[I32(1), I32(80)]).await, Ok(vec![I32(0)]));
        assert_eq!(
            guest.call("load", &[I32(80)]).await,
            Ok(vec![I64(0x1234_5678_9abc)])
        );
        assert_eq!(guest.call("maybe", &[I32(0), I32(80)]).await, Ok(vec![I32(6)]));
    }

    #[tokio::test]
    async fn hostile_arguments_trap_before_the_method_runs() {
        let mut guest = AsyncGuest::new(WAT, Hub::default()).await;
        let cases: [(&str, Vec<common::Val>, &str); 5] = [
            (
                "shout",
                vec![I32(0xfffe), I32(5), I32(32), I32(5)],
                "hub::shout: argument text: range 0xfffe..0x10003 outside memory of 0x10000 bytes",
            ),
            (
                "shout",
                vec![I32(16), I32(5), I32(-1), I32(5)],
                "hub::shout: argument out: range 0xffffffff..0x100000004 outside memory of 0x10000 bytes",
            ),
            (
                "swap",
                vec![I32(65), I64(1), I32(72)],
                "hub::swap: argument cell: pointer 0x41 is not aligned to 8 bytes",
            ),
            (
                "swap",
                vec![I32(64), I64(1), I32(0x10000)],
                "hub::swap: argument result out-pointer: range 0x10000..0x10008 outside memory of 0x10000 bytes",
            ),
            ("maybe", vec![I32(2), I32(80)], "hub::maybe: argument ok: invalid bool 2 (expected 0 or 1)"),
        ];
        for (name, args, expected) in cases {
            let got = guest.call(name, &args).await.unwrap_err();
            assert_eq!(got, expected, "{name} {args:?}");
        }
        // `shout` never ran (it logs first).
        assert!(guest.with_state(|hub: &mut Hub| hub.log.is_empty()).await);
    }

    #[tokio::test]
    async fn a_future_ready_at_once() {
        let mut guest = AsyncGuest::new(WAT, Hub::default()).await;
        assert_eq!(guest.call("add", &[I32(-1), I32(3)]).await, Ok(vec![I32(2)]));
        let log = guest.with_state(|hub: &mut Hub| hub.log.clone()).await;
        assert_eq!(log, ["4294967295+3"]);
    }

    #[tokio::test]
    async fn a_panic_after_an_await_is_a_trap() {
        let mut guest = AsyncGuest::new(WAT, Hub::default()).await;
        let got = guest.call("boom", &[]).await.unwrap_err();
        assert_eq!(got, "hub::boom: host function panicked: boom after an await");
        // The guest and the store are still usable.
        assert_eq!(guest.call("note", &[I32(16), I32(1)]).await, Ok(vec![I32(1)]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelling_a_suspended_call_runs_every_destructor() {
        let (entered_tx, mut entered) = mpsc::unbounded_channel();
        let hub = Hub { entered: Some(entered_tx), ..Hub::default() };
        let drops = hub.drops.clone();
        let mut guest = AsyncGuest::new(WAT, hub).await;
        let handle = guest.call("track", &[]).await.unwrap()[0].i32();
        drop_while_suspended(guest.call("hold", &[I32(handle)]), &mut entered).await;
        // The taken resource and the future's own value are both gone.
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        let left = guest.with_state(|hub: &mut Hub| hub.table.len()).await;
        assert_eq!(left, 0);
        // The store survives and takes new calls.
        assert_eq!(guest.call("note", &[I32(16), I32(5)]).await, Ok(vec![I32(1)]));
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn iovecs_are_read_through_copies() {
        let mut guest = AsyncGuest::new(VECTORS_WAT, Vectors::default()).await;
        assert_eq!(guest.call("gather", &[I32(0), I32(2)]).await, Ok(vec![I32(12)]));
        // Three entries: the third overlaps the first and sees the same bytes.
        let out = guest.call("gather", &[I32(0), I32(3)]).await;
        assert_eq!(out, Ok(vec![I32(17)]));
        assert_eq!(guest.call("gather", &[I32(0), I32(0)]).await, Ok(vec![I32(0)]));
        let log = guest.with_state(|v: &mut Vectors| v.log.clone()).await;
        assert_eq!(log, ["hello, world", "hello, worldhello", ""]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mutable_iovecs_are_written_back_after_an_await() {
        let mut guest = AsyncGuest::new(VECTORS_WAT, Vectors::default()).await;
        let out = guest.call("scatter", &[I32(24), I32(2), I32(200)]).await;
        assert_eq!(out, Ok(vec![I32(0)]));
        // The total went out through the out-pointer; each buffer came back,
        // and the bytes between and after them are untouched.
        assert_eq!(guest.call("load", &[I32(200)]).await.unwrap()[0].i64(), 7);
        let bytes = |v: Vec<common::Val>| v[0].i64().to_le_bytes();
        assert_eq!(bytes(guest.call("load", &[I32(128)]).await.unwrap()), *b"aaaa....");
        assert_eq!(bytes(guest.call("load", &[I32(136)]).await.unwrap()), *b"bbb-----");
    }

    #[tokio::test]
    async fn hostile_iovecs_trap_before_the_method_runs() {
        let mut guest = AsyncGuest::new(VECTORS_WAT, Vectors::default()).await;
        let cases: [(&str, Vec<common::Val>, &str); 6] = [
            (
                "gather",
                vec![I32(0xfff8), I32(2)],
                "vec::gather: argument bufs: range 0xfff8..0x10008 outside memory of 0x10000 bytes",
            ),
            (
                "gather",
                vec![I32(40), I32(2)],
                "vec::gather: argument bufs: iovec 1: range 0xfff0..0x10010 outside memory of 0x10000 bytes",
            ),
            (
                "gather",
                vec![I32(0), I32(1025)],
                "vec::gather: argument bufs: iovec count 1025 exceeds the limit of 1024",
            ),
            (
                "scatter",
                vec![I32(40), I32(2), I32(200)],
                "vec::scatter: argument bufs: iovec 1: range 0xfff0..0x10010 outside memory of 0x10000 bytes",
            ),
            (
                "scatter",
                vec![I32(56), I32(2), I32(200)],
                "vec::scatter: argument bufs: iovec 1: region 0x84..0x8c overlaps region \
                 0x80..0x88 already borrowed by this call (a mutable view may not alias)",
            ),
            (
                "scatter",
                vec![I32(72), I32(1), I32(200)],
                "vec::scatter: argument bufs: iovec 0: region 0x48..0x50 overlaps region \
                 0x48..0x50 already borrowed by this call (a mutable view may not alias)",
            ),
        ];
        for (name, args, expected) in cases {
            let got = guest.call(name, &args).await.unwrap_err();
            assert_eq!(got, expected, "{name} {args:?}");
        }
        // Neither method ran, and nothing was written back.
        assert!(guest.with_state(|v: &mut Vectors| v.log.is_empty()).await);
        let out = guest.call("load", &[I32(128)]).await.unwrap();
        assert_eq!(out[0].i64().to_le_bytes(), *b"........");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_call_writes_no_iovec_back() {
        let (entered_tx, mut entered) = mpsc::unbounded_channel();
        let vectors = Vectors { entered: Some(entered_tx), ..Vectors::default() };
        let mut guest = AsyncGuest::new(VECTORS_WAT, vectors).await;
        drop_while_suspended(guest.call("scribble", &[I32(24), I32(2)]), &mut entered).await;
        let out = guest.call("load", &[I32(128)]).await.unwrap();
        assert_eq!(out[0].i64().to_le_bytes(), *b"........");
    }
}

/// A Wasmer guest that calls an async host function outside a guest thread
/// (with the plain synchronous API) gets a trap that says what to do.
#[cfg(feature = "wasmer")]
#[test]
fn wasmer_async_function_outside_a_guest_thread_traps() {
    let mut guest = common::wasmer_guest::Guest::new(WAT, Hub::default());
    assert_eq!(
        guest.call("add", &[common::Val::I32(1), common::Val::I32(2)]),
        Err("hub::add: this async host function was called outside \
             `funk::wasmer::GuestThread::call`; run the guest call with it"
            .to_owned())
    );
    // Sync functions of the same block work there.
    assert_eq!(
        guest.call("note", &[common::Val::I32(16), common::Val::I32(1)]),
        Ok(vec![common::Val::I32(1)])
    );
}

/// After a Wasmer guest call is cancelled, the closure may go on calling the
/// guest; its async host functions then trap without running.
#[cfg(feature = "wasmer")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmer_a_cancelled_call_runs_no_more_host_code() {
    use common::Val::I32;
    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let hub = Hub {
        entered: Some(entered_tx),
        ..Hub::default()
    };
    let mut guest = common::asynchronous::wasmer_async::AsyncGuest::new(WAT, hub).await;
    let handle = guest.call("track", &[]).await.unwrap()[0].i32();
    let call = guest.thread.call(move |g| {
        let held = g.call("hold", &[I32(handle)]);
        let added = g.call("add", &[I32(1), I32(2)]);
        (held, added)
    });
    drop_while_suspended(call, &mut entered).await;
    // `drop` waited for the closure: `add` trapped instead of running.
    let log = guest.with_state(|hub: &mut Hub| hub.log.clone()).await;
    assert!(log.is_empty(), "{log:?}");
}

/// A call dropped while still queued behind another never runs, and the
/// guest thread goes on serving later calls.
#[cfg(feature = "wasmer")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasmer_a_call_cancelled_before_it_starts_does_not_block_the_thread() {
    use common::Val::I32;
    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let hub = Hub {
        entered: Some(entered_tx),
        ..Hub::default()
    };
    let mut guest = common::asynchronous::wasmer_async::AsyncGuest::new(WAT, hub).await;
    let handle = guest.call("track", &[]).await.unwrap()[0].i32();
    let first = guest.thread.call(move |g| g.call("hold", &[I32(handle)]));
    let queued = guest.thread.call(|g| g.call("note", &[I32(16), I32(1)]));
    drop(queued);
    drop_while_suspended(first, &mut entered).await;
    assert_eq!(guest.call("add", &[I32(2), I32(3)]).await, Ok(vec![I32(5)]));
    let log = guest.with_state(|hub: &mut Hub| hub.log.clone()).await;
    assert_eq!(log, ["2+3"]);
}
