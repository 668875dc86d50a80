//! Guest-to-host call overhead: funk versus a hand-written typed shim.
//!
//! For each engine (Wasmtime, Wasmer) and each case, the same WAT module is
//! instantiated twice: once linked through `#[funk::host_functions]`, once
//! against hand-written host functions that use the engine's own typed API
//! and do the same validation (bounds, UTF-8, iovec entries, handle
//! generation and type). Both trap (return `Err`) on every fault. The host
//! function bodies are shared, so only the glue differs.
//!
//! One measured iteration calls an exported guest function that loops
//! [`CALLS`] times calling the import, which amortises the cost of entering
//! wasm; divide the reported time by [`CALLS`] for the time of one host call
//! (criterion's throughput line shows the calls per second directly).
//!
//! Run with `cargo bench --all-features --bench host_call`; add
//! `-- --instructions` for instruction counts under callgrind instead (see
//! `support/instructions.rs`).

use std::hint::black_box;
use std::io::IoSlice;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use funk::{Borrow, Handle, HasResources, ResourceTable};

#[path = "support/instructions.rs"]
#[allow(dead_code)]
mod instructions;

/// Host calls per measured iteration.
const CALLS: u32 = 1000;

/// Where the WAT module keeps its data.
const BYTES_AT: u32 = 1024; // 64 bytes 0..64
const STR_AT: u32 = 2048; // a 64-byte UTF-8 string
const BAD_STR_AT: u32 = 3072; // "h\xffi!"
const IOVS_AT: u32 = 4096; // 4 entries of 16 bytes each
const BAD_IOVS_AT: u32 = 4160; // 1 entry reaching past the end of memory
const DATA_LEN: u32 = 64;
const IOV_COUNT: u32 = 4;

// ---------------------------------------------------------------------------
// The work each host function does, shared by funk and the hand-written shims.
// Kept out of line so both sides run the very same machine code for it and
// only the glue differs (inlined, the 64-byte sum vectorises differently
// depending on the surrounding code).

/// A resource reached through a handle.
struct Counter {
    count: u32,
}

#[inline(never)]
fn sum_bytes(data: &[u8]) -> u32 {
    data.iter().map(|&b| u32::from(b)).sum()
}

