//! The guest half of `tests/rust_guest.rs`: plain Rust compiled to
//! `wasm32-unknown-unknown`, calling the host's `fs` functions through the
//! pointer/length ABI funk documents, the way a hand-written guest binding
//! would.
//!
//! `run` exercises every kind of parameter and result once and records what
//! came back in a report (little-endian `u32`/`i32`/`u64` values and
//! length-prefixed byte strings), which the test reads through `report_ptr`
//! and `report_len`; `run` returns the FNV-1a hash of the report. The other
//! exports each end in a trap the host must report identically on every
//! engine.
#![no_std]

use core::cell::UnsafeCell;
use core::panic::PanicInfo;

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// What out-parameters hold before a call, to show which ones the host
/// wrote.
const SENTINEL: u32 = 0xdead_beef;

/// One entry of a gather list, in the WASI layout (8 bytes on wasm32).
#[repr(C)]
struct IoVec {
    buf: *const u8,
    len: usize,
}

/// One entry of a scatter list, in the WASI layout.
#[repr(C)]
struct IoVecMut {
    buf: *mut u8,
    len: usize,
}

/// The host functions, exactly as `impl Fs` in tests/rust_guest.rs lowers
/// them. A signature mismatch fails instantiation.
mod fs {
    use super::{IoVec, IoVecMut};

    #[link(wasm_import_module = "fs")]
    unsafe extern "C" {
        /// `Result<(), Errno>`: a status and nothing else.
        pub fn create(path: *const u8, path_len: usize, data: *const u8, data_len: usize) -> i32;
        /// `Result<Handle<File>, Errno>`: a status; the handle via `fd_out`.
        pub fn open(path: *const u8, path_len: usize, fd_out: *mut u32) -> i32;
        /// `Result<u32, Errno>` over `&mut [IoSliceMut]`.
        pub fn read(fd: u32, iovs: *const IoVecMut, iovs_len: usize, nread_out: *mut u32) -> i32;
        /// `Result<u32, Errno>` over `&[IoSlice]`.
        pub fn write(fd: u32, iovs: *const IoVec, iovs_len: usize, nwritten_out: *mut u32) -> i32;
        /// `(u32, u32)`: the first returned, the second via `len_out`.
        pub fn tell(fd: u32, len_out: *mut u32) -> u32;
        /// `u32` over a `u64` and a `&mut [u8]`.
        pub fn pread(fd: u32, offset: u64, buf: *mut u8, len: usize) -> u32;
        /// `u64` over a `&[u32]` (count in elements).
        pub fn checksum(words: *const u32, count: usize) -> u64;
        /// `Result<(u32, u64), Errno>`: a status; the pair via two out-pointers.
        pub fn stat(path: *const u8, path_len: usize, size_out: *mut u32, sum_out: *mut u64)
        -> i32;
        /// `Vec<u8>`: what fits in the buffer, the full length via `len_out`.
        pub fn contents(fd: u32, buf: *mut u8, cap: usize, len_out: *mut u32);
        /// `String`: as `contents`.
        pub fn list(buf: *mut u8, cap: usize, len_out: *mut u32);
        /// `Take<File>`: the handle is stale afterwards.
        pub fn close(fd: u32) -> u32;
    }
}

const REPORT_CAP: usize = 1024;

struct Report {
    len: usize,
    bytes: [u8; REPORT_CAP],
}

/// The report, in a static so the test can find it in linear memory.
struct Global(UnsafeCell<Report>);

// SAFETY: wasm32-unknown-unknown guests are single-threaded.
unsafe impl Sync for Global {}

static REPORT: Global = Global(UnsafeCell::new(Report {
    len: 0,
    bytes: [0; REPORT_CAP],
}));

fn report() -> &'static mut Report {
    // SAFETY: single-threaded, and every export takes this reference at
    // most once and drops it before returning.
    unsafe { &mut *REPORT.0.get() }
}

