//! A real guest: the crate in tests/guest, compiled from Rust to
//! `wasm32-unknown-unknown` by this test, calls every kind of host function
//! on every enabled engine. Each engine must produce exactly the results
//! worked out here by hand, and (with both engines enabled) the same results
//! as each other: report bytes, host-side log, files and trap messages.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IoSlice, IoSliceMut};
use std::path::Path;
use std::sync::OnceLock;

use common::Val;
use funk::{Borrow, Failure, Handle, HasResources, HostError, ResourceTable, Status, Take};

/// An in-memory file system; every call is logged.
#[derive(Default)]
pub struct Fs {
    table: ResourceTable,
    files: BTreeMap<String, Vec<u8>>,
    log: Vec<String>,
}

/// An open file: a name in `Fs::files` and a position.
pub struct File {
    path: String,
    pos: usize,
}

#[derive(Debug, Clone, Copy)]
pub enum Errno {
    Exist = 20,
    NFile = 41,
    NoEnt = 44,
}

impl HostError for Errno {
    type Abi = Status;
    fn into_failure(self) -> Failure {
        Failure::Status(self as i32)
    }
}

impl HasResources for Fs {
    fn resources(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

fn raw<T>(fd: Borrow<T>) -> u32 {
    fd.handle().raw()
}

#[funk::host_functions(namespace = "fs")]
impl Fs {
    fn create(&mut self, path: &str, data: &[u8]) -> Result<(), Errno> {
        if self.files.contains_key(path) {
            self.log.push(format!("create {path}: exists"));
            return Err(Errno::Exist);
        }
        self.files.insert(path.to_owned(), data.to_vec());
        self.log
            .push(format!("create {path} ({} bytes)", data.len()));
        Ok(())
    }

    fn open(&mut self, path: &str) -> Result<Handle<File>, Errno> {
        if !self.files.contains_key(path) {
            self.log.push(format!("open {path}: no such file"));
            return Err(Errno::NoEnt);
        }
        let file = File {
            path: path.to_owned(),
            pos: 0,
        };
        let fd = self.table.insert(file).map_err(|_| Errno::NFile)?;
        self.log.push(format!("open {path} -> {:#x}", fd.raw()));
        Ok(fd)
    }

    fn read(&mut self, fd: Borrow<File>, bufs: &mut [IoSliceMut<'_>]) -> Result<u32, Errno> {
        let file = &mut self.table[fd];
        let data = &self.files[&file.path];
        let lens: Vec<usize> = bufs.iter().map(|b| b.len()).collect();
        let mut total = 0;
        for buf in bufs.iter_mut() {
            let n = buf.len().min(data.len() - file.pos);
            buf[..n].copy_from_slice(&data[file.pos..file.pos + n]);
            file.pos += n;
            total += n;
        }
        self.log
            .push(format!("read {:#x} into {lens:?} -> {total}", raw(fd)));
        Ok(total as u32)
    }

    fn write(&mut self, fd: Borrow<File>, bufs: &[IoSlice<'_>]) -> Result<u32, Errno> {
        let file = &mut self.table[fd];
        let data = self.files.get_mut(&file.path).unwrap();
        let mut total = 0;
        for buf in bufs {
            let end = file.pos + buf.len();
            if data.len() < end {
                data.resize(end, 0);
            }
            data[file.pos..end].copy_from_slice(buf);
            file.pos = end;
            total += buf.len();
        }
        let lens: Vec<usize> = bufs.iter().map(|b| b.len()).collect();
        self.log
            .push(format!("write {:#x} from {lens:?} -> {total}", raw(fd)));
        Ok(total as u32)
    }

    /// Position, then length.
    fn tell(&mut self, fd: Borrow<File>) -> (u32, u32) {
        let file = &self.table[fd];
        let (pos, len) = (file.pos as u32, self.files[&file.path].len() as u32);
        self.log
            .push(format!("tell {:#x} -> ({pos}, {len})", raw(fd)));
        (pos, len)
    }

    fn pread(&mut self, fd: Borrow<File>, offset: u64, out: &mut [u8]) -> u32 {
        let data = &self.files[&self.table[fd].path];
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|at| data.get(at..))
            .unwrap_or_default();
        let n = out.len().min(rest.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.log.push(format!(
            "pread {:#x} at {offset} into {} -> {n}",
            raw(fd),
            out.len()
        ));
        n as u32
    }

    /// Sum of `(i + 1) * words[i]`.
    fn checksum(&mut self, words: &[u32]) -> u64 {
        self.log.push(format!("checksum {words:?}"));
        words.iter().zip(1..).map(|(&w, i)| i * u64::from(w)).sum()
    }

    /// Size, then byte sum.
    fn stat(&mut self, path: &str) -> Result<(u32, u64), Errno> {
        let Some(data) = self.files.get(path) else {
            self.log.push(format!("stat {path}: no such file"));
            return Err(Errno::NoEnt);
        };
        let sum = data.iter().map(|&b| u64::from(b)).sum();
        self.log.push(format!("stat {path}"));
        Ok((data.len() as u32, sum))
    }

    fn contents(&mut self, fd: Borrow<File>) -> Vec<u8> {
        self.log.push(format!("contents {:#x}", raw(fd)));
        self.files[&self.table[fd].path].clone()
    }

    /// The file names, one per line.
    fn list(&mut self) -> String {
        self.log.push("list".to_owned());
        self.files.keys().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Returns the final position.
    fn close(&mut self, fd: Take<File>) -> u32 {
        let id = fd.handle().raw();
        let file = fd.into_inner();
        self.log.push(format!("close {id:#x} at {}", file.pos));
        file.pos as u32
    }
}

const TARGET: &str = "wasm32-unknown-unknown";

#[path = "support/guest_build.rs"]
mod guest_build;

/// Compiles tests/guest into target/guest, a target directory of its own:
/// the outer cargo holds the lock on the workspace's.
fn build_guest() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = root.join("tests/guest/Cargo.toml");
    let out = guest_build::build(&manifest, TARGET, true, &root.join("target/guest"));
    let wasm = out.join("funk_test_guest.wasm");
    std::fs::read(&wasm).unwrap_or_else(|e| panic!("cannot read {}: {e}", wasm.display()))
}

/// The guest, built once per test process, as WAT text: `(module binary
/// "...")` carries the compiled bytes verbatim, so the text-taking
/// `Guest::new` of tests/common loads it on either engine.
fn guest_wat() -> &'static str {
    static WAT: OnceLock<String> = OnceLock::new();
    WAT.get_or_init(|| {
        let wasm = build_guest();
        let mut wat = String::with_capacity(wasm.len() * 3 + 20);
        wat.push_str("(module binary \"");
        for byte in wasm {
            write!(wat, "\\{byte:02x}").unwrap();
        }
        wat.push_str("\")");
        wat
    })
}

type Trapped = (String, String, Vec<String>, usize);

/// Everything observable about a guest run, to compare across engines.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    /// What `run` returned.
    run: Vec<Val>,
    /// The guest's report.
    report: Vec<u8>,
    /// Host calls `run` made.
    log: Vec<String>,
    /// The file system afterwards.
    files: BTreeMap<String, Vec<u8>>,
    /// Resources left open.
    open: usize,
    /// The guest's memory size in bytes.
    memory: u32,
    /// For each trapping export: its name, the trap message, the host calls
    /// made and the resources left open.
    traps: Vec<Trapped>,
}

/// The report layout `run` writes: little-endian integers, byte strings
/// prefixed with their `u32` length.
#[derive(Default)]
struct Report(Vec<u8>);

impl Report {
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.0.extend(b);
        self
    }
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

const SENTINEL: u32 = 0xdead_beef;
/// The first handle a fresh table gives out (slot 0, generation 1), and the
/// next one for the same slot once it is freed (generation 2).
const FD1: u32 = 1 << 20;
const FD2: u32 = 2 << 20;
const FINAL: &[u8] = b"hello, world! bye\n";

/// What `run` must report, derived from the host functions' semantics.
fn expected_report() -> Vec<u8> {
    let mut r = Report::default();
    r.i32(0).i32(Errno::Exist as i32).i32(0); // create, create again, create /notes
    r.i32(Errno::NoEnt as i32).u32(SENTINEL); // open /missing: fd untouched
    r.i32(0).u32(FD1); // open /greeting
    r.i32(0).u32(12); // scatter read of "hello, world" into 5 + 3 + 10
    r.bytes(b"hello").bytes(b", w").bytes(b"orld\0\0\0\0\0\0");
    r.u32(12).u32(12); // tell: (pos, len)
    r.i32(0).u32(6); // gather write of "!", " bye", "\n"
    r.u32(8).bytes(b"world! b"); // pread at 7
    r.u32(0).bytes(&[0xaa; 4]); // pread past the end
    r.u64(12 + 2 * 6 + 3 * 12 + 4 * 12 + 5 * u64::from(u32::MAX)); // checksum
    let sum = FINAL.iter().map(|&b| u64::from(b)).sum();
    r.i32(0).u32(FINAL.len() as u32).u64(sum); // stat /greeting
    r.i32(Errno::NoEnt as i32).u32(SENTINEL).u64(u64::MAX); // stat /missing
    r.u32(FINAL.len() as u32).bytes(b"hell"); // contents into 4 bytes
    r.bytes(FINAL); // contents into 64 bytes
    let names = b"/greeting\n/notes";
    r.u32(names.len() as u32).bytes(names); // list: length, then the text
    r.u32(FINAL.len() as u32); // close: final position
    r.i32(0).u32(FD2); // reopen: same slot, next generation
    r.i32(0).bytes(FINAL); // read it all
    r.u32(FINAL.len() as u32); // close
    r.0
}

fn expected_log() -> Vec<String> {
    [
        "create /greeting (12 bytes)".to_owned(),
        "create /greeting: exists".to_owned(),
        "create /notes (1 bytes)".to_owned(),
        "open /missing: no such file".to_owned(),
        format!("open /greeting -> {FD1:#x}"),
        format!("read {FD1:#x} into [5, 3, 10] -> 12"),
        format!("tell {FD1:#x} -> (12, 12)"),
        format!("write {FD1:#x} from [1, 4, 1] -> 6"),
        format!("pread {FD1:#x} at 7 into 8 -> 8"),
        format!("pread {FD1:#x} at {} into 4 -> 0", 1u64 << 40),
        format!("checksum [12, 6, 12, 12, {}]", u32::MAX),
        "stat /greeting".to_owned(),
        "stat /missing: no such file".to_owned(),
        format!("contents {FD1:#x}"),
        format!("contents {FD1:#x}"),
        "list".to_owned(),
        "list".to_owned(),
        format!("close {FD1:#x} at 18"),
        format!("open /greeting -> {FD2:#x}"),
        format!("read {FD2:#x} into [32] -> 18"),
        format!("close {FD2:#x} at 18"),
    ]
    .into()
}

fn expected_files() -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([
        ("/greeting".to_owned(), FINAL.to_vec()),
        ("/notes".to_owned(), b"n".to_vec()),
    ])
}

/// The trapping exports' messages and host calls; `memory` is the guest's
/// memory size in bytes.
fn expected_traps(memory: u32) -> Vec<Trapped> {
    let setup = || {
        vec![
            "create /f (4 bytes)".to_owned(),
            format!("open /f -> {FD1:#x}"),
        ]
    };
    let mut closed = setup();
    closed.push(format!("close {FD1:#x} at 0"));
    vec![
        (
            "use_after_close".to_owned(),
            format!(
                "fs::read: argument fd: handle {FD1:#x} is stale: its resource was closed or taken"
            ),
            closed,
            0,
        ),
        (
            "bad_utf8".to_owned(),
            "fs::open: argument path: invalid UTF-8 at byte 1 of the string".to_owned(),
            vec![],
            0,
        ),
        (
            "iovec_out_of_bounds".to_owned(),
            format!(
                "fs::read: argument bufs: iovec 0: range {:#x}..{:#x} outside memory of {memory:#x} bytes",
                memory - 2,
                memory + 2
            ),
            setup(),
            1, // the trap cut the guest off before it could close it
        ),
    ]
}

each_engine! {
    fn one(results: Result<Vec<Val>, String>) -> Val {
        let results = results.unwrap();
        assert_eq!(results.len(), 1, "{results:?}");
        results[0]
    }

    /// Runs every export of the guest, each in a fresh instance.
    pub(crate) fn outcome() -> Outcome {
        let mut g = Guest::new(guest_wat(), Fs::default());
        let run = g.call("run", &[]).unwrap();
        let ptr = one(g.call("report_ptr", &[])).i32() as u32;
        let len = one(g.call("report_len", &[])).i32() as usize;
        let report = g.read(ptr, len);
        let memory = one(g.call("memory_bytes", &[])).i32() as u32;
        let state = std::mem::take(g.state());
        let traps = ["use_after_close", "bad_utf8", "iovec_out_of_bounds"]
            .into_iter()
            .map(|name| {
                let mut g = Guest::new(guest_wat(), Fs::default());
                let message = g.call(name, &[]).unwrap_err();
                let state = std::mem::take(g.state());
                (name.to_owned(), message, state.log, state.table.len())
            })
            .collect();
        Outcome {
            run,
            report,
            log: state.log,
            files: state.files,
            open: state.table.len(),
            memory,
            traps,
        }
    }

    #[test]
    fn the_rust_guest_gets_every_result_kind_right() {
        let outcome = outcome();
        let engine = Guest::<Fs>::ENGINE;
        let report = expected_report();
        assert_eq!(outcome.report, report, "{engine}: report");
        assert_eq!(outcome.run, [Val::I32(fnv1a(&report) as i32)], "{engine}: run");
        assert_eq!(outcome.log, expected_log(), "{engine}: host log");
        assert_eq!(outcome.files, expected_files(), "{engine}: files");
        assert_eq!(outcome.open, 0, "{engine}: every handle closed");
        assert_eq!(outcome.traps, expected_traps(outcome.memory), "{engine}: traps");
    }
}

/// Both engines, run side by side, observe exactly the same thing.
#[cfg(all(feature = "wasmtime", feature = "wasmer"))]
#[test]
fn both_engines_agree_on_the_rust_guest() {
    assert_eq!(on_wasmtime::outcome(), on_wasmer::outcome());
}
