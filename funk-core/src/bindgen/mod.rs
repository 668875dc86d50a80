//! Guest bindings generated from the host's `#[host_functions]` blocks, so
//! no copy of the ABI is ever kept by hand.
//!
//! The host `impl` block is the interface definition for both sides: its
//! [`Interface`] (built by the macro from the same traits that lower the
//! calls) is turned into
//!
//! - [`rust`]: a Rust module for `wasm32` guests with, per namespace, the
//!   `extern` imports (in `raw`) and safe functions with the host methods'
//!   own signatures: `fs::open("/hello") -> Result<File, Errno>`,
//!   `fs::read(&fd, &mut [IoSliceMut])`;
//! - [`c_header`]: a C header for C and Zig guests;
//! - [`json`]: a plain description of every import for docs and other
//!   languages.
//!
//! # Using it from a guest crate
//!
//! Put the host API (the state type and its `#[host_functions]` block) in a
//! library crate that builds without an engine (`funk` with
//! `default-features = false`). The guest crate's build script depends on
//! it and writes the bindings; the guest includes them:
//!
//! ```toml
//! # guest/Cargo.toml
//! [build-dependencies]
//! my-host-api = { path = "../my-host-api" }
//! funk = { path = "../funk", default-features = false }
//! ```
//!
//! ```text
//! // guest/build.rs
//! fn main() {
//!     let interface = funk::describe::Interface::of::<my_host_api::Files>();
//!     funk::bindgen::write_rust(&interface, "host.rs").unwrap();
//! }
//! ```
//!
//! ```text
//! // guest/src/lib.rs
//! mod host {
//!     include!(concat!(env!("OUT_DIR"), "/host.rs"));
//! }
//!
//! let fd = host::fs::open("/hello")?; // Result<host::File, host::Errno>
//! ```
//!
//! Cargo reruns the build script whenever the host API crate changes, so
//! the bindings follow every host change: a changed signature breaks the
//! guest's build at the call that no longer fits.
//!
//! # What the Rust bindings do
//!
//! - `&str`, `&[T]`, `&mut [T]` pass `(ptr, len)`; `&T`/`&mut T` a
//!   pointer; `&[IoSlice]`/`&mut [IoSliceMut]` (from `std::io`) a WASI
//!   iovec array built on the stack (up to 16 buffers).
//! - Handles are newtypes per resource with no public constructor
//!   (`File::from_raw` makes one on purpose); a `Take` parameter takes the
//!   handle by value, so it cannot be used after the call.
//! - A generated type is named after the host type's last path segment, so
//!   two resources of one name (`fs::File` and `net::File`, or `Slot<u8>`
//!   and `Slot<u32>`), or two records of one name with different fields,
//!   make the bindings fail to compile with a message naming the name,
//!   rather than sharing one type: rename one on the host.
//! - Extra results are read back from out-pointers; `Result<T, E>` with a
//!   status error becomes `Result<T, E>` with `E` an enum of the host's
//!   codes (`#[derive(funk::HostError)]`) or a code newtype.
//! - `Vec<T>`/`String` results go into a guest buffer. A repeatable host
//!   function ([`Function::repeatable`](crate::describe::Function::repeatable):
//!   `&self`, or `#[funk(repeatable)]`) gets 1 KiB first and is **called
//!   again** with a buffer of the length the host reported when that was
//!   too small. Any other one (or one consuming a `Take` handle) is called
//!   once with 64 KiB; a longer result panics naming the function instead
//!   of being cut.
//! - The functions exist on `wasm32` only: on another target the imports
//!   would bind to native symbols of the same name.
//! - `bool`, `char` and narrow integers the host returns are checked; a
//!   bad value panics naming the function (the bindings are out of date).
//! - Plain records are `#[repr(C)]` structs with the host's fields; a user
//!   [`Lift`](crate::Lift) type known only by its wasm words is a tuple
//!   struct of them.
//! - Each namespace module carries a `funk.bindings` custom section with a
//!   fingerprint of every function's types:
//!   [`Interface::check_bindings`] refuses a guest built from bindings of
//!   an older interface even where the wasm signatures still agree.

mod c;
mod json;
mod names;
mod rust;
mod section;
mod types;

use std::path::PathBuf;

pub use section::{BindingsErrors, BindingsProblem};

use crate::describe::Interface;

/// The Rust guest bindings of `interface`, as source to `include!` in a
/// module of the guest crate (see the [module docs](self)).
pub fn rust(interface: &Interface) -> String {
    rust::generate(interface)
}

/// A C header declaring every import of `interface` for C and Zig guests,
/// guarded by `guard` (`FS_H`).
pub fn c_header(interface: &Interface, guard: &str) -> String {
    c::generate(interface, guard)
}

/// The interface as JSON: every import with its module, name, named wasm
/// parameters and results, the host method's Rust signature, doc comment,
/// whether it is async, and the status codes of its error type.
pub fn json(interface: &Interface) -> String {
    json::generate(interface)
}

/// For a build script: writes [`rust`]`(interface)` to `$OUT_DIR/file_name`
/// and returns the path.
///
/// # Errors
///
/// When `OUT_DIR` is not set (not run by Cargo as a build script) or the
/// file cannot be written.
pub fn write_rust(interface: &Interface, file_name: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::var_os("OUT_DIR").ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "OUT_DIR is not set: funk::bindgen::write_rust is for build scripts",
        )
    })?;
    let path = PathBuf::from(dir).join(file_name);
    std::fs::write(&path, rust(interface))?;
    Ok(path)
}