impl Report {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        self.bytes[self.len..end].copy_from_slice(bytes);
        self.len = end;
    }
    fn u32(&mut self, value: u32) {
        self.put(&value.to_le_bytes());
    }
    fn i32(&mut self, value: i32) {
        self.put(&value.to_le_bytes());
    }
    fn u64(&mut self, value: u64) {
        self.put(&value.to_le_bytes());
    }
    fn bytes(&mut self, bytes: &[u8]) {
        self.u32(bytes.len() as u32);
        self.put(bytes);
    }
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn create(path: &str, data: &[u8]) -> i32 {
    unsafe { fs::create(path.as_ptr(), path.len(), data.as_ptr(), data.len()) }
}

/// Takes bytes, not `&str`, so `bad_utf8` can pass what Rust would not.
fn open(path: &[u8], fd: &mut u32) -> i32 {
    unsafe { fs::open(path.as_ptr(), path.len(), fd) }
}

fn read(fd: u32, bufs: &mut [&mut [u8]], nread: &mut u32) -> i32 {
    let mut iovs = [const {
        IoVecMut {
            buf: core::ptr::null_mut(),
            len: 0,
        }
    }; 4];
    for (iov, buf) in iovs.iter_mut().zip(bufs.iter_mut()) {
        *iov = IoVecMut {
            buf: buf.as_mut_ptr(),
            len: buf.len(),
        };
    }
    unsafe { fs::read(fd, iovs.as_ptr(), bufs.len(), nread) }
}

fn write(fd: u32, parts: &[&[u8]], nwritten: &mut u32) -> i32 {
    let mut iovs = [const {
        IoVec {
            buf: core::ptr::null(),
            len: 0,
        }
    }; 4];
    for (iov, part) in iovs.iter_mut().zip(parts) {
        *iov = IoVec {
            buf: part.as_ptr(),
            len: part.len(),
        };
    }
    unsafe { fs::write(fd, iovs.as_ptr(), parts.len(), nwritten) }
}

fn pread(fd: u32, offset: u64, buf: &mut [u8]) -> u32 {
    unsafe { fs::pread(fd, offset, buf.as_mut_ptr(), buf.len()) }
}

fn stat(path: &str, size: &mut u32, sum: &mut u64) -> i32 {
    unsafe { fs::stat(path.as_ptr(), path.len(), size, sum) }
}

/// Calls a variable-length-result function with `buf`; returns the full
/// length the host reported.
fn fill(buf: &mut [u8], call: impl FnOnce(*mut u8, usize, *mut u32)) -> usize {
    let mut len = SENTINEL;
    call(buf.as_mut_ptr(), buf.len(), &mut len);
    len as usize
}

/// Where the report starts in linear memory.
#[unsafe(no_mangle)]
pub extern "C" fn report_ptr() -> *const u8 {
    report().bytes.as_ptr()
}

/// How many bytes of report the last `run` wrote.
#[unsafe(no_mangle)]
pub extern "C" fn report_len() -> usize {
    report().len
}

