//! WASI preview 1 (`wasi_snapshot_preview1`) for one process, without a
//! file system.
//!
//! [`Wasi`] is the host state of one process's WASI: its arguments and
//! environment, its stdio ([`Input`], [`Output`]), its clocks. Its methods
//! are a `#[funk::host_functions(namespace = "wasi_snapshot_preview1")]`
//! block, so funk lifts and checks every guest pointer and length (with
//! overflow-safe arithmetic, naming `wasi_snapshot_preview1::function` and
//! the argument in every trap), and the same block links into Wasmtime or
//! Wasmer. Reading stdin, `poll_oneoff` and `sched_yield` are async host
//! functions; the rest are synchronous.
//!
//! Every preview 1 function is linked, with the exact witx signature, so any
//! guest instantiates. A valid call never traps (except `proc_exit`, whose
//! trap carries an [`Exit`]) and none touches the host file system:
//!
//! | functions | behaviour |
//! |---|---|
//! | `args_*`, `environ_*` | from [`WasiSetup`] |
//! | `clock_res_get`, `clock_time_get` | `realtime`, `monotonic`; CPU-time clocks `inval` (see [`clock`](self#clocks)) |
//! | `fd_write` | stdout, stderr ([`Output`]) |
//! | `fd_read` | stdin ([`Input`]), async |
//! | `fd_fdstat_get`, `fd_filestat_get` | stdio: character devices |
//! | `fd_close`, `fd_renumber` | on stdio |
//! | `fd_seek`, `fd_tell`, `fd_pread`, `fd_pwrite`, `fd_advise`, `fd_allocate` | stdio: `spipe` |
//! | `fd_sync`, `fd_datasync`, `fd_filestat_set_size` | stdio: `inval` |
//! | `fd_fdstat_set_flags` | stdio: `0` for no flags, otherwise `notsup` |
//! | `fd_fdstat_set_rights`, `fd_filestat_set_times` | stdio: `notsup` |
//! | `fd_readdir`, `path_*` | stdio: `notdir` |
//! | `fd_prestat_get`, `fd_prestat_dir_name` | `badf` (no preopens) |
//! | `sock_*` | stdio: `notsock` |
//! | `random_get` | the host's CSPRNG (`getrandom`) |
//! | `poll_oneoff` | clocks and stdio readiness, async (see [`Poll`](self#poll_oneoff)) |
//! | `sched_yield` | yields to the executor, async |
//! | `proc_exit` | traps with [`Exit`] |
//! | `proc_raise` | `notsup` (signals are not supported) |
//!
//! Any descriptor other than an open 0, 1 or 2 is `badf`, checked before
//! anything else. Where POSIX names an errno for the operation on a pipe or
//! character device, that is the errno; otherwise it is `notsup`.
//!
//! # Clocks
//! `realtime` is the host's wall clock; `monotonic` counts from the
//! creation of the `Wasi` state on tokio's clock. Processes share OS
//! threads, so no per-process CPU time exists: `process_cputime_id` and
//! `thread_cputime_id` return `inval`, as the witx prescribes for
//! unsupported clocks. Resolution: 1 ns.
//!
//! # poll_oneoff
//! Clock subscriptions (relative or absolute) sleep on tokio timers;
//! `fd_write` on stdout/stderr is ready at once; `fd_read` on stdin is
//! ready when a read would not wait (data buffered, or the end). Bad
//! descriptors and unknown event types are events with an error.
//!
//! # Linking
//!
//! ```
//! use funk_runtime::wasi::{Input, Output, Wasi, WasiSetup};
//!
//! let (stdout, captured) = Output::capture();
//! let wasi = Wasi::new(WasiSetup {
//!     args: vec!["app.wasm".into(), "--fast".into()],
//!     env: vec![("HOME".into(), "/".into())],
//!     stdin: Input::bytes(b"input".to_vec()),
//!     stdout: stdout.clone(),
//!     stderr: stdout,
//! });
//! // Wasmtime: funk::wasmtime::link(&mut linker, |host: &mut Host<Wasi>| &mut host.state)
//! // Wasmer:   funk::wasmer::link(&mut store, &env, &mut imports, |host: &mut Host<Wasi>| &mut host.state)
//! # let _ = (wasi, captured);
//! ```
//!
//! A store with async host functions runs its guest with Wasmtime's
//! `call_async`, or on a `funk::wasmer::GuestThread`.

mod clock;
mod errno;
mod exit;
mod fd;
mod host;
mod input;
mod output;
mod poll;
pub mod records;
mod strings;

pub use clock::ClockId;
pub use errno::Errno;
pub use exit::Exit;
pub use input::Input;
pub use output::{Captured, Output};

use clock::Clocks;
use fd::Fds;
use strings::Strings;

/// The WASI preview 1 state of one process: link it with
/// `funk::wasmtime::link` or `funk::wasmer::link` (see the
/// [module docs](self)).
#[derive(Debug)]
pub struct Wasi {
    args: Strings,
    environ: Strings,
    stdin: Input,
    stdout: Output,
    stderr: Output,
    fds: Fds,
    clocks: Clocks,
}

/// What a process's WASI starts with.
///
/// The default has no arguments, no environment, an empty stdin and
/// stdout and stderr discarded: a process sees only what its embedder
/// gives it.
#[derive(Debug)]
pub struct WasiSetup {
    /// The arguments, program name first.
    pub args: Vec<String>,
    /// The environment, as `(key, value)` pairs.
    pub env: Vec<(String, String)>,
    /// Descriptor 0.
    pub stdin: Input,
    /// Descriptor 1.
    pub stdout: Output,
    /// Descriptor 2.
    pub stderr: Output,
}

impl Default for WasiSetup {
    fn default() -> Self {
        WasiSetup {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Input::empty(),
            stdout: Output::null(),
            stderr: Output::null(),
        }
    }
}

impl Wasi {
    /// The state for one process. Its monotonic clock starts now.
    pub fn new(setup: WasiSetup) -> Self {
        let WasiSetup {
            args,
            env,
            stdin,
            stdout,
            stderr,
        } = setup;
        Wasi {
            args: Strings::new(args),
            environ: Strings::new(env.iter().map(|(key, value)| format!("{key}={value}"))),
            stdin,
            stdout,
            stderr,
            fds: Fds::new(),
            clocks: Clocks::new(),
        }
    }
}
