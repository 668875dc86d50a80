//! WASI preview 1 (`wasi_snapshot_preview1`) for one process: every
//! function, with a file system confined to preopened directories.
//!
//! [`Wasi`] is the host state of one process's WASI: its arguments and
//! environment, its descriptors (stdio, preopened directories, the files
//! and directories opened beneath them, sockets the host gave it), its
//! clocks. Its methods are one `#[funk::host_functions(namespace =
//! "wasi_snapshot_preview1")]` block, so funk lifts and checks every guest
//! pointer and length (with overflow-safe arithmetic, naming
//! `wasi_snapshot_preview1::function` and the argument in every trap),
//! and the same block links into Wasmtime or Wasmer.
//!
//! - **Descriptors** are guest numbers naming generation-checked handles
//!   in a funk resource table (see [`fd`](self#descriptors)): 0-2 stdio,
//!   the preopens from 3, new ones at the lowest free number.
//! - **The file system** is reached only beneath preopened directories,
//!   through cap-std: `..`, absolute paths and symlinks cannot lead out,
//!   and no check can race with its use (see [the sandbox](self#the-sandbox)).
//! - **Rights** are preview 1's: each descriptor has base and inheriting
//!   rights, checked by every call (`notcapable`), and never grown.
//! - **Blocking**: every function that touches the file system is an async
//!   host function whose system calls run where [`Blocking`] says (tokio's
//!   blocking pool on Wasmtime, the process's own thread on Wasmer); stdin
//!   is read by a reader thread, sockets and `poll_oneoff` wait on tokio.
//!   No call stalls the executor.
//! - A valid call never traps (except `proc_exit`, whose trap carries an
//!   [`Exit`]); a bad pointer traps naming the function and argument, and
//!   a bad descriptor, flag or path is an errno.
//!
//! | functions | behaviour |
//! |---|---|
//! | `args_*`, `environ_*` | from [`WasiSetup`] |
//! | `clock_res_get`, `clock_time_get` | `realtime`, `monotonic`; CPU-time clocks `inval` (see [`clock`](self#clocks)) |
//! | `fd_read`, `fd_write`, `fd_pread`, `fd_pwrite` | files (off the executor), stdio, sockets |
//! | `fd_seek`, `fd_tell`, `fd_advise`, `fd_allocate`, `fd_sync`, `fd_datasync` | files (and directories for the syncs); streams: `spipe` / `inval` |
//! | `fd_fdstat_get`, `fd_fdstat_set_flags`, `fd_fdstat_set_rights` | every descriptor; `append` and `nonblock` can change, the sync flags cannot (`notsup`) |
//! | `fd_filestat_get`, `fd_filestat_set_size`, `fd_filestat_set_times` | files and directories; stdio is a character device |
//! | `fd_close`, `fd_renumber` | every descriptor, preopens included |
//! | `fd_prestat_get`, `fd_prestat_dir_name` | preopens; `badf` for anything else |
//! | `fd_readdir` | directories, with `.` and `..`; later pages from one listing |
//! | `path_open` | every `oflags`, `fdflags` and `lookupflags`; rights checked |
//! | `path_create_directory`, `path_remove_directory`, `path_unlink_file`, `path_rename`, `path_link`, `path_symlink`, `path_readlink`, `path_filestat_get`, `path_filestat_set_times` | beneath a directory descriptor |
//! | `poll_oneoff` | clocks, stdin, files (always ready), sockets |
//! | `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown` | TCP sockets the host gave ([`WasiSetup::sockets`]); others `notsock` |
//! | `random_get` | the host's CSPRNG (`getrandom`) |
//! | `sched_yield` | yields to the executor, async |
//! | `proc_exit` | traps with [`Exit`] |
//! | `proc_raise` | `notsup` (signals are not supported) |
//!
//! # Descriptors
//! See [`fd::Fds`]: each open descriptor is a [`funk::ResourceTable`]
//! entry; a call lifts the guest's number into that entry's handle when it
//! starts, so a descriptor closed and its number reused during the call is
//! `badf` rather than another file.
//!
//! # The sandbox
//! A process reaches the host file system only through its preopened
//! directories ([`PreopenDir`]), each a `cap_std::fs::Dir`: an open directory
//! handle, not a path. Every path is resolved beneath such a handle by
//! cap-std (`openat2` with `RESOLVE_BENEATH` on Linux, or its own walk
//! with `O_NOFOLLOW` at each step), so `..` past the top, absolute paths,
//! and symlinks whose targets lead out fail with `perm` before anything
//! outside is touched, and no rename between a check and a use can
//! redirect a path. Nothing in this module checks path strings for
//! safety.
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
//! `fd_write` on stdout/stderr and both directions on files are ready at
//! once; `fd_read` on stdin is ready when a read would not wait (data
//! buffered, or the end); sockets are ready when tokio's reactor says so.
//! Bad descriptors, missing rights and unknown event types are events with
//! an error.
//!
//! # Linking
//!
//! ```
//! use funk_runtime::wasi::{Input, Output, PreopenDir, Wasi, WasiSetup};
//!
//! let (stdout, captured) = Output::capture();
//! let data = std::env::temp_dir();
//! let wasi = Wasi::new(WasiSetup {
//!     args: vec!["app.wasm".into(), "--fast".into()],
//!     env: vec![("HOME".into(), "/".into())],
//!     stdin: Input::bytes(b"input".to_vec()),
//!     stdout: stdout.clone(),
//!     stderr: stdout,
//!     preopens: vec![PreopenDir::open(&data, "/data")?],
//!     ..WasiSetup::default()
//! });
//! // Wasmtime: funk::wasmtime::link(&mut linker, |host: &mut Host<Wasi>| &mut host.state)
//! // Wasmer:   funk::wasmer::link(&mut store, &env, &mut imports, |host: &mut Host<Wasi>| &mut host.state)
//! # let _ = (wasi, captured);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A store with async host functions runs its guest with Wasmtime's
//! `call_async`, or on a `funk::wasmer::GuestThread`.

