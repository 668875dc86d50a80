//! A stand-in for the WASI module until the real one lands.

use std::io::{IoSlice, Write};
use std::sync::{Arc, Mutex};

use funk::{Failure, HostError, LowerCx, OutValue, ReturnValue, Status, Trap};

use crate::outcome::Exit;

type Sink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// Where a stream's bytes go.
#[derive(Clone)]
pub struct Output(Sink);

/// Bytes captured by [`Output::capture`].
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl Output {
    /// The host's stdout.
    pub fn stdout() -> Self {
        Output(Arc::new(|b| {
            let _ = std::io::stdout().write_all(b);
        }))
    }
    /// The host's stderr.
    pub fn stderr() -> Self {
        Output(Arc::new(|b| {
            let _ = std::io::stderr().write_all(b);
        }))
    }
    /// A capture.
    pub fn capture() -> (Self, Captured) {
        let captured = Captured::default();
        let inner = captured.0.clone();
        (
            Output(Arc::new(move |b| {
                inner.lock().unwrap().extend_from_slice(b)
            })),
            captured,
        )
    }
}

/// Where stdin comes from.
pub struct Input;

impl Input {
    /// The host's.
    pub fn stdin() -> Self {
        Input
    }
    /// Nothing.
    pub fn empty() -> Self {
        Input
    }
}

/// What a process's WASI view starts with.
pub struct WasiSetup {
    /// Arguments.
    pub args: Vec<String>,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// Stdin.
    pub stdin: Input,
    /// Stdout.
    pub stdout: Output,
    /// Stderr.
    pub stderr: Output,
}

/// WASI state.
pub struct Wasi {
    args: Vec<String>,
    env: Vec<String>,
    stdout: Output,
    stderr: Output,
}

impl Wasi {
    /// New.
    pub fn new(setup: WasiSetup) -> Self {
        Wasi {
            args: setup.args,
            env: setup
                .env
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            stdout: setup.stdout,
            stderr: setup.stderr,
        }
    }
}

/// errno
#[derive(Debug, Clone, Copy)]
pub struct Errno(i32);
const BADF: Errno = Errno(8);
const INVAL: Errno = Errno(28);
const NOSYS: Errno = Errno(52);

impl HostError for Errno {
    type Abi = Status;
    fn into_failure(self) -> Failure {
        Failure::Status(self.0)
    }
}

/// NUL-terminated strings and a pointer array.
pub struct Table(Vec<String>);

impl<S> OutValue<S> for Table {
    type OutPtrs = (u32, (u32, ()));
    fn write(
        self,
        cx: &mut LowerCx<'_, '_, S>,
        (ptrs, (buf, ())): (u32, (u32, ())),
    ) -> Result<(), Trap> {
        let mut at = buf;
        for (i, s) in self.0.iter().enumerate() {
            cx.memory()
                .write(u64::from(ptrs) + 4 * i as u64, at)
                .map_err(|e| cx.fault(e))?;
            let mut bytes = s.as_bytes().to_vec();
            bytes.push(0);
            cx.memory()
                .write_bytes(at.into(), &bytes)
                .map_err(|e| cx.fault(e))?;
            at += bytes.len() as u32;
        }
        Ok(())
    }
}

impl<S> ReturnValue<S> for Table {
    type Results = ();
    type OutPtrs = (u32, (u32, ()));
    const MEMORY: bool = true;
    fn lower(self, cx: &mut LowerCx<'_, '_, S>, p: (u32, (u32, ()))) -> Result<(), Trap> {
        self.write(cx, p)
    }
}

fn sizes(v: &[String]) -> (u32, u32) {
    (v.len() as u32, v.iter().map(|s| s.len() as u32 + 1).sum())
}

#[funk::host_functions(namespace = "wasi_snapshot_preview1")]
impl Wasi {
    fn fd_write(&mut self, fd: u32, iovs: &[IoSlice<'_>]) -> Result<u32, Errno> {
        let out = match fd {
            1 => &self.stdout,
            2 => &self.stderr,
            _ => return Err(BADF),
        };
        let mut n = 0;
        for iov in iovs {
            (out.0)(iov);
            n += iov.len() as u32;
        }
        Ok(n)
    }
    fn proc_exit(&mut self, code: u32) -> Result<(), Trap> {
        Err(Trap::from_error(Exit(code as i32)))
    }
    fn environ_sizes_get(&mut self) -> Result<(u32, u32), Errno> {
        Ok(sizes(&self.env))
    }
    fn environ_get(&mut self) -> Result<Table, Errno> {
        Ok(Table(self.env.clone()))
    }
    fn args_sizes_get(&mut self) -> Result<(u32, u32), Errno> {
        Ok(sizes(&self.args))
    }
    fn args_get(&mut self) -> Result<Table, Errno> {
        Ok(Table(self.args.clone()))
    }
    fn clock_time_get(&mut self, id: u32, _precision: u64) -> Result<u64, Errno> {
        match id {
            0 => Ok(std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64),
            1 => {
                static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
                Ok(START
                    .get_or_init(std::time::Instant::now)
                    .elapsed()
                    .as_nanos() as u64)
            }
            _ => Err(INVAL),
        }
    }
    fn random_get(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        use std::hash::{BuildHasher, RandomState};
        for (i, b) in buf.iter_mut().enumerate() {
            *b = RandomState::new().hash_one(i) as u8;
        }
        Ok(())
    }
    fn fd_prestat_get(&mut self, _fd: u32) -> Result<u64, Errno> {
        Err(BADF)
    }
    fn fd_prestat_dir_name(&mut self, _fd: u32, _path: &mut [u8]) -> Result<(), Errno> {
        Err(BADF)
    }
    fn fd_close(&mut self, _fd: u32) -> Result<(), Errno> {
        Ok(())
    }
    fn fd_fdstat_get(&mut self, fd: u32) -> Result<[u8; 24], Errno> {
        if fd > 2 {
            return Err(BADF);
        }
        let mut stat = [0u8; 24];
        stat[0] = 2;
        Ok(stat)
    }
    fn fd_read(&mut self, _fd: u32, _iovs: &[IoSlice<'_>]) -> Result<u32, Errno> {
        Err(NOSYS)
    }
    fn fd_seek(&mut self, _fd: u32, _offset: i64, _whence: u32) -> Result<u64, Errno> {
        Err(NOSYS)
    }
    fn fd_filestat_get(&mut self, _fd: u32) -> Result<[u8; 64], Errno> {
        Err(NOSYS)
    }
    fn path_filestat_get(
        &mut self,
        _fd: u32,
        _flags: u32,
        _path: &[u8],
    ) -> Result<[u8; 64], Errno> {
        Err(NOSYS)
    }
    #[allow(clippy::too_many_arguments)]
    fn path_open(
        &mut self,
        _fd: u32,
        _dirflags: u32,
        _path: &[u8],
        _oflags: u32,
        _rights: u64,
        _inh: u64,
        _fdflags: u32,
    ) -> Result<u32, Errno> {
        Err(NOSYS)
    }
    async fn sched_yield(&mut self) -> Result<(), Errno> {
        tokio::task::yield_now().await;
        Ok(())
    }
}
