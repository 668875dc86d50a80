//! # funk
//!
//! Expose high-level Rust host APIs to WebAssembly guests, and run them on
//! [Wasmtime](https://docs.rs/wasmtime) or [Wasmer](https://docs.rs/wasmer).
//!
//! Write the API as ordinary methods on your state type and put
//! [`#[host_functions]`](host_functions) on the `impl` block. Each method's
//! parameters and result are lowered to the pointer/length ABI a guest
//! compiled from Rust, C or Zig expects, every guest-supplied value is
//! checked, and the same block links into either engine:
//!
//! ```
//! use funk::{Borrow, Handle, HasResources, HostError, Failure, ResourceTable, Status, Take};
//! use std::io::IoSliceMut;
//!
//! /// An in-memory file system.
//! #[derive(Default)]
//! struct Files {
//!     table: ResourceTable,
//! }
//!
//! struct File {
//!     data: Vec<u8>,
//!     pos: usize,
//! }
//!
//! #[derive(Debug)]
//! enum Errno {
//!     NoEnt = 44,
//! }
//!
//! impl HostError for Errno {
//!     type Abi = Status; // returned as an i32 status; 0 means success
//!     fn into_failure(self) -> Failure {
//!         Failure::Status(self as i32)
//!     }
//! }
//!
//! impl HasResources for Files {
//!     fn resources(&mut self) -> &mut ResourceTable {
//!         &mut self.table
//!     }
//! }
//!
//! #[funk::host_functions(namespace = "fs")]
//! impl Files {
//!     /// Guest: `fs.open(path_ptr, path_len, fd_out_ptr) -> errno`.
//!     fn open(&mut self, path: &str) -> Result<Handle<File>, Errno> {
//!         if path != "/hello" {
//!             return Err(Errno::NoEnt);
//!         }
//!         let file = File { data: b"hello, world".to_vec(), pos: 0 };
//!         Ok(self.table.insert(file).expect("table full"))
//!     }
//!
//!     /// Guest: `fs.read(fd, iovs_ptr, iovs_len, nread_out_ptr) -> errno`.
//!     fn read(&mut self, fd: Borrow<File>, bufs: &mut [IoSliceMut<'_>]) -> Result<u32, Errno> {
//!         let file = &mut self.table[fd];
//!         let mut read = 0;
//!         for buf in bufs.iter_mut() {
//!             let n = buf.len().min(file.data.len() - file.pos);
//!             buf[..n].copy_from_slice(&file.data[file.pos..file.pos + n]);
//!             file.pos += n;
//!             read += n;
//!         }
//!         Ok(read as u32)
//!     }
//!
//!     /// Guest: `fs.close(fd)`. A stale or forged `fd` traps.
//!     fn close(&mut self, fd: Take<File>) {
//!         drop(fd.into_inner());
//!     }
//!
//!     /// Guest: `fs.len(ptr, len) -> i64`.
//!     #[funk(name = "len")]
//!     fn length(&self, data: &[u8]) -> u64 {
//!         data.len() as u64
//!     }
//! }
//! ```
//!
//! Then link it: `funk::wasmtime::link` into a `wasmtime::Linker` (with the
//! `wasmtime` feature, the default), or `funk::wasmer::link` into
//! `wasmer::Imports` (with the `wasmer` feature). Both
//! take a closure that reaches `Files` from the store data; the examples in
//! those modules are complete programs.
//!
//! ## The ABI
//!
//! | Rust parameter | wasm parameters | checked |
//! |---|---|---|
//! | `i32`, `u32`, `i64`, `u64`, `f32`, `f64` | the same type | — |
//! | `u8`, `u16`, `i8`, `i16` | `i32` | in range |
//! | `bool` | `i32` | 0 or 1 |
//! | `char` | `i32` | Unicode scalar value |
//! | `&[T]`, `&mut [T]` (`T:` [`Plain`]) | `ptr, count` | bounds, `count * size` overflow, alignment, aliasing |
//! | `&str` | `ptr, len` | bounds, UTF-8 |
//! | `&T`, `&mut T` (`T: Plain`) | `ptr` | bounds, alignment, aliasing |
//! | `&[IoSlice]`, `&mut [IoSliceMut]` | `iovs_ptr, iovs_count` (WASI layout) | each entry, count limit, aliasing |
//! | [`Handle<T>`] | `i32` | not checked (the method decides) |
//! | [`Borrow<T>`], [`Take<T>`] | `i32` | live, right type, generation |
//! | your type implementing [`Lift`] | what its `Abi` says | what you check |
//!
//! Results: `()` returns nothing; scalars, `bool`, `char` and [`Handle`] are
//! returned directly; in a tuple `(A, B, ..)` the first element is returned
//! and each further one is written through an out-pointer parameter appended
//! to the signature; `Result<T, E>` returns a status code and writes `T`
//! through out-pointers when `E`'s [`HostError::Abi`] is [`Status`], or traps
//! on error and returns `T` directly when it is [`Traps`] (as for
//! `Result<T, Trap>`). `Vec<T>` and `String` are written into a guest buffer
//! `(ptr, capacity, len_out_ptr)` — see [`OutValue`].
//!
//! Types are classified by these traits, never by their spelling: a
//! `type Fd = u32;` alias, `std::io::IoSliceMut<'_>` by full path, or your
//! own type all work. Lifetimes in paths must be written out
//! (`IoSliceMut<'_>`, not `IoSliceMut`).
//!
//! ## Attributes
//!
//! - `#[host_functions(namespace = "fs")]` on the block: the import module.
//! - `#[funk(name = "len")]` on a method: the import name (default: the
//!   method name).
//! - `#[funk(namespace = "other")]` on a method: several namespaces per block.
//! - `#[funk(skip)]`: keep a method out of the exports.
//! - `#[funk(repeatable)]`: calling the method twice with the same
//!   arguments has the effect of calling it once, so generated guest
//!   bindings may repeat a call whose `Vec`/`String` result did not fit
//!   ([`bindgen`]); `&self` methods are taken to be repeatable.
//! - `panics = "unwind"` (on the block or in `#[funk(...)]` on a method):
//!   an explicit opt-in that gives up one guarantee for speed. By default
//!   (`panics = "trap"`) a panic in a method becomes a [`Trap`] naming the
//!   function; with `"unwind"` it is not caught and unwinds to the
//!   embedder's call into the guest (both engines carry a host panic across
//!   wasm and resume it there), as in a hand-written host function. A
//!   function that also cannot fail (every parameter and its result have
//!   [`Lift::FALLIBLE`] / [`ReturnValue::FALLIBLE`] `false`: plain integers
//!   and floats, [`Handle`], `()`) is then defined through Wasmtime's
//!   infallible path, with no trap path at all. Guest input is still
//!   checked either way. Either way, a method that panics skips freeing
//!   the call's scratch overflow (an allocation made only for iovec arrays
//!   too large for the shim's inline buffer): keeping that drop off the
//!   unwinding path is what lets every call skip writing its argument view
//!   to the stack.
//!
//! ## Checking a guest before instantiating it
//!
//! [`describe::Interface::of::<State>()`](describe::Interface::of) lists every
//! import of a block: module, name, the wasm signature with each parameter
//! named in host terms (`path_ptr`, `path_len`, `result_len_out`), the
//! method's Rust signature and doc comment. `funk::wasmtime::check_imports`
//! and `funk::wasmer::check_imports` compare a module's imports with it and
//! say, before the engine's link error would, what is wrong:
//! `kv.get expects (key_ptr: i32, key_len: i32, result_ptr: i32,
//! result_cap: i32, result_len_out: i32); the guest declared 4 parameters:
//! result_len_out is missing` (see [`imports`]).
//!
//! Methods take `&self` or `&mut self`; doc comments, visibility and other
//! attributes are kept as written.
//!
//! ## Async host functions
//!
//! A method may be `async fn`; sync and async methods mix in one block. The
//! guest sees an ordinary blocking call while your executor awaits the
//! method's future:
//!
//! ```
//! use std::time::Duration;
//!
//! struct Mailbox {
//!     inbox: tokio::sync::mpsc::Receiver<Vec<u8>>,
//! }
//!
//! #[funk::host_functions(namespace = "mailbox")]
//! impl Mailbox {
//!     /// Guest: mailbox.receive(buf_ptr, buf_len) -> i32 (bytes, or -1 when closed)
//!     async fn receive(&mut self, buf: &mut [u8]) -> i32 {
//!         match self.inbox.recv().await {
//!             Some(message) => {
//!                 let n = message.len().min(buf.len());
//!                 buf[..n].copy_from_slice(&message[..n]);
//!                 n as i32
//!             }
//!             None => -1,
//!         }
//!     }
//!
//!     /// Guest: mailbox.sleep(ms)
//!     async fn sleep(&mut self, ms: u32) {
//!         tokio::time::sleep(Duration::from_millis(ms.into())).await;
//!     }
//! }
//! ```
//!
//! - **Borrowing rule.** The future may outlive the wasm frame that called
//!   it and move between threads, so an async method never borrows guest
//!   memory: `&[T]`, `&str`, `&T` and `&[IoSlice]` arguments are *copies*
//!   made before the method starts (with the same checks as above), and
//!   `&mut [T]`, `&mut T` and `&mut [IoSliceMut]` copies are written back
//!   when the method finishes, whether it succeeds or fails. The guest is
//!   blocked in the call throughout, so it cannot tell the difference
//!   ([`LiftAsync`] says which types are accepted, [`iovec`] how iovecs
//!   are copied).
//! - **`Send`.** The future must be `Send` (both engines may resume a guest
//!   on another thread); an `&self` method's future is `Send` only if the
//!   state is `Sync`.
//! - **Engines.** Wasmtime: link as usual, then `instantiate_async` and
//!   `call_async` (the store data must be `Send`). Wasmer: run the guest on a
//!   `funk::wasmer::GuestThread` (one OS thread per guest; see its docs for
//!   why). An async function takes at most 16 flat wasm parameters
//!   (out-pointers included); sync ones have no limit.
//! - **Traps, errors, panics** behave as in sync methods. **Dropping** the
//!   future of a suspended guest call cancels it: the method's future and
//!   everything it holds are dropped and the wasm stack is unwound.
//!
//! ## Guest bindings
//!
//! The same block generates the guest's side, so no copy of the ABI is
//! kept by hand: [`bindgen::rust`] turns its [`describe::Interface`] into a
//! Rust module with one safe function per import, with the method's own
//! signature (handles become per-resource newtypes, out-values are read
//! back, `Vec`/`String` results fetched into a buffer, status codes become
//! an error enum). A guest crate's build script writes it
//! ([`bindgen::write_rust`]); [`bindgen::c_header`] and [`bindgen::json`]
//! serve C/Zig guests and other tools. The [`bindgen`] module docs have
//! the set-up and every rule.
//!
//! ```
//! #[derive(Debug, funk::HostError)]
//! enum Errno {
//!     NoEnt = 44,
//! }
//!
//! struct File;
//! struct Files;
//!
//! #[funk::host_functions(namespace = "fs")]
//! impl Files {
//!     /// Opens `path`.
//!     fn open(&mut self, path: &str) -> Result<funk::Handle<File>, Errno> {
//!         Err(Errno::NoEnt)
//!     }
//! }
//!
//! let guest = funk::bindgen::rust(&funk::describe::Interface::of::<Files>());
//! assert!(guest.contains(
//!     "pub fn open(path: &str) -> ::core::result::Result<super::File, super::Errno>"
//! ));
//! assert!(guest.contains("pub enum Errno {"));
//! ```
//!
//! ## Traps
//!
//! A bad guest value never reaches your method and never panics the host:
//! the call traps with a [`Trap`] naming the function, the argument and the
//! problem, e.g. `fs::read: argument bufs: iovec 1: range
//! 0xfff0..0x10010 outside memory of 0x10000 bytes`. A panic in a method is
//! caught and becomes a trap too. Engines return the `Trap` as the error of
//! the guest call, so `error.downcast_ref::<funk::Trap>()` finds it.