#[inline(never)]
fn total_len(bufs: &[IoSlice<'_>]) -> u32 {
    bufs.iter().map(|b| b.len() as u32).sum()
}

#[inline(never)]
fn bump(counter: &mut Counter) -> u32 {
    counter.count = counter.count.wrapping_add(1);
    counter.count
}

// ---------------------------------------------------------------------------
// funk

/// The funk host state.
#[derive(Default)]
struct Bench {
    table: ResourceTable,
}

impl HasResources for Bench {
    fn resources(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

#[funk::host_functions(namespace = "bench")]
impl Bench {
    fn nop(&mut self, x: i32) -> i32 {
        x.wrapping_add(1)
    }

    fn sum(&mut self, data: &[u8]) -> u32 {
        sum_bytes(data)
    }

    fn strlen(&mut self, s: &str) -> u32 {
        s.len() as u32
    }

    fn writev(&mut self, bufs: &[IoSlice<'_>]) -> u32 {
        total_len(bufs)
    }

    fn bump(&mut self, counter: Borrow<Counter>) -> u32 {
        bump(&mut self.table[counter])
    }
}

/// The same functions with the explicit `panics = "unwind"` opt-in: a
/// panic is not turned into a trap, and `nop`, which cannot fail, is
/// defined through Wasmtime's infallible path.
#[derive(Default)]
struct BenchUnwind {
    table: ResourceTable,
}

impl HasResources for BenchUnwind {
    fn resources(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

#[funk::host_functions(namespace = "bench", panics = "unwind")]
impl BenchUnwind {
    fn nop(&mut self, x: i32) -> i32 {
        x.wrapping_add(1)
    }

    fn sum(&mut self, data: &[u8]) -> u32 {
        sum_bytes(data)
    }

    fn strlen(&mut self, s: &str) -> u32 {
        s.len() as u32
    }

    fn writev(&mut self, bufs: &[IoSlice<'_>]) -> u32 {
        total_len(bufs)
    }

    fn bump(&mut self, counter: Borrow<Counter>) -> u32 {
        bump(&mut self.table[counter])
    }
}

// ---------------------------------------------------------------------------
// Hand-written validation, engine independent: what a careful author writes
// against a `&[u8]` of guest memory. Same checks as funk, same trap-on-error.

mod raw {
    use std::io::IoSlice;

    /// Same limit as `funk::iovec::MAX_IOVECS`.
    pub const MAX_IOVECS: u32 = 1024;

    /// Iovec arrays up to this many entries are collected on the stack.
    const INLINE_IOVECS: usize = 8;

    /// A guest fault; the call traps with it.
    #[derive(Debug, Clone, Copy)]
    pub enum Fault {
        NoMemory,
        OutOfBounds,
        Utf8,
        TooManyIovecs,
        Misaligned,
    }

    impl std::fmt::Display for Fault {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(match self {
                Fault::NoMemory => "no guest memory bound",
                Fault::OutOfBounds => "guest range out of bounds",
                Fault::Utf8 => "invalid UTF-8",
                Fault::TooManyIovecs => "too many iovecs",
                Fault::Misaligned => "misaligned iovec array",
            })
        }
    }

    impl std::error::Error for Fault {}

    /// `ptr..ptr + len` of guest memory, checked.
    #[inline(always)]
    pub fn region(mem: &[u8], ptr: u32, len: u32) -> Result<&[u8], Fault> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Fault::OutOfBounds)?;
        mem.get(start..end).ok_or(Fault::OutOfBounds)
    }

    /// The UTF-8 string at `ptr..ptr + len`.
    #[inline(always)]
    pub fn str(mem: &[u8], ptr: u32, len: u32) -> Result<&str, Fault> {
        std::str::from_utf8(region(mem, ptr, len)?).map_err(|_| Fault::Utf8)
    }

    /// Lifts the WASI iovec array `(ptr, count)` (8-byte little-endian
    /// `{buf: u32, len: u32}` entries, each bounds-checked) into `IoSlice`s
    /// and hands them to `f`.
    #[inline(always)]
    pub fn iovecs<R>(
        mem: &[u8],
        ptr: u32,
        count: u32,
        f: impl FnOnce(&[IoSlice<'_>]) -> R,
    ) -> Result<R, Fault> {
        if count > MAX_IOVECS {
            return Err(Fault::TooManyIovecs);
        }
        if !ptr.is_multiple_of(4) {
            return Err(Fault::Misaligned);
        }
        // `count <= 1024`, so `count * 8` cannot overflow.
        let entries = region(mem, ptr, count * 8)?;
        let count = count as usize;
        let mut inline = [IoSlice::new(&[]); INLINE_IOVECS];
        let mut heap = Vec::new();
        let slices: &mut [IoSlice<'_>] = if count <= INLINE_IOVECS {
            &mut inline[..count]
        } else {
            heap.resize(count, IoSlice::new(&[]));
            &mut heap
        };
        for (entry, slot) in entries.chunks_exact(8).zip(slices.iter_mut()) {
            let buf = u32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let len = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]);
            *slot = IoSlice::new(region(mem, buf, len)?);
        }
        Ok(f(slices))
    }
}

// ---------------------------------------------------------------------------
// The guest: one import per case, and for each a `run_*(n, a, b)` export that
// calls it `n` times. Identical for funk and the hand-written shims.

fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

fn le32(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The 64-byte UTF-8 string the `strlen` case checks.
fn utf8_text() -> String {
    let mut s = String::from("Grüße, wörld — ∑ funk → host ");
    while s.len() < DATA_LEN as usize {
        s.push('.');
    }
    assert_eq!(s.len(), DATA_LEN as usize);
    s
}

fn wat() -> String {
    let bytes: Vec<u8> = (0..DATA_LEN as u8).collect();
    let iovs: Vec<u32> = (0..IOV_COUNT)
        .flat_map(|i| [BYTES_AT + 16 * i, 16])
        .collect();
    let bad_iovs = [65530, 100];
    let loop_fn = |name: &str, call: &str| {
        format!(
            r#"
  (func (export "run_{name}") (param $n i32) (param $a i32) (param $b i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        {call}
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $acc))"#
        )
    };
    let add = |f: &str, args: &str| {
        format!("(local.set $acc (i32.add (local.get $acc) (call ${f} {args})))")
    };
    let two = "(local.get $a) (local.get $b)";
    format!(
        r#"(module
  (import "bench" "nop" (func $nop (param i32) (result i32)))
  (import "bench" "sum" (func $sum (param i32 i32) (result i32)))
  (import "bench" "strlen" (func $strlen (param i32 i32) (result i32)))
  (import "bench" "writev" (func $writev (param i32 i32) (result i32)))
  (import "bench" "bump" (func $bump (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const {BYTES_AT}) "{bytes}")
  (data (i32.const {STR_AT}) "{text}")
  (data (i32.const {BAD_STR_AT}) "h\ffi!")
  (data (i32.const {IOVS_AT}) "{iovs}")
  (data (i32.const {BAD_IOVS_AT}) "{bad_iovs}")
  {run_nop}{run_sum}{run_strlen}{run_writev}{run_bump})"#,
        bytes = wat_bytes(&bytes),
        text = wat_bytes(utf8_text().as_bytes()),
        iovs = wat_bytes(&le32(&iovs)),
        bad_iovs = wat_bytes(&le32(&bad_iovs)),
        // `acc = nop(acc + a)`: each call depends on the last one.
        run_nop = loop_fn(
            "nop",
            "(local.set $acc (call $nop (i32.add (local.get $acc) (local.get $a))))"
        ),
        run_sum = loop_fn("sum", &add("sum", two)),
        run_strlen = loop_fn("strlen", &add("strlen", two)),
        run_writev = loop_fn("writev", &add("writev", two)),
        run_bump = loop_fn("bump", &add("bump", "(local.get $a)")),
    )
}

// ---------------------------------------------------------------------------
// The cases.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Nop,
    Sum,
    Str,
    Iovec,
    Handle,
}

impl Case {
    const ALL: [Case; 5] = [Case::Nop, Case::Sum, Case::Str, Case::Iovec, Case::Handle];

    fn export(self) -> &'static str {
        match self {
            Case::Nop => "run_nop",
            Case::Sum => "run_sum",
            Case::Str => "run_strlen",
            Case::Iovec => "run_writev",
            Case::Handle => "run_bump",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Case::Nop => "nop",
            Case::Sum => "sum_64B",
            Case::Str => "str_64B",
            Case::Iovec => "iovec_4",
            Case::Handle => "handle",
        }
    }

    /// The valid `(a, b)` the benchmark passes.
    fn args(self, handle: u32) -> (u32, u32) {
        match self {
            Case::Nop => (0, 0),
            Case::Sum => (BYTES_AT, DATA_LEN),
            Case::Str => (STR_AT, DATA_LEN),
            Case::Iovec => (IOVS_AT, IOV_COUNT),
            Case::Handle => (handle, 0),
        }
    }

    /// Arguments that must trap.
    fn faults(self, handle: u32) -> Vec<(u32, u32)> {
        match self {
            Case::Nop => vec![],
            Case::Sum => vec![(65530, 30), (u32::MAX, 2)],
            Case::Str => vec![(BAD_STR_AT, 4), (65535, 2)],
            Case::Iovec => vec![
                (BAD_IOVS_AT, 1),
                (IOVS_AT, 2000),
                (IOVS_AT + 2, 1),
                (65528, 2),
            ],
            Case::Handle => vec![(0, 0), (handle + 1, 0), (handle + (1 << 20), 0)],
        }
    }
}

/// One instance of the module in one engine, linked one way.
trait Runner {
    /// The handle of the `Counter` resource the `bump` case uses.
    fn handle(&self) -> u32;
    /// Calls `case`'s export with `n` iterations.
    fn run(&mut self, case: Case, n: u32, a: u32, b: u32) -> Result<u32, String>;
}

// ---------------------------------------------------------------------------
// Wasmtime

mod on_wasmtime {
    use super::*;
    use wasmtime::{Caller, Engine, Instance, Linker, Memory, Module, Store, TypedFunc};

    /// One instance and its `run_*` exports, indexed by `Case as usize`.
    pub struct Side<T: 'static> {
        store: Store<T>,
        funcs: Vec<TypedFunc<(u32, u32, u32), u32>>,
        handle: u32,
    }

    impl<T: 'static> Side<T> {
        fn new(
            mut store: Store<T>,
            linker: &Linker<T>,
            module: &Module,
            handle: u32,
            bind: impl FnOnce(&mut Store<T>, &Instance),
        ) -> Self {
            let instance = linker.instantiate(&mut store, module).unwrap();
            bind(&mut store, &instance);
            let funcs = Case::ALL
                .iter()
                .map(|case| instance.get_typed_func(&mut store, case.export()).unwrap())
                .collect();
            Side {
                store,
                funcs,
                handle,
            }
        }
    }

    impl<T: 'static> Runner for Side<T> {
        fn handle(&self) -> u32 {
            self.handle
        }

        fn run(&mut self, case: Case, n: u32, a: u32, b: u32) -> Result<u32, String> {
            self.funcs[case as usize]
                .call(&mut self.store, (n, a, b))
                .map_err(|e| format!("{e:?}"))
        }
    }

    /// funk: `link` + `pin_memory` (the memory kept in the store data, as
    /// the hand-written shims keep it).
    pub fn funk(engine: &Engine, module: &Module) -> Side<funk::wasmtime::Host<Bench>> {
        funk_with(engine, module, |store, instance| {
            funk::wasmtime::pin_memory(store, instance).unwrap();
        })
    }

    /// funk: `link` + `bind_memory` (the calling instance's memory found
    /// per call by export index: right with several instances per store).
    pub fn funk_bound(engine: &Engine, module: &Module) -> Side<funk::wasmtime::Host<Bench>> {
        funk_with(engine, module, |store, instance| {
            funk::wasmtime::bind_memory(store, instance).unwrap();
        })
    }

    fn funk_with(
        engine: &Engine,
        module: &Module,
        bind: impl FnOnce(&mut Store<funk::wasmtime::Host<Bench>>, &wasmtime::Instance),
    ) -> Side<funk::wasmtime::Host<Bench>> {
        use funk::wasmtime::{Host, link};
        let mut linker = Linker::new(engine);
        link(&mut linker, |host: &mut Host<Bench>| &mut host.state).unwrap();
        let mut state = Bench::default();
        let handle = state.table.insert(Counter { count: 0 }).unwrap().raw();
        let store = Store::new(engine, Host::new(state));
        Side::new(store, &linker, module, handle, bind)
    }

    /// funk with `panics = "unwind"`.
    pub fn funk_unwind(
        engine: &Engine,
        module: &Module,
    ) -> Side<funk::wasmtime::Host<BenchUnwind>> {
        use funk::wasmtime::{Host, link, pin_memory};
        let mut linker = Linker::new(engine);
        link(&mut linker, |host: &mut Host<BenchUnwind>| &mut host.state).unwrap();
        let mut state = BenchUnwind::default();
        let handle = state.table.insert(Counter { count: 0 }).unwrap().raw();
        let store = Store::new(engine, Host::new(state));
        Side::new(store, &linker, module, handle, |store, instance| {
            pin_memory(store, instance).unwrap();
        })
    }

    /// Runs a hand-written shim body; with `CATCH`, a panic in it becomes
    /// a trap, the guarantee funk gives by default.
    #[inline(always)]
    fn guarded<const CATCH: bool, R>(
        body: impl FnOnce() -> wasmtime::Result<R>,
    ) -> wasmtime::Result<R> {
        if !CATCH {
            return body();
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
            Ok(result) => result,
            Err(_) => Err(wasmtime::Error::msg("host function panicked")),
        }
    }

    /// Store data of the hand-written shims: the memory, cached after
    /// instantiation, and the resource table.
    pub struct RawHost {
        memory: Option<Memory>,
        table: ResourceTable,
    }

    fn trap(fault: raw::Fault) -> wasmtime::Error {
        wasmtime::Error::new(fault)
    }

    /// The guest memory (cached in the store data) and the store data.
    #[inline(always)]
    fn memory<'a>(
        caller: &'a mut Caller<'_, RawHost>,
    ) -> wasmtime::Result<(&'a mut [u8], &'a mut RawHost)> {
        let Some(memory) = caller.data().memory else {
            return Err(trap(raw::Fault::NoMemory));
        };
        Ok(memory.data_and_store_mut(caller))
    }

    fn link_raw<const CATCH: bool>(linker: &mut Linker<RawHost>) -> wasmtime::Result<()> {
        if CATCH {
            linker.func_wrap(
                "bench",
                "nop",
                |_: Caller<'_, RawHost>, x: i32| -> wasmtime::Result<i32> {
                    guarded::<CATCH, _>(|| Ok(x.wrapping_add(1)))
                },
            )?;
        } else {
            linker.func_wrap("bench", "nop", |_: Caller<'_, RawHost>, x: i32| -> i32 {
                x.wrapping_add(1)
            })?;
        }
        linker.func_wrap(
            "bench",
            "sum",
            |mut caller: Caller<'_, RawHost>, ptr: u32, len: u32| -> wasmtime::Result<u32> {
                guarded::<CATCH, _>(|| {
                    let (mem, _) = memory(&mut caller)?;
                    let data = raw::region(mem, ptr, len).map_err(trap)?;
                    Ok(sum_bytes(data))
                })
            },
        )?;
        linker.func_wrap(
            "bench",
            "strlen",
            |mut caller: Caller<'_, RawHost>, ptr: u32, len: u32| -> wasmtime::Result<u32> {
                guarded::<CATCH, _>(|| {
                    let (mem, _) = memory(&mut caller)?;
                    let s = raw::str(mem, ptr, len).map_err(trap)?;
                    Ok(s.len() as u32)
                })
            },
        )?;
        linker.func_wrap(
            "bench",
            "writev",
            |mut caller: Caller<'_, RawHost>, ptr: u32, count: u32| -> wasmtime::Result<u32> {
                guarded::<CATCH, _>(|| {
                    let (mem, _) = memory(&mut caller)?;
                    raw::iovecs(mem, ptr, count, total_len).map_err(trap)
                })
            },
        )?;
        linker.func_wrap(
            "bench",
            "bump",
            |mut caller: Caller<'_, RawHost>, id: u32| -> wasmtime::Result<u32> {
                guarded::<CATCH, _>(|| {
                    let table = &mut caller.data_mut().table;
                    let counter = table
                        .get_mut::<Counter>(Handle::from_raw(id))
                        .map_err(wasmtime::Error::new)?;
                    Ok(bump(counter))
                })
            },
        )?;
        Ok(())
    }

    /// Hand-written `func_wrap` shims.
    pub fn hand_written(engine: &Engine, module: &Module) -> Side<RawHost> {
        hand_written_with::<false>(engine, module)
    }

    /// Hand-written shims that also turn a panic into a trap.
    pub fn hand_written_caught(engine: &Engine, module: &Module) -> Side<RawHost> {
        hand_written_with::<true>(engine, module)
    }

    fn hand_written_with<const CATCH: bool>(engine: &Engine, module: &Module) -> Side<RawHost> {
        let mut linker = Linker::new(engine);
        link_raw::<CATCH>(&mut linker).unwrap();
        let mut table = ResourceTable::new();
        let handle = table.insert(Counter { count: 0 }).unwrap().raw();
        let data = RawHost {
            memory: None,
            table,
        };
        Side::new(
            Store::new(engine, data),
            &linker,
            module,
            handle,
            |store, instance| {
                let memory = instance.get_memory(&mut *store, "memory").unwrap();
                store.data_mut().memory = Some(memory);
            },
        )
    }
}