/// Every parameter and result kind, in the order tests/rust_guest.rs
/// expects them in the report.
#[unsafe(no_mangle)]
pub extern "C" fn run() -> i32 {
    let r = report();
    r.len = 0;

    // Strings and byte slices in, a bare status out.
    r.i32(create("/greeting", b"hello, world"));
    r.i32(create("/greeting", b"again"));
    r.i32(create("/notes", b"n"));

    // The error path: a status, and the out-pointer left alone.
    let mut fd = SENTINEL;
    r.i32(open(b"/missing", &mut fd));
    r.u32(fd);

    // A handle through the out-pointer.
    let mut fd = SENTINEL;
    r.i32(open(b"/greeting", &mut fd));
    r.u32(fd);

    // Scatter read into three buffers; the last is only partly filled.
    let (mut a, mut b, mut c) = ([0u8; 5], [0u8; 3], [0u8; 10]);
    let mut nread = SENTINEL;
    r.i32(read(fd, &mut [&mut a, &mut b, &mut c], &mut nread));
    r.u32(nread);
    r.bytes(&a);
    r.bytes(&b);
    r.bytes(&c);

    // A tuple: the position returned, the length through the out-pointer.
    let mut len = SENTINEL;
    let pos = unsafe { fs::tell(fd, &mut len) };
    r.u32(pos);
    r.u32(len);

    // Gather write at the current position.
    let mut nwritten = SENTINEL;
    r.i32(write(fd, &[b"!", b" bye", b"\n"], &mut nwritten));
    r.u32(nwritten);

    // A u64 and a mutable byte slice; past the end leaves it untouched.
    let mut window = [0u8; 8];
    r.u32(pread(fd, 7, &mut window));
    r.bytes(&window);
    let mut past = [0xaa; 4];
    r.u32(pread(fd, 1 << 40, &mut past));
    r.bytes(&past);

    // A typed slice.
    let words = [nread, nwritten, pos, len, u32::MAX];
    r.u64(unsafe { fs::checksum(words.as_ptr(), words.len()) });

    // A Result of a tuple: a status and two out-pointers, written only on
    // success.
    let (mut size, mut sum) = (SENTINEL, u64::MAX);
    r.i32(stat("/greeting", &mut size, &mut sum));
    r.u32(size);
    r.u64(sum);
    let (mut size, mut sum) = (SENTINEL, u64::MAX);
    r.i32(stat("/missing", &mut size, &mut sum));
    r.u32(size);
    r.u64(sum);

    // Vec<u8>: too small a buffer gets a prefix and the full length.
    let mut small = [0u8; 4];
    let full = fill(&mut small, |p, cap, len| unsafe {
        fs::contents(fd, p, cap, len)
    });
    r.u32(full as u32);
    r.bytes(&small);
    let mut big = [0u8; 64];
    let n = fill(&mut big, |p, cap, len| unsafe {
        fs::contents(fd, p, cap, len)
    });
    r.bytes(&big[..n.min(big.len())]);

    // String: ask for the length with an empty buffer first.
    let mut names = [0u8; 64];
    let needed = fill(&mut names[..0], |p, cap, len| unsafe {
        fs::list(p, cap, len)
    });
    r.u32(needed as u32);
    let n = fill(&mut names[..needed.min(64)], |p, cap, len| unsafe {
        fs::list(p, cap, len)
    });
    r.bytes(&names[..n.min(64)]);

    // Take: close, then reopen (same slot, next generation) and read it all.
    r.u32(unsafe { fs::close(fd) });
    let mut fd = SENTINEL;
    r.i32(open(b"/greeting", &mut fd));
    r.u32(fd);
    let mut all = [0u8; 32];
    let mut nread = SENTINEL;
    r.i32(read(fd, &mut [&mut all], &mut nread));
    r.bytes(&all[..(nread as usize).min(all.len())]);
    r.u32(unsafe { fs::close(fd) });

    fnv1a(&r.bytes[..r.len]) as i32
}

/// Reads through a handle after closing it: the host must trap.
#[unsafe(no_mangle)]
pub extern "C" fn use_after_close() -> i32 {
    create("/f", b"data");
    let mut fd = SENTINEL;
    open(b"/f", &mut fd);
    unsafe { fs::close(fd) };
    let mut buf = [0u8; 4];
    let mut nread = SENTINEL;
    read(fd, &mut [&mut buf], &mut nread)
}

/// Passes a path that is not UTF-8: the host must trap.
#[unsafe(no_mangle)]
pub extern "C" fn bad_utf8() -> i32 {
    let mut fd = SENTINEL;
    open(b"/\xff", &mut fd)
}

/// The size of linear memory in bytes.
#[unsafe(no_mangle)]
pub extern "C" fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * 65536
}

/// Hands the host an iovec whose buffer runs 2 bytes past the end of
/// memory: the host must trap.
#[unsafe(no_mangle)]
pub extern "C" fn iovec_out_of_bounds() -> i32 {
    create("/f", b"data");
    let mut fd = SENTINEL;
    open(b"/f", &mut fd);
    let iov = IoVecMut {
        buf: (memory_bytes() - 2) as *mut u8,
        len: 4,
    };
    let mut nread = SENTINEL;
    unsafe { fs::read(fd, &iov, 1, &mut nread) }
}