#![warn(missing_docs)]

extern crate self as funk;

pub use funk_core::{
    Borrow, ErrorAbi, Failure, GuestCallError, GuestCx, GuestError, GuestIoVec, GuestMemory,
    GuestView, Handle, HandleError, HasResources, HostError, Lift, LiftAsync, LinkError, LowerCx,
    MemoryUnavailable, OutValue, Plain, ResourceTable, ResultLowering, ReturnValue, Status, Take,
    Trap, TrapKind, Traps, Wide, WriteBack, abi, bindgen, describe, imports, iovec,
};

/// Exposes the methods of an inherent `impl` block as WebAssembly host
/// functions. See the [crate documentation](crate) for the ABI and the
/// attributes.
pub use funk_macros::host_functions;

/// Derives [`Plain`](trait@Plain) for a `#[repr(C)]` struct of plain-data
/// fields, so guests can pass it by pointer and in slices.
///
/// ```
/// #[derive(Clone, Copy, funk::Plain)]
/// #[repr(C)]
/// struct Point {
///     x: i32,
///     y: i32,
/// }
/// ```
pub use funk_macros::Plain;

/// Derives [`HostError`](trait@HostError) for a fieldless enum whose
/// variants are the status codes the guest sees: `Err(Errno::NoEnt)`
/// returns 44. Every discriminant must be non-zero (0 is success) and fit an
/// `i32`, checked at compile time; the interface description
/// ([`describe`]) and the guest bindings ([`bindgen`]) list the codes by
/// name.
///
/// ```
/// #[derive(Debug, Clone, Copy, funk::HostError)]
/// enum Errno {
///     BadF = 8,
///     NoEnt = 44,
/// }
///
/// let error = funk::describe::ErrorType { name: "Errno".into(), codes: vec![("BadF".into(), 8), ("NoEnt".into(), 44)] };
/// assert_eq!(<Errno as funk::HostError>::describe(), error);
/// ```
///
/// A variant that would be code 0 does not compile:
///
/// ```compile_fail
/// #[derive(funk::HostError)]
/// enum Errno {
///     Success,
///     NoEnt = 44,
/// }
/// ```
pub use funk_macros::HostError;

/// The list of functions a `#[host_functions]` block exports.
pub use funk_core::call::{FuncInfo, HostApi};

/// The Wasmtime backend (feature `wasmtime`, on by default).
#[cfg(feature = "wasmtime")]
pub use funk_wasmtime as wasmtime;

/// The Wasmer backend (feature `wasmer`).
#[cfg(feature = "wasmer")]
pub use funk_wasmer as wasmer;

/// Support for generated code; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use funk_core::__private::*;
}