// ---------------------------------------------------------------------------
// Wasmer

mod on_wasmer {
    use super::*;
    use wasmer::{
        Function, FunctionEnv, FunctionEnvMut, Imports, Instance, Memory, Module, RuntimeError,
        Store, TypedFunction,
    };

    /// One instance and its `run_*` exports, indexed by `Case as usize`.
    pub struct Side {
        store: Store,
        funcs: Vec<TypedFunction<(u32, u32, u32), u32>>,
        handle: u32,
    }

    impl Side {
        fn new(
            mut store: Store,
            module: &Module,
            imports: &Imports,
            handle: u32,
        ) -> (Self, Instance) {
            let instance = Instance::new(&mut store, module, imports).unwrap();
            let funcs = Case::ALL
                .iter()
                .map(|case| {
                    instance
                        .exports
                        .get_typed_function(&store, case.export())
                        .unwrap()
                })
                .collect();
            let side = Side {
                store,
                funcs,
                handle,
            };
            (side, instance)
        }
    }

    impl Runner for Side {
        fn handle(&self) -> u32 {
            self.handle
        }

        fn run(&mut self, case: Case, n: u32, a: u32, b: u32) -> Result<u32, String> {
            self.funcs[case as usize]
                .call(&mut self.store, n, a, b)
                .map_err(|e| format!("{e:?}"))
        }
    }

