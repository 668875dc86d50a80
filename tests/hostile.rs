//! The hostile-guest suite: every class of bad input against every lowering
//! it applies to, on every enabled engine. Each row must end in a trap whose
//! message names `namespace::function`, the argument and the problem; the
//! exact text is pinned. Never a host panic, abort or UB.
//!
//! | class | lowerings |
//! |---|---|
//! | out of bounds | `&[u8]`, `&mut [u8]`, `&str`, `&[u32]`, `&mut [u64]`, `&[Record]`, `&T`, `&mut T`, iovec arrays, iovec entries (shared and mutable), out-pointers, result buffers |
//! | `ptr + len` overflow | `&[u8]` |
//! | `count * size` overflow | `&mut [u64]`, iovec count |
//! | misaligned | `&[u32]`, `&T`, `&mut T`, iovec array, out-pointer |
//! | invalid UTF-8 / bool / char / narrow int | `&str`, `bool`, `char`, `u8` |
//! | overlapping views | `&mut` + `&`, `&mut` + `&mut`, iovec buffers, `&mut T` + `&[u8]` |
//! | bad handles | forged, stale, wrong type, already taken (same call) |
//! | no memory | a guest without an exported memory |
//! | host panic | a method that panics |

mod common;

use std::io::{IoSlice, IoSliceMut};

use common::Val::{self, I32};
use common::{Sig, forwarding_module};
use funk::{Borrow, Failure, Handle, HasResources, HostError, ResourceTable, Status, Take};

#[derive(Default)]
pub struct Hostile {
    table: ResourceTable,
}