mod blocking;
mod clock;
mod errno;
mod exit;
pub mod fd;
mod fs;
mod host;
mod input;
mod output;
mod params;
mod poll;
pub mod records;
pub mod rights;
mod sock;
mod strings;
mod terminal;

pub use blocking::Blocking;
pub(crate) use blocking::in_process_task;
pub use clock::ClockId;
pub use errno::Errno;
pub use exit::Exit;
pub use input::Input;
pub use output::{Captured, Output};
pub use sock::HostSocket;

use clock::Clocks;
use fd::{Descriptor, Fds, Kind};
use strings::Strings;

/// A host directory a process may open files beneath, and the name the
/// guest sees it by (`fd_prestat_dir_name`).
#[derive(Debug)]
pub struct PreopenDir {
    /// The directory: a capability, already open.
    pub dir: cap_std::fs::Dir,
    /// The guest's name for it (`/data`, `.`).
    pub guest: String,
}

impl PreopenDir {
    /// Opens the host directory `host` for the guest to see as `guest`.
    pub fn open(
        host: impl AsRef<std::path::Path>,
        guest: impl Into<String>,
    ) -> std::io::Result<PreopenDir> {
        let dir = cap_std::fs::Dir::open_ambient_dir(host, cap_std::ambient_authority())?;
        Ok(PreopenDir {
            dir,
            guest: guest.into(),
        })
    }
}

/// What is left of `path` under the preopen named `name` (`""` for the
/// preopen itself), if `path` is under it, compared component by component.
fn beneath<'p>(name: &str, path: &'p str) -> Option<&'p str> {
    let name = name.trim_end_matches('/');
    if name == "." && !path.starts_with('/') {
        let rest = path.strip_prefix("./").unwrap_or(path);
        return Some(if rest == "." { "" } else { rest });
    }
    let rest = path.strip_prefix(name)?;
    match rest.strip_prefix('/') {
        Some(rest) => Some(rest),
        None if rest.is_empty() => Some(""),
        None => None,
    }
}

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
    blocking: Blocking,
}