    /// funk: `link` + `bind_memory`.
    pub fn funk(wasm: &str) -> Side {
        use funk::wasmer::{Host, bind_memory, link};
        let mut store = Store::default();
        let module = Module::new(&store, wasm).unwrap();
        let mut state = Bench::default();
        let handle = state.table.insert(Counter { count: 0 }).unwrap().raw();
        let env = FunctionEnv::new(&mut store, Host::new(state));
        let mut imports = Imports::new();
        link(&mut store, &env, &mut imports, |host: &mut Host<Bench>| {
            &mut host.state
        })
        .unwrap();
        let (mut side, instance) = Side::new(store, &module, &imports, handle);
        bind_memory(&mut side.store, &env, &instance).unwrap();
        side
    }

    /// Environment of the hand-written shims: the memory, stored after
    /// instantiation, and the resource table.
    pub struct RawEnv {
        memory: Option<Memory>,
        table: ResourceTable,
    }

    fn trap(fault: raw::Fault) -> RuntimeError {
        RuntimeError::user(Box::new(fault))
    }

    /// Runs `f` with the guest memory (stored in the environment) and the
    /// environment data.
    #[inline(always)]
    fn with_memory<R>(
        env: &mut FunctionEnvMut<'_, RawEnv>,
        f: impl FnOnce(&[u8], &mut ResourceTable) -> Result<R, raw::Fault>,
    ) -> Result<R, RuntimeError> {
        let (data, store) = env.data_and_store_mut();
        let Some(memory) = &data.memory else {
            return Err(trap(raw::Fault::NoMemory));
        };
        let view = memory.view(&store);
        // SAFETY: the slice lives only inside this host call, during which
        // no wasm runs and nothing can grow or write the memory: `f` gets
        // the slice and the resource table, not the store.
        let bytes = unsafe { view.data_unchecked() };
        f(bytes, &mut data.table).map_err(trap)
    }