impl HasResources for Hostile {
    fn resources(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

pub struct Res;
pub struct OtherRes;

#[derive(Clone, Copy, funk::Plain)]
#[repr(C)]
pub struct Point {
    x: u32,
    y: u32,
}

#[derive(Debug)]
pub struct Errno;

impl HostError for Errno {
    type Abi = Status;
    fn into_failure(self) -> Failure {
        Failure::Status(1)
    }
}

#[funk::host_functions(namespace = "h")]
impl Hostile {
    fn bytes(&self, data: &[u8]) -> u32 {
        data.len() as u32
    }
    fn bytes_mut(&self, data: &mut [u8]) {
        data.fill(1);
    }
    fn text(&self, text: &str) -> u32 {
        text.len() as u32
    }
    fn words(&self, words: &[u32]) -> u32 {
        words.len() as u32
    }
    fn words_mut(&self, words: &mut [u64]) {
        words.fill(1);
    }
    fn records(&self, points: &[Point]) -> u32 {
        points.iter().map(|p| p.x + p.y).sum()
    }
    fn value(&self, value: &u64) -> u64 {
        *value
    }
    fn value_mut(&self, value: &mut u32) {
        *value += 1;
    }
    fn gather(&self, bufs: &[IoSlice<'_>]) -> u32 {
        bufs.len() as u32
    }
    fn scatter(&self, bufs: &mut [IoSliceMut<'_>]) -> u32 {
        bufs.len() as u32
    }
    fn flag(&self, flag: bool) -> u32 {
        flag.into()
    }
    fn letter(&self, letter: char) -> u32 {
        letter.into()
    }
    fn small(&self, small: u8) -> u32 {
        small.into()
    }
    fn copy(&self, dst: &mut [u8], src: &[u8]) {
        dst.copy_from_slice(src);
    }
    fn swap(&self, a: &mut [u8], b: &mut [u8]) {
        a.swap_with_slice(b);
    }
    fn patch(&self, header: &mut u32, body: &[u8]) {
        *header = body.len() as u32;
    }
    fn open(&mut self) -> Handle<Res> {
        self.table.insert(Res).unwrap()
    }
    fn open_other(&mut self) -> Handle<OtherRes> {
        self.table.insert(OtherRes).unwrap()
    }
    fn use_res(&mut self, res: Borrow<Res>) -> u32 {
        res.handle().raw()
    }
    fn take_res(&mut self, res: Take<Res>) {
        let Res = res.into_inner();
    }
    fn take_two(&mut self, a: Take<Res>, b: Take<Res>) {
        let (Res, Res) = (a.into_inner(), b.into_inner());
    }
    fn out_u32(&self) -> Result<u32, Errno> {
        Ok(7)
    }
    fn out_u64(&self) -> Result<u64, Errno> {
        Ok(7)
    }
    fn out_bytes(&self) -> Vec<u8> {
        vec![1, 2, 3]
    }
    fn panics(&self, value: u32) -> u32 {
        panic!("host bug {value}")
    }
}

const P1: &[&str] = &["i32"];
const P2: &[&str] = &["i32", "i32"];
const R1: &[&str] = &["i32"];
const SIGS: &[Sig] = &[
    ("h", "bytes", P2, R1),
    ("h", "bytes_mut", P2, &[]),
    ("h", "text", P2, R1),
    ("h", "words", P2, R1),
    ("h", "words_mut", P2, &[]),
    ("h", "records", P2, R1),
    ("h", "value", P1, &["i64"]),
    ("h", "value_mut", P1, &[]),
    ("h", "gather", P2, R1),
    ("h", "scatter", P2, R1),
    ("h", "flag", P1, R1),
    ("h", "letter", P1, R1),
    ("h", "small", P1, R1),
    ("h", "copy", &["i32"; 4], &[]),
    ("h", "swap", &["i32"; 4], &[]),
    ("h", "patch", &["i32"; 3], &[]),
    ("h", "open", &[], R1),
    ("h", "open_other", &[], R1),
    ("h", "use_res", P1, R1),
    ("h", "take_res", P1, &[]),
    ("h", "take_two", P2, &[]),
    ("h", "out_u32", P1, R1),
    ("h", "out_u64", P1, R1),
    ("h", "out_bytes", &["i32"; 3], &[]),
    ("h", "panics", P1, R1),
];

/// Something done before the hostile call.
enum Step {
    /// Write bytes into guest memory.
    Write(u32, &'static [u8]),
    /// Make a call that must succeed.
    Call(&'static str, &'static [Val]),
}

struct Row {
    class: &'static str,
    setup: &'static [Step],
    export: &'static str,
    args: &'static [Val],
    trap: &'static str,
}

/// The first handle a fresh table hands out: index 0, generation 1.
const FIRST_HANDLE: i32 = 0x10_0000;
const OPEN: Step = Step::Call("h.open", &[]);

/// iovec entries `{buf, len}` as little-endian bytes.
macro_rules! iovecs {
    ($($buf:expr, $len:expr);*) => {
        &[$( ($buf as u32).to_le_bytes(), ($len as u32).to_le_bytes() ),*].as_flattened()
    };
}

const ROWS: &[Row] = &[
    // out of bounds
    Row {
        class: "oob",
        setup: &[],
        export: "h.bytes",
        args: &[I32(0xfff0), I32(0x20)],
        trap: "h::bytes: argument data: range 0xfff0..0x10010 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.bytes_mut",
        args: &[I32(0x10000), I32(1)],
        trap: "h::bytes_mut: argument data: range 0x10000..0x10001 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.text",
        args: &[I32(0xffff), I32(2)],
        trap: "h::text: argument text: range 0xffff..0x10001 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.words",
        args: &[I32(0xfffc), I32(2)],
        trap: "h::words: argument words: range 0xfffc..0x10004 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.words_mut",
        args: &[I32(0xfff8), I32(2)],
        trap: "h::words_mut: argument words: range 0xfff8..0x10008 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.records",
        args: &[I32(0xfff8), I32(2)],
        trap: "h::records: argument points: range 0xfff8..0x10008 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.value",
        args: &[I32(0x10000)],
        trap: "h::value: argument value: range 0x10000..0x10008 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.value_mut",
        args: &[I32(0xfffc + 4)],
        trap: "h::value_mut: argument value: range 0x10000..0x10004 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.gather",
        args: &[I32(0xfff8), I32(2)],
        trap: "h::gather: argument bufs: range 0xfff8..0x10008 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[Step::Write(0, iovecs!(16, 4; 0xfff0, 0x20))],
        export: "h.gather",
        args: &[I32(0), I32(2)],
        trap: "h::gather: argument bufs: iovec 1: range 0xfff0..0x10010 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[Step::Write(0, iovecs!(0x1_0000, 1))],
        export: "h.scatter",
        args: &[I32(0), I32(1)],
        trap: "h::scatter: argument bufs: iovec 0: range 0x10000..0x10001 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.out_u32",
        args: &[I32(0x10000)],
        trap: "h::out_u32: argument result out-pointer: range 0x10000..0x10004 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.out_bytes",
        args: &[I32(0xfff0), I32(0x20), I32(0)],
        trap: "h::out_bytes: argument result out-pointer: range 0xfff0..0x10010 outside memory of 0x10000 bytes",
    },
    Row {
        class: "oob",
        setup: &[],
        export: "h.out_bytes",
        args: &[I32(0), I32(8), I32(0x10000)],
        trap: "h::out_bytes: argument result out-pointer: range 0x10000..0x10004 outside memory of 0x10000 bytes",
    },
    // arithmetic that would wrap in 32 bits
    Row {
        class: "ptr+len overflow",
        setup: &[],
        export: "h.bytes",
        args: &[I32(0xffff_fff0_u32 as i32), I32(0x20)],
        trap: "h::bytes: argument data: range 0xfffffff0..0x100000010 outside memory of 0x10000 bytes",
    },
    Row {
        class: "count*size overflow",
        setup: &[],
        export: "h.words_mut",
        args: &[I32(0), I32(0x2000_0000)],
        trap: "h::words_mut: argument words: range 0x0..0x100000000 outside memory of 0x10000 bytes",
    },
    Row {
        class: "count*size overflow",
        setup: &[],
        export: "h.gather",
        args: &[I32(0), I32(0x2000_0000)],
        trap: "h::gather: argument bufs: iovec count 536870912 exceeds the limit of 1024",
    },
    // alignment
    Row {
        class: "misaligned",
        setup: &[],
        export: "h.words",
        args: &[I32(2), I32(1)],
        trap: "h::words: argument words: pointer 0x2 is not aligned to 4 bytes",
    },
    Row {
        class: "misaligned",
        setup: &[],
        export: "h.value",
        args: &[I32(4)],
        trap: "h::value: argument value: pointer 0x4 is not aligned to 8 bytes",
    },
    Row {
        class: "misaligned",
        setup: &[],
        export: "h.value_mut",
        args: &[I32(1)],
        trap: "h::value_mut: argument value: pointer 0x1 is not aligned to 4 bytes",
    },
    Row {
        class: "misaligned",
        setup: &[],
        export: "h.scatter",
        args: &[I32(2), I32(1)],
        trap: "h::scatter: argument bufs: pointer 0x2 is not aligned to 4 bytes",
    },
    Row {
        class: "misaligned",
        setup: &[],
        export: "h.out_u64",
        args: &[I32(4)],
        trap: "h::out_u64: argument result out-pointer: pointer 0x4 is not aligned to 8 bytes",
    },
    // invalid values
    Row {
        class: "utf-8",
        setup: &[Step::Write(32, b"ok\xff")],
        export: "h.text",
        args: &[I32(32), I32(3)],
        trap: "h::text: argument text: invalid UTF-8 at byte 2 of the string",
    },
    Row {
        class: "bool",
        setup: &[],
        export: "h.flag",
        args: &[I32(2)],
        trap: "h::flag: argument flag: invalid bool 2 (expected 0 or 1)",
    },
    Row {
        class: "bool",
        setup: &[],
        export: "h.flag",
        args: &[I32(-1)],
        trap: "h::flag: argument flag: invalid bool 4294967295 (expected 0 or 1)",
    },
    Row {
        class: "char",
        setup: &[],
        export: "h.letter",
        args: &[I32(0xd800)],
        trap: "h::letter: argument letter: invalid char 0xd800 (not a Unicode scalar value)",
    },
    Row {
        class: "char",
        setup: &[],
        export: "h.letter",
        args: &[I32(0x11_0000)],
        trap: "h::letter: argument letter: invalid char 0x110000 (not a Unicode scalar value)",
    },
    Row {
        class: "narrow int",
        setup: &[],
        export: "h.small",
        args: &[I32(256)],
        trap: "h::small: argument small: value 256 out of range for u8",
    },
    // aliasing
    Row {
        class: "overlap",
        setup: &[],
        export: "h.copy",
        args: &[I32(0), I32(8), I32(4), I32(8)],
        trap: "h::copy: argument src: region 0x4..0xc overlaps region 0x0..0x8 already borrowed by this call",
    },
    Row {
        class: "overlap",
        setup: &[],
        export: "h.swap",
        args: &[I32(0), I32(8), I32(7), I32(2)],
        trap: "h::swap: argument b: region 0x7..0x9 overlaps region 0x0..0x8 already borrowed by this call (a mutable view may not alias)",
    },
    Row {
        class: "overlap",
        setup: &[Step::Write(0, iovecs!(100, 8; 104, 8))],
        export: "h.scatter",
        args: &[I32(0), I32(2)],
        trap: "h::scatter: argument bufs: iovec 1: region 0x68..0x70 overlaps region 0x64..0x6c already borrowed by this call (a mutable view may not alias)",
    },
    Row {
        class: "overlap",
        setup: &[Step::Write(0, iovecs!(4, 8))],
        export: "h.scatter",
        args: &[I32(0), I32(1)],
        trap: "h::scatter: argument bufs: iovec 0: region 0x4..0xc overlaps region 0x0..0x8 already borrowed by this call (a mutable view may not alias)",
    },
    Row {
        class: "overlap",
        setup: &[],
        export: "h.patch",
        args: &[I32(16), I32(12), I32(8)],
        trap: "h::patch: argument body: region 0xc..0x14 overlaps region 0x10..0x14 already borrowed by this call",
    },
    // handles
    Row {
        class: "forged handle",
        setup: &[],
        export: "h.use_res",
        args: &[I32(0x12345)],
        trap: "h::use_res: argument res: handle 0x12345 does not name a resource",
    },
    Row {
        class: "forged handle",
        setup: &[OPEN],
        export: "h.use_res",
        args: &[I32(FIRST_HANDLE + (1 << 20))],
        trap: "h::use_res: argument res: handle 0x200000 does not name a resource",
    },
    Row {
        class: "stale handle",
        setup: &[OPEN, Step::Call("h.take_res", &[I32(FIRST_HANDLE)])],
        export: "h.use_res",
        args: &[I32(FIRST_HANDLE)],
        trap: "h::use_res: argument res: handle 0x100000 is stale: its resource was closed or taken",
    },
    Row {
        class: "wrong-type handle",
        setup: &[Step::Call("h.open_other", &[])],
        export: "h.use_res",
        args: &[I32(FIRST_HANDLE)],
        trap: "h::use_res: argument res: handle 0x100000 names a `hostile::OtherRes`, expected a `hostile::Res`",
    },
    Row {
        class: "already-taken handle",
        setup: &[OPEN, Step::Call("h.take_res", &[I32(FIRST_HANDLE)])],
        export: "h.take_res",
        args: &[I32(FIRST_HANDLE)],
        trap: "h::take_res: argument res: handle 0x100000 is stale: its resource was closed or taken",
    },
    Row {
        class: "already-taken handle",
        setup: &[OPEN],
        export: "h.take_two",
        args: &[I32(FIRST_HANDLE), I32(FIRST_HANDLE)],
        trap: "h::take_two: argument b: handle 0x100000 is stale: its resource was closed or taken",
    },
    // host bugs
    Row {
        class: "host panic",
        setup: &[],
        export: "h.panics",
        args: &[I32(7)],
        trap: "h::panics: host function panicked: host bug 7",
    },
];

const NO_MEMORY: &str = r#"(module
    (import "h" "bytes" (func $bytes (param i32 i32) (result i32)))
    (func (export "h.bytes") (param i32 i32) (result i32) local.get 0 local.get 1 call $bytes))"#;

each_engine! {
    #[test]
    fn every_hostile_row_traps_with_function_argument_and_problem() {
        let module = forwarding_module(SIGS);
        let mut failures = Vec::new();
        for row in ROWS {
            let mut guest = Guest::new(&module, Hostile::default());
            for step in row.setup {
                match step {
                    Step::Write(at, bytes) => guest.write(*at, bytes),
                    Step::Call(export, args) => {
                        guest.call(export, args).unwrap();
                    }
                }
            }
            match guest.call(row.export, row.args) {
                Ok(results) => failures.push(format!("[{}] {}: returned {results:?}", row.class, row.export)),
                Err(trap) if trap != row.trap => failures.push(format!(
                    "[{}] {}:\n   expected {}\n        got {trap}",
                    row.class, row.export, row.trap
                )),
                Err(_) => {}
            }
            // The instance stays usable after a trap.
            assert_eq!(guest.call("h.bytes", &[I32(0), I32(4)]).unwrap(), [I32(4)]);
        }
        assert!(failures.is_empty(), "{} of {} rows failed on {}:\n{}", failures.len(), ROWS.len(), Guest::<Hostile>::ENGINE, failures.join("\n"));
    }

    #[test]
    fn a_guest_without_memory_traps_instead_of_reading_anything() {
        let mut guest = Guest::new(NO_MEMORY, Hostile::default());
        let trap = guest.call("h.bytes", &[I32(0), I32(4)]).unwrap_err();
        let expected = match Guest::<Hostile>::ENGINE {
            "wasmtime" => "h::bytes: argument data: the guest exports no memory named `memory`",
            _ => "h::bytes: argument data: no guest memory is bound to this store (bind it after instantiation)",
        };
        assert_eq!(trap, expected);
    }
}

/// Shared memories can be written by other threads while the host holds a
/// slice of them, so funk refuses to bind one. (Wasmtime is built here
/// without the threads proposal, so only Wasmer can instantiate such a guest.)
#[cfg(feature = "wasmer")]
#[test]
fn wasmer_refuses_to_bind_a_shared_memory() {
    use funk::wasmer::{Host, bind_memory, link};
    use wasmer::{FunctionEnv, Imports, Instance, Module, Store};

    let wat = r#"(module
        (import "h" "bytes" (func $bytes (param i32 i32) (result i32)))
        (memory (export "memory") 1 1 shared)
        (func (export "h.bytes") (param i32 i32) (result i32) local.get 0 local.get 1 call $bytes))"#;
    let mut store = Store::default();
    let module = Module::new(&store, wat).unwrap();
    let env = FunctionEnv::new(&mut store, Host::new(Hostile::default()));
    let mut imports = Imports::new();
    link(&mut store, &env, &mut imports, |h: &mut Host<Hostile>| {
        &mut h.state
    })
    .unwrap();
    let instance = Instance::new(&mut store, &module, &imports).unwrap();
    let error = bind_memory(&mut store, &env, &instance).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot bind guest memory: the guest memory is shared between threads, which funk does not support"
    );
    let call = instance.exports.get_function("h.bytes").unwrap();
    let trap = call.call(&mut store, &[0.into(), 4.into()]).unwrap_err();
    assert_eq!(
        trap.downcast_ref::<funk::Trap>().unwrap().to_string(),
        "h::bytes: argument data: no guest memory is bound to this store (bind it after instantiation)"
    );
}