/// What a process's WASI starts with.
///
/// The default has no arguments, no environment, an empty stdin,
/// stdout and stderr discarded, no preopened directory (so no file
/// system) and no socket: a process sees only what its embedder gives it.
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
    /// The directories it may open files beneath: descriptors 3, 4, ...
    pub preopens: Vec<PreopenDir>,
    /// Sockets, as descriptors after the preopens (`sock_accept`,
    /// `sock_recv`, ...).
    pub sockets: Vec<HostSocket>,
    /// Where its blocking file-system calls run.
    pub blocking: Blocking,
}

impl Default for WasiSetup {
    fn default() -> Self {
        WasiSetup {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Input::empty(),
            stdout: Output::null(),
            stderr: Output::null(),
            preopens: Vec::new(),
            sockets: Vec::new(),
            blocking: Blocking::default(),
        }
    }
}

impl Wasi {
    /// The guest's names of its preopened directories.
    pub(crate) fn preopen_names(&self) -> Vec<String> {
        self.fds
            .preopen_dirs()
            .map(|(_, _, name)| name.to_owned())
            .collect()
    }

    /// Opens the directory the guest names `path` beneath one of its
    /// preopens: `path` is a preopen's name, or a path under it (relative
    /// to `.` when the preopen is named `.`); the rest is resolved by
    /// cap-std beneath that preopen's handle, so `..`, absolute paths and
    /// symlinks cannot leave it. `None` if no preopen holds it.
    pub(crate) fn open_beneath_preopen(&self, path: &str) -> Option<cap_std::fs::Dir> {
        self.fds.preopen_dirs().find_map(|(_, directory, name)| {
            let rest = beneath(name, path)?;
            if rest.is_empty() {
                directory.dir.try_clone().ok()
            } else {
                directory.dir.open_dir(rest).ok()
            }
        })
    }

    /// The state for one process. Its monotonic clock starts now.
    ///
    /// # Panics
    /// With more than [`fd::MAX_FDS`] preopens and sockets.
    pub fn new(setup: WasiSetup) -> Self {
        let WasiSetup {
            args,
            env,
            stdin,
            stdout,
            stderr,
            preopens,
            sockets,
            blocking,
        } = setup;
        let mut fds = Fds::new();
        let stdio = [
            Descriptor::stdio(Kind::Stdin, stdin.is_terminal()),
            Descriptor::stdio(Kind::Stdout, stdout.is_terminal()),
            Descriptor::stdio(Kind::Stderr, stderr.is_terminal()),
        ];
        let preopens = preopens
            .into_iter()
            .map(|p| Descriptor::preopen(p.dir, p.guest));
        let sockets = sockets
            .into_iter()
            .map(|s| Descriptor::socket(sock::Socket::new(s)));
        for descriptor in stdio.into_iter().chain(preopens).chain(sockets) {
            fds.insert(descriptor)
                .expect("more preopens and sockets than descriptors");
        }
        Wasi {
            args: Strings::new(args),
            environ: Strings::new(env.iter().map(|(key, value)| format!("{key}={value}"))),
            stdin,
            stdout,
            stderr,
            fds,
            clocks: Clocks::new(),
            blocking,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::beneath;

    #[test]
    fn a_path_is_beneath_a_preopen_component_by_component() {
        assert_eq!(beneath("/data", "/data"), Some(""));
        assert_eq!(beneath("/data", "/data/sub/x"), Some("sub/x"));
        assert_eq!(beneath("/data/", "/data/sub"), Some("sub"));
        assert_eq!(beneath("/data", "/database"), None);
        assert_eq!(beneath("/data", "/etc"), None);
        assert_eq!(beneath("/data", "data"), None);
        assert_eq!(beneath(".", "."), Some(""));
        assert_eq!(beneath(".", "./sub"), Some("sub"));
        assert_eq!(beneath(".", "sub"), Some("sub"));
        assert_eq!(beneath(".", "/etc"), None);
        // What is left is resolved by cap-std beneath the preopen, which
        // refuses a way out: `beneath` only picks the preopen.
        assert_eq!(beneath("/data", "/data/../etc"), Some("../etc"));
    }
}