    fn nop(_: FunctionEnvMut<'_, RawEnv>, x: i32) -> i32 {
        x.wrapping_add(1)
    }

    /// `nop` through Wasmer's fallible-result path, as funk's Wasmer shims
    /// always are (a cancelled guest-thread call must be able to trap).
    fn nop_fallible(_: FunctionEnvMut<'_, RawEnv>, x: i32) -> Result<i32, RuntimeError> {
        Ok(x.wrapping_add(1))
    }

    fn sum(mut env: FunctionEnvMut<'_, RawEnv>, ptr: u32, len: u32) -> Result<u32, RuntimeError> {
        with_memory(&mut env, |mem, _| {
            Ok(sum_bytes(raw::region(mem, ptr, len)?))
        })
    }

    fn strlen(
        mut env: FunctionEnvMut<'_, RawEnv>,
        ptr: u32,
        len: u32,
    ) -> Result<u32, RuntimeError> {
        with_memory(&mut env, |mem, _| Ok(raw::str(mem, ptr, len)?.len() as u32))
    }

    fn writev(
        mut env: FunctionEnvMut<'_, RawEnv>,
        ptr: u32,
        count: u32,
    ) -> Result<u32, RuntimeError> {
        with_memory(&mut env, |mem, _| raw::iovecs(mem, ptr, count, total_len))
    }

    fn bump_fn(mut env: FunctionEnvMut<'_, RawEnv>, id: u32) -> Result<u32, RuntimeError> {
        let counter = env
            .data_mut()
            .table
            .get_mut::<Counter>(Handle::from_raw(id))
            .map_err(|e| RuntimeError::user(Box::new(e)))?;
        Ok(bump(counter))
    }

    /// Hand-written `Function::new_typed_with_env` shims.
    pub fn hand_written(wasm: &str) -> Side {
        hand_written_with(wasm, false)
    }

    /// The same, with `nop` returning a `Result` as every funk shim on
    /// Wasmer does: the baseline for the price of that path.
    pub fn hand_written_fallible(wasm: &str) -> Side {
        hand_written_with(wasm, true)
    }

    fn hand_written_with(wasm: &str, fallible_nop: bool) -> Side {
        let mut store = Store::default();
        let module = Module::new(&store, wasm).unwrap();
        let mut table = ResourceTable::new();
        let handle = table.insert(Counter { count: 0 }).unwrap().raw();
        let data = RawEnv {
            memory: None,
            table,
        };
        let env = FunctionEnv::new(&mut store, data);
        let mut imports = Imports::new();
        let functions = [
            (
                "nop",
                match fallible_nop {
                    true => Function::new_typed_with_env(&mut store, &env, nop_fallible),
                    false => Function::new_typed_with_env(&mut store, &env, nop),
                },
            ),
            ("sum", Function::new_typed_with_env(&mut store, &env, sum)),
            (
                "strlen",
                Function::new_typed_with_env(&mut store, &env, strlen),
            ),
            (
                "writev",
                Function::new_typed_with_env(&mut store, &env, writev),
            ),
            (
                "bump",
                Function::new_typed_with_env(&mut store, &env, bump_fn),
            ),
        ];
        for (name, function) in functions {
            imports.define("bench", name, function);
        }
        let (mut side, instance) = Side::new(store, &module, &imports, handle);
        let memory = instance.exports.get_memory("memory").unwrap().clone();
        env.as_mut(&mut side.store).memory = Some(memory);
        side
    }
}

// ---------------------------------------------------------------------------
// Checking and measuring.

/// Every side computes the same results as the first and traps on the
/// same faults.
fn check_same(engine: &str, sides: &mut [(&'static str, Box<dyn Runner>)]) {
    let (first, rest) = sides.split_first_mut().expect("a baseline");
    for case in Case::ALL {
        let (ba, bb) = case.args(first.1.handle());
        let want = first.1.run(case, 3, ba, bb);
        assert!(want.is_ok(), "{engine} {} {case:?}: {want:?}", first.0);
        for (name, side) in rest.iter_mut() {
            let (a, b) = case.args(side.handle());
            let got = side.run(case, 3, a, b);
            assert_eq!(got, want, "{engine} {case:?}: {name} vs {}", first.0);
        }
        for (name, side) in std::iter::once(&mut *first).chain(rest.iter_mut()) {
            for (a, b) in case.faults(side.handle()) {
                let got = side.run(case, 1, a, b);
                assert!(
                    got.is_err(),
                    "{engine} {name} {case:?}({a:#x}, {b}) did not trap"
                );
            }
        }
    }
}

fn measure(c: &mut Criterion, engine: &str) {
    let mut sides = sides(engine);
    check_same(engine, &mut sides);
    for case in Case::ALL {
        let mut group = c.benchmark_group(format!("{engine}-{}", case.label()));
        group.throughput(Throughput::Elements(CALLS.into()));
        for (name, side) in sides.iter_mut() {
            let (a, b) = case.args(side.handle());
            group.bench_function(*name, |bench| {
                bench.iter(|| {
                    side.run(case, black_box(CALLS), black_box(a), black_box(b))
                        .unwrap()
                })
            });
        }
        group.finish();
    }
}

/// Every side of one engine, by name; the first is the baseline.
fn sides(engine: &str) -> Vec<(&'static str, Box<dyn Runner>)> {
    match engine {
        "wasmtime" => {
            let engine = wasmtime::Engine::default();
            let module = wasmtime::Module::new(&engine, wat()).unwrap();
            vec![
                (
                    "hand-written",
                    Box::new(on_wasmtime::hand_written(&engine, &module)) as Box<dyn Runner>,
                ),
                ("funk", Box::new(on_wasmtime::funk(&engine, &module))),
                (
                    "hand-written-caught",
                    Box::new(on_wasmtime::hand_written_caught(&engine, &module)),
                ),
                (
                    "funk-unwind",
                    Box::new(on_wasmtime::funk_unwind(&engine, &module)),
                ),
                (
                    "funk-bound",
                    Box::new(on_wasmtime::funk_bound(&engine, &module)),
                ),
            ]
        }
        "wasmer" => {
            let wasm = wat();
            vec![
                (
                    "hand-written",
                    Box::new(on_wasmer::hand_written(&wasm)) as Box<dyn Runner>,
                ),
                ("funk", Box::new(on_wasmer::funk(&wasm))),
                (
                    "hand-written-fallible",
                    Box::new(on_wasmer::hand_written_fallible(&wasm)),
                ),
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
    let (a, b) = case.args(runner.handle());
    instructions::run_child(iterations, || {
        black_box(runner.run(case, black_box(CALLS), a, b).unwrap());
    });
}

fn instruction_report() {
    let mut cases: Vec<(String, Vec<&str>)> = Vec::new();
    for engine in ["wasmtime", "wasmer"] {
        let names: Vec<&str> = sides(engine).iter().map(|(name, _)| *name).collect();
        for case in Case::ALL {
            cases.push((format!("{engine}-{}", case.label()), names.clone()));
        }
    }
    let cases: Vec<(&str, &[&str])> = cases
        .iter()
        .map(|(g, names)| (g.as_str(), names.as_slice()))
        .collect();
    instructions::report(
        &cases,
        CALLS,
        &[
            ("funk", "hand-written"),
            ("funk", "hand-written-caught"),
            ("funk", "hand-written-fallible"),
            ("funk-unwind", "hand-written"),
            ("funk-bound", "hand-written"),
        ],
    );
}

fn main() {
    if let Some((group, side, iterations)) = instructions::child_args() {
        return instruction_child(&group, &side, iterations);
    }
    if instructions::wanted() {
        return instruction_report();
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    measure(&mut c, "wasmtime");
    measure(&mut c, "wasmer");
    c.final_summary();
}
