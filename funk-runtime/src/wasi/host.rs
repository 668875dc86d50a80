//! The `wasi_snapshot_preview1` functions: a thin translation from the
//! guest's ABI to the parts of [`Wasi`] (descriptors, the file system,
//! stdio, sockets, clocks, strings). Each method has the witx signature:
//! funk appends an out-pointer for each value of an `Ok` result and
//! returns the errno.
//!
//! Every function that makes a system call on the file system is an
//! `async fn` whose blocking part runs through the process's
//! [`Blocking`](super::Blocking) policy; the rest are synchronous.
//!
//! Checks come in one order everywhere: a descriptor that is not open is
//! `badf`; one of the wrong kind gets the errno POSIX gives for that kind
//! (`spipe` to seek a stream, `notdir` for a path function on a file,
//! `notsock`, ...); a missing right is `notcapable`; invalid flags are
//! `inval`; a path that is not UTF-8 is `ilseq`; then the host's own error,
//! if any.

use std::io::{IoSliceMut, Seek, SeekFrom, Write};
use std::sync::Arc;

use funk::Trap;
use tokio::io::Interest;
use tokio::time::Instant;

use super::clock::ClockId;
use super::fd::{Descriptor, Directory, Fd, Kind};
use super::fs::{self, Open, Opened};
use super::params::{GuestPath, ReadBufs, WriteBufs};
use super::poll::{Poll, Wanted, event};
use super::records::{FILETYPE_DIRECTORY, FILETYPE_SOCKET_STREAM, Fdstat, Filestat, Prestat};
use super::rights as r;
use super::sock::Live;
use super::strings::{Args, Bytes, Environ, Pointers};
use super::{Errno, Exit, Wasi};

/// `whence::set`, `cur`, `end`.
const WHENCE_SET: u8 = 0;
const WHENCE_CUR: u8 = 1;
const WHENCE_END: u8 = 2;

/// `riflags::recv_peek`, `recv_waitall`.
const RIFLAGS_PEEK: u16 = 1 << 0;
const RIFLAGS_WAITALL: u16 = 1 << 1;

/// `sdflags::rd`, `wr`.
const SDFLAGS_RD: u8 = 1 << 0;
const SDFLAGS_WR: u8 = 1 << 1;

/// Every `fdflags` bit preview 1 defines.
const FDFLAGS_ALL: u16 = 0x1f;

fn io(error: std::io::Error) -> Errno {
    Errno::from_io(&error)
}

/// How a descriptor that is not a file answers a file operation: the
/// errno POSIX gives for a stream (`stream`), `badf` for a directory.
fn not_a_file(descriptor: &Descriptor, stream: Errno) -> Errno {
    match descriptor.kind {
        Kind::Stdin | Kind::Stdout | Kind::Stderr | Kind::Socket(_) => stream,
        _ => Errno::BadF,
    }
}

/// What kind of descriptor a call is on, without borrowing it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Stdin,
    Output,
    File,
    Dir,
    Socket,
}

impl Descriptor {
    fn class(&self) -> Class {
        match self.kind {
            Kind::Stdin => Class::Stdin,
            Kind::Stdout | Kind::Stderr => Class::Output,
            Kind::File(_) => Class::File,
            Kind::Dir(_) => Class::Dir,
            Kind::Socket(_) => Class::Socket,
        }
    }
}

impl Wasi {
    /// The file `fd` names, if it has `rights`; for anything else the
    /// errno a stream (`stream`) or a directory (`badf`) gives.
    fn file(&self, fd: Fd, rights: u64, stream: Errno) -> Result<Arc<cap_std::fs::File>, Errno> {
        let descriptor = self.fds.get(fd)?;
        match &descriptor.kind {
            Kind::File(file) => {
                descriptor.need(rights)?;
                Ok(file.clone())
            }
            _ => Err(not_a_file(descriptor, stream)),
        }
    }

    /// The directory `fd` names, if it has `rights`: `notdir` for anything
    /// else.
    fn dir(&self, fd: Fd, rights: u64) -> Result<Arc<cap_std::fs::Dir>, Errno> {
        let descriptor = self.fds.get(fd)?;
        let dir = descriptor.dir()?.dir.clone();
        descriptor.need(rights)?;
        Ok(dir)
    }

    /// Two directories, `badf` for either first, then `notdir`, then
    /// rights.
    fn dirs(
        &self,
        (a, a_rights): (Fd, u64),
        (b, b_rights): (Fd, u64),
    ) -> Result<(Arc<cap_std::fs::Dir>, Arc<cap_std::fs::Dir>), Errno> {
        self.fds.get(a)?;
        self.fds.get(b)?;
        Ok((self.dir(a, a_rights)?, self.dir(b, b_rights)?))
    }

    /// The socket `fd` names, registered, with its `nonblock` flag.
    fn socket(&mut self, fd: Fd, rights: u64) -> Result<(Live, bool), Errno> {
        let descriptor = self.fds.get_mut(fd)?;
        let nonblock = descriptor.flags & fs::FDFLAGS_NONBLOCK != 0;
        if !matches!(descriptor.kind, Kind::Socket(_)) {
            return Err(Errno::NotSock);
        }
        descriptor.need(rights)?;
        match &mut descriptor.kind {
            Kind::Socket(socket) => Ok((socket.live()?, nonblock)),
            _ => Err(Errno::NotSock),
        }
    }

    /// Runs blocking `work` under the process's policy.
    ///
    /// The future borrows nothing of `self` (which is not `Sync`), so the
    /// call's future stays `Send`.
    fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Errno> + Send + 'static,
    ) -> impl Future<Output = Result<T, Errno>> + Send + 'static {
        self.blocking.run(work)
    }

    /// Reads from whatever `fd` is into `bufs`.
    async fn read(&mut self, fd: Fd, bufs: &mut ReadBufs<'_>) -> Result<u32, Errno> {
        let capacity = bufs.capacity();
        let data = match self.fds.get(fd)?.class() {
            Class::Stdin => {
                self.fds.get(fd)?.need(r::FD_READ)?;
                let mut data = vec![0; capacity];
                let n = self
                    .stdin
                    .read(&mut [IoSliceMut::new(&mut data)])
                    .await
                    .map_err(io)?;
                data.truncate(n);
                data
            }
            Class::File => {
                let file = self.file(fd, r::FD_READ, Errno::BadF)?;
                self.blocking(move || read_file(&file, capacity, None))
                    .await?
            }
            Class::Socket => {
                let (socket, nonblock) = self.socket(fd, r::FD_READ)?;
                socket.recv(capacity, false, false, nonblock).await?
            }
            Class::Output | Class::Dir => return Err(Errno::BadF),
        };
        Ok(bufs.fill(data) as u32)
    }

    /// Writes `data` to whatever `fd` is.
    async fn write(&mut self, fd: Fd, data: Vec<u8>) -> Result<u32, Errno> {
        let written = match self.fds.get(fd)?.class() {
            Class::Output => {
                let descriptor = self.fds.get(fd)?.need(r::FD_WRITE)?;
                let output = match descriptor.kind {
                    Kind::Stdout => &self.stdout,
                    _ => &self.stderr,
                };
                output.write(&[std::io::IoSlice::new(&data)]).map_err(io)?
            }
            Class::File => {
                let file = self.file(fd, r::FD_WRITE, Errno::BadF)?;
                self.blocking(move || (&*file).write(&data).map_err(io))
                    .await?
            }
            Class::Socket => {
                let (socket, nonblock) = self.socket(fd, r::FD_WRITE)?;
                socket.send(&data, nonblock).await?
            }
            Class::Stdin | Class::Dir => return Err(Errno::BadF),
        };
        // At most `MAX_IO`.
        Ok(written as u32)
    }

    /// Decodes each subscription of a poll that starts at `start`, with
    /// clock deadlines fixed once and sockets registered.
    fn subscriptions(&mut self, poll: &Poll<'_>, start: Instant) -> Vec<Sub> {
        let mut subs = Vec::with_capacity(poll.subscriptions.len());
        for subscription in poll.subscriptions {
            let sub = match Wanted::of(subscription) {
                Wanted::Clock {
                    id,
                    timeout,
                    absolute,
                } => match ClockId::from_raw(id) {
                    Ok(clock) => Sub::At(self.clocks.deadline(clock, timeout, absolute, start)),
                    Err(errno) => Sub::Failed(errno),
                },
                Wanted::Read(number) => self.readiness(number, true),
                Wanted::Write(number) => self.readiness(number, false),
                Wanted::Unknown => Sub::Failed(Errno::Inval),
            };
            subs.push(sub);
        }
        subs
    }

    /// What an fd subscription waits for.
    fn readiness(&mut self, number: u32, read: bool) -> Sub {
        let fd = self.fds.fd(number);
        let direction = if read { r::FD_READ } else { r::FD_WRITE };
        let class = match self.fds.get(fd) {
            Ok(descriptor) => descriptor.class(),
            Err(errno) => return Sub::Failed(errno),
        };
        let sub = match (class, read) {
            (Class::Stdin, true) => Sub::Stdin,
            (Class::Output, false) => Sub::Now,
            // Regular files are always ready, the witx says; a read
            // reports how much is left before the end of the file.
            (Class::File, true) => Sub::FileRead(self.bytes_left(fd)),
            (Class::File, false) => Sub::Now,
            (Class::Socket, _) => match self.socket(fd, 0) {
                Ok((socket, _)) => Sub::Socket(
                    socket,
                    if read {
                        Interest::READABLE
                    } else {
                        Interest::WRITABLE
                    },
                ),
                Err(errno) => Sub::Failed(errno),
            },
            _ => return Sub::Failed(Errno::BadF),
        };
        match self
            .fds
            .get(fd)
            .and_then(|d| d.need(direction | r::POLL_FD_READWRITE))
        {
            Ok(_) => sub,
            Err(errno) => Sub::Failed(errno),
        }
    }

    /// The bytes of file `fd` after its cursor (0 if that cannot be told).
    fn bytes_left(&self, fd: Fd) -> u64 {
        let Ok(Kind::File(file)) = self.fds.get(fd).map(|d| &d.kind) else {
            return 0;
        };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let position = (&**file).stream_position().unwrap_or(0);
        size.saturating_sub(position)
    }

    /// Writes the events of the subscriptions that have fired by now into
    /// `poll.events`, in subscription order; returns how many.
    fn fired(&self, poll: &mut Poll<'_>, subs: &[Sub]) -> usize {
        let now = Instant::now();
        let mut fired = 0;
        for (subscription, sub) in poll.subscriptions.iter().zip(subs) {
            let ready = match sub {
                Sub::Failed(errno) => Some(event(subscription, *errno as u16, 0, false)),
                Sub::Now => Some(event(subscription, 0, 0, false)),
                // At the end of the file, a hang-up, as `wasmtime-wasi` says.
                Sub::FileRead(left) => Some(event(subscription, 0, *left, *left == 0)),
                Sub::At(Some(deadline)) if *deadline <= now => {
                    Some(event(subscription, 0, 0, false))
                }
                Sub::At(_) => None,
                Sub::Stdin => self
                    .stdin
                    .peek()
                    .map(|(nbytes, ended)| event(subscription, 0, nbytes, ended)),
                Sub::Socket(socket, interest) => {
                    match futures::FutureExt::now_or_never(socket.ready(*interest)) {
                        Some(Ok(())) => Some(event(subscription, 0, 0, false)),
                        Some(Err(errno)) => Some(event(subscription, errno as u16, 0, false)),
                        None => None,
                    }
                }
            };
            if let Some(ready) = ready {
                poll.events[fired] = ready;
                fired += 1;
            }
        }
        fired
    }

    /// Waits until some subscription may have fired: the earliest clock
    /// deadline, stdin becoming readable, or a socket becoming ready.
    async fn wait(&mut self, subs: &[Sub]) {
        let earliest = subs
            .iter()
            .filter_map(|sub| match sub {
                Sub::At(deadline) => *deadline,
                _ => None,
            })
            .min();
        let mut waits: Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>>> = Vec::new();
        if let Some(deadline) = earliest {
            waits.push(Box::pin(tokio::time::sleep_until(deadline)));
        }
        if subs.iter().any(|sub| matches!(sub, Sub::Stdin)) {
            let stdin = &mut self.stdin;
            waits.push(Box::pin(async move {
                let _ = stdin.ready().await;
            }));
        }
        for sub in subs {
            if let Sub::Socket(socket, interest) = sub {
                waits.push(Box::pin(async move {
                    let _ = socket.ready(*interest).await;
                }));
            }
        }
        if waits.is_empty() {
            return std::future::pending().await;
        }
        futures::future::select_all(waits).await;
    }
}

/// A subscription of one poll, decoded once.
enum Sub {
    /// Fires at once with this error.
    Failed(Errno),
    /// Fires at once.
    Now,
    /// A regular file's read readiness: fires at once with the bytes left.
    FileRead(u64),
    /// A clock that fires at this instant (`None`: never).
    At(Option<Instant>),
    /// Stdin becoming readable.
    Stdin,
    /// A socket becoming ready.
    Socket(Live, Interest),
}

/// Reads up to `len` bytes of `file` (at `offset`, or at its cursor) into
/// a new buffer, without zeroing it first.
fn read_file(file: &cap_std::fs::File, len: usize, offset: Option<u64>) -> Result<Vec<u8>, Errno> {
    let mut data = Vec::with_capacity(len);
    if len == 0 {
        return Ok(data);
    }
    let spare = rustix::buffer::spare_capacity(&mut data);
    let read = match offset {
        Some(offset) => rustix::io::pread(file, spare, offset),
        None => rustix::io::read(file, spare),
    };
    read.map_err(Errno::from_os)?;
    Ok(data)
}

/// The descriptor `path_open` makes of what it opened.
fn opened(opened: Opened, rights: u64, inheriting: u64, flags: u16) -> Descriptor {
    let inheriting = inheriting & (r::DIRECTORY | r::FILE);
    match opened {
        Opened::File(file, filetype) => Descriptor {
            kind: Kind::File(Arc::new(file)),
            filetype,
            rights: rights & r::FILE,
            inheriting,
            flags,
        },
        Opened::Dir(dir) => Descriptor {
            kind: Kind::Dir(Directory {
                dir: Arc::new(dir),
                preopen: None,
                listing: None,
            }),
            filetype: FILETYPE_DIRECTORY,
            rights: rights & r::DIRECTORY,
            inheriting,
            flags,
        },
    }
}

#[funk::host_functions(namespace = "wasi_snapshot_preview1")]
impl Wasi {
    fn args_get(
        &mut self,
        argv: Pointers<'_, Args>,
        argv_buf: Bytes<'_, Args>,
    ) -> Result<(), Errno> {
        self.args.write(argv, argv_buf)
    }

    fn args_sizes_get(&mut self) -> Result<(u32, u32), Errno> {
        self.args.sizes()
    }

    fn environ_get(
        &mut self,
        environ: Pointers<'_, Environ>,
        environ_buf: Bytes<'_, Environ>,
    ) -> Result<(), Errno> {
        self.environ.write(environ, environ_buf)
    }

    fn environ_sizes_get(&mut self) -> Result<(u32, u32), Errno> {
        self.environ.sizes()
    }

    fn clock_res_get(&mut self, id: u32) -> Result<u64, Errno> {
        Ok(self.clocks.resolution(ClockId::from_raw(id)?))
    }

    fn clock_time_get(&mut self, id: u32, _precision: u64) -> Result<u64, Errno> {
        self.clocks.now(ClockId::from_raw(id)?)
    }

    async fn fd_advise(&mut self, fd: Fd, offset: u64, len: u64, advice: u8) -> Result<(), Errno> {
        let file = self.file(fd, r::FD_ADVISE, Errno::SPipe)?;
        let advice = match advice {
            0 => rustix::fs::Advice::Normal,
            1 => rustix::fs::Advice::Sequential,
            2 => rustix::fs::Advice::Random,
            3 => rustix::fs::Advice::WillNeed,
            4 => rustix::fs::Advice::DontNeed,
            5 => rustix::fs::Advice::NoReuse,
            _ => return Err(Errno::Inval),
        };
        self.blocking(move || {
            rustix::fs::fadvise(&*file, offset, std::num::NonZeroU64::new(len), advice)
                .map_err(Errno::from_os)
        })
        .await
    }

    async fn fd_allocate(&mut self, fd: Fd, offset: u64, len: u64) -> Result<(), Errno> {
        let file = self.file(fd, r::FD_ALLOCATE, Errno::SPipe)?;
        self.blocking(move || {
            rustix::fs::fallocate(&*file, rustix::fs::FallocateFlags::empty(), offset, len)
                .map_err(Errno::from_os)
        })
        .await
    }

    fn fd_close(&mut self, fd: Fd) -> Result<(), Errno> {
        self.fds.close(fd).map(drop)
    }

    async fn fd_datasync(&mut self, fd: Fd) -> Result<(), Errno> {
        self.sync(fd, r::FD_DATASYNC, true).await
    }

    fn fd_fdstat_get(&mut self, fd: Fd) -> Result<Fdstat, Errno> {
        Ok(self.fds.get(fd)?.fdstat())
    }

    fn fd_fdstat_set_flags(&mut self, fd: Fd, flags: u16) -> Result<(), Errno> {
        let descriptor = self.fds.get_mut(fd)?;
        let changed = descriptor.flags ^ flags;
        match &descriptor.kind {
            Kind::Stdin | Kind::Stdout | Kind::Stderr => {
                return if flags == 0 {
                    Ok(())
                } else {
                    Err(Errno::NotSup)
                };
            }
            _ if flags & !FDFLAGS_ALL != 0 => return Err(Errno::Inval),
            _ => {}
        }
        descriptor.need(r::FD_FDSTAT_SET_FLAGS)?;
        let settable = match descriptor.kind {
            Kind::File(_) => fs::FDFLAGS_APPEND | fs::FDFLAGS_NONBLOCK,
            Kind::Socket(_) => fs::FDFLAGS_NONBLOCK,
            _ => 0,
        };
        // Linux cannot change the sync flags of an open file.
        if changed & !settable != 0 {
            return Err(Errno::NotSup);
        }
        if let Kind::File(file) = &descriptor.kind {
            use rustix::fs::OFlags;
            let mut os = rustix::fs::fcntl_getfl(&**file).map_err(Errno::from_os)?;
            os.set(OFlags::APPEND, flags & fs::FDFLAGS_APPEND != 0);
            os.set(OFlags::NONBLOCK, flags & fs::FDFLAGS_NONBLOCK != 0);
            rustix::fs::fcntl_setfl(&**file, os).map_err(Errno::from_os)?;
        }
        descriptor.flags = flags;
        Ok(())
    }

    fn fd_fdstat_set_rights(
        &mut self,
        fd: Fd,
        fs_rights_base: u64,
        fs_rights_inheriting: u64,
    ) -> Result<(), Errno> {
        let descriptor = self.fds.get_mut(fd)?;
        if fs_rights_base & !descriptor.rights != 0
            || fs_rights_inheriting & !descriptor.inheriting != 0
        {
            return Err(Errno::NotCapable);
        }
        descriptor.rights = fs_rights_base;
        descriptor.inheriting = fs_rights_inheriting;
        Ok(())
    }

    async fn fd_filestat_get(&mut self, fd: Fd) -> Result<Filestat, Errno> {
        let descriptor = self.fds.get(fd)?.need(r::FD_FILESTAT_GET)?;
        match &descriptor.kind {
            Kind::Stdin | Kind::Stdout | Kind::Stderr => Ok(Filestat {
                filetype: descriptor.filetype,
                nlink: 1,
                ..Filestat::default()
            }),
            Kind::Socket(_) => Ok(Filestat {
                filetype: FILETYPE_SOCKET_STREAM,
                nlink: 1,
                ..Filestat::default()
            }),
            Kind::File(file) => {
                let file = file.clone();
                self.blocking(move || file.metadata().map(|m| fs::filestat(&m)).map_err(io))
                    .await
            }
            Kind::Dir(dir) => {
                let dir = dir.dir.clone();
                self.blocking(move || dir.dir_metadata().map(|m| fs::filestat(&m)).map_err(io))
                    .await
            }
        }
    }

    async fn fd_filestat_set_size(&mut self, fd: Fd, size: u64) -> Result<(), Errno> {
        let file = self.file(fd, r::FD_FILESTAT_SET_SIZE, Errno::Inval)?;
        self.blocking(move || file.set_len(size).map_err(io)).await
    }

    async fn fd_filestat_set_times(
        &mut self,
        fd: Fd,
        atim: u64,
        mtim: u64,
        fst_flags: u16,
    ) -> Result<(), Errno> {
        let descriptor = self.fds.get(fd)?;
        let target = match &descriptor.kind {
            Kind::File(file) => Ok(file.clone()),
            Kind::Dir(dir) => Err(dir.dir.clone()),
            Kind::Socket(_) | Kind::Stdin | Kind::Stdout | Kind::Stderr => {
                return Err(Errno::NotSup);
            }
        };
        descriptor.need(r::FD_FILESTAT_SET_TIMES)?;
        let times = fs::times(atim, mtim, fst_flags)?;
        self.blocking(move || {
            match target {
                Ok(file) => fs::set_fd_times(&*file, times),
                Err(dir) => fs::set_fd_times(&*dir, times),
            }
            .map_err(io)
        })
        .await
    }

    async fn fd_pread(
        &mut self,
        fd: Fd,
        mut iovs: ReadBufs<'_>,
        offset: u64,
    ) -> Result<u32, Errno> {
        let file = self.file(fd, r::FD_READ | r::FD_SEEK, Errno::SPipe)?;
        let capacity = iovs.capacity();
        let data = self
            .blocking(move || read_file(&file, capacity, Some(offset)))
            .await?;
        Ok(iovs.fill(data) as u32)
    }

    fn fd_prestat_get(&mut self, fd: Fd) -> Result<Prestat, Errno> {
        let name = self.preopen_name(fd)?;
        Ok(Prestat {
            name_len: u32::try_from(name.len()).map_err(|_| Errno::NameTooLong)?,
            ..Prestat::default()
        })
    }

    fn fd_prestat_dir_name(&mut self, fd: Fd, path: &mut [u8]) -> Result<(), Errno> {
        let name = self.preopen_name(fd)?;
        let to = path.get_mut(..name.len()).ok_or(Errno::NameTooLong)?;
        to.copy_from_slice(name.as_bytes());
        Ok(())
    }

    async fn fd_pwrite(
        &mut self,
        fd: Fd,
        mut iovs: WriteBufs<'_>,
        offset: u64,
    ) -> Result<u32, Errno> {
        let file = self.file(fd, r::FD_WRITE | r::FD_SEEK, Errno::SPipe)?;
        let data = iovs.take();
        let written = self
            .blocking(move || rustix::io::pwrite(&*file, &data, offset).map_err(Errno::from_os))
            .await?;
        Ok(written as u32)
    }

    /// Async: a file is read off the executor, stdin without blocking.
    async fn fd_read(&mut self, fd: Fd, mut iovs: ReadBufs<'_>) -> Result<u32, Errno> {
        self.read(fd, &mut iovs).await
    }

    async fn fd_readdir(&mut self, fd: Fd, buf: &mut [u8], cookie: u64) -> Result<u32, Errno> {
        let descriptor = self.fds.get(fd)?;
        let directory = descriptor.dir()?;
        descriptor.need(r::FD_READDIR)?;
        let listing = match (&directory.listing, cookie) {
            (Some(listing), 1..) => listing.clone(),
            _ => {
                let dir = directory.dir.clone();
                let listing = Arc::new(self.blocking(move || fs::list(&dir).map_err(io)).await?);
                if let Kind::Dir(directory) = &mut self.fds.get_mut(fd)?.kind {
                    directory.listing = Some(listing.clone());
                }
                listing
            }
        };
        // At most the buffer's length, which came from a `u32`.
        Ok(fs::write_dirents(&listing, cookie, buf) as u32)
    }

    fn fd_renumber(&mut self, fd: Fd, to: Fd) -> Result<(), Errno> {
        self.fds.renumber(fd, to)
    }

    fn fd_seek(&mut self, fd: Fd, offset: i64, whence: u8) -> Result<u64, Errno> {
        let needed = match (whence, offset) {
            (WHENCE_CUR, 0) => r::FD_TELL,
            _ => r::FD_SEEK,
        };
        let descriptor = self.fds.get(fd)?;
        let file = match &descriptor.kind {
            Kind::File(file) => file,
            _ => return Err(not_a_file(descriptor, Errno::SPipe)),
        };
        // `fd_seek` implies `fd_tell`.
        if descriptor.need(needed).is_err() {
            descriptor.need(r::FD_SEEK)?;
        }
        let to = match whence {
            WHENCE_SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
            WHENCE_CUR => SeekFrom::Current(offset),
            WHENCE_END => SeekFrom::End(offset),
            _ => return Err(Errno::Inval),
        };
        (&**file).seek(to).map_err(io)
    }

    async fn fd_sync(&mut self, fd: Fd) -> Result<(), Errno> {
        self.sync(fd, r::FD_SYNC, false).await
    }

    fn fd_tell(&mut self, fd: Fd) -> Result<u64, Errno> {
        let descriptor = self.fds.get(fd)?;
        let file = match &descriptor.kind {
            Kind::File(file) => file,
            _ => return Err(not_a_file(descriptor, Errno::SPipe)),
        };
        if descriptor.need(r::FD_TELL).is_err() {
            descriptor.need(r::FD_SEEK)?;
        }
        (&**file).stream_position().map_err(io)
    }

    /// Async: a file is written off the executor; stdout and stderr are
    /// written at once.
    async fn fd_write(&mut self, fd: Fd, mut iovs: WriteBufs<'_>) -> Result<u32, Errno> {
        let data = iovs.take();
        self.write(fd, data).await
    }

    async fn path_create_directory(&mut self, fd: Fd, path: GuestPath) -> Result<(), Errno> {
        let dir = self.dir(fd, r::PATH_CREATE_DIRECTORY)?;
        let path = path.get()?;
        self.blocking(move || dir.create_dir(path).map_err(io))
            .await
    }

    async fn path_filestat_get(
        &mut self,
        fd: Fd,
        flags: u32,
        path: GuestPath,
    ) -> Result<Filestat, Errno> {
        let dir = self.dir(fd, r::PATH_FILESTAT_GET)?;
        let follow = lookup(flags)?;
        let path = path.get()?;
        self.blocking(move || {
            fs::metadata(&dir, &path, follow)
                .map(|m| fs::filestat(&m))
                .map_err(io)
        })
        .await
    }

    async fn path_filestat_set_times(
        &mut self,
        fd: Fd,
        flags: u32,
        path: GuestPath,
        atim: u64,
        mtim: u64,
        fst_flags: u16,
    ) -> Result<(), Errno> {
        let dir = self.dir(fd, r::PATH_FILESTAT_SET_TIMES)?;
        let follow = lookup(flags)?;
        let times = fs::times(atim, mtim, fst_flags)?;
        let path = path.get()?;
        self.blocking(move || fs::set_times(&dir, &path, follow, times).map_err(io))
            .await
    }

    async fn path_link(
        &mut self,
        old_fd: Fd,
        old_flags: u32,
        old_path: GuestPath,
        new_fd: Fd,
        new_path: GuestPath,
    ) -> Result<(), Errno> {
        let (old, new) = self.dirs((old_fd, r::PATH_LINK_SOURCE), (new_fd, r::PATH_LINK_TARGET))?;
        // Following a symlink to link its target is not offered by the
        // sandboxed `linkat`: refused, as other preview 1 hosts do.
        if lookup(old_flags)? {
            return Err(Errno::Inval);
        }
        let (old_path, new_path) = (old_path.get()?, new_path.get()?);
        self.blocking(move || old.hard_link(old_path, &new, new_path).map_err(io))
            .await
    }

    #[allow(clippy::too_many_arguments)] // the witx signature
    async fn path_open(
        &mut self,
        fd: Fd,
        dirflags: u32,
        path: GuestPath,
        oflags: u16,
        fs_rights_base: u64,
        fs_rights_inheriting: u64,
        fdflags: u16,
    ) -> Result<u32, Errno> {
        let descriptor = self.fds.get(fd)?;
        let dir = descriptor.dir()?.dir.clone();
        let mut needed = r::PATH_OPEN;
        if oflags & fs::OFLAGS_CREAT != 0 {
            needed |= r::PATH_CREATE_FILE;
        }
        if oflags & fs::OFLAGS_TRUNC != 0 {
            needed |= r::PATH_FILESTAT_SET_SIZE;
        }
        if fdflags & (fs::FDFLAGS_RSYNC | fs::FDFLAGS_SYNC) != 0 {
            needed |= r::FD_SYNC;
        }
        descriptor.need(needed)?;
        if fdflags & fs::FDFLAGS_DSYNC != 0
            && descriptor.rights & (r::FD_DATASYNC | r::FD_SYNC) == 0
        {
            return Err(Errno::NotCapable);
        }
        if (fs_rights_base | fs_rights_inheriting) & !descriptor.inheriting != 0 {
            return Err(Errno::NotCapable);
        }
        let follow = lookup(dirflags)?;
        let directory = oflags & fs::OFLAGS_DIRECTORY != 0;
        if oflags & !0xf != 0
            || fdflags & !FDFLAGS_ALL != 0
            || (directory && oflags & (fs::OFLAGS_CREAT | fs::OFLAGS_TRUNC) != 0)
        {
            return Err(Errno::Inval);
        }
        let how = Open {
            follow,
            oflags,
            fdflags,
            read: fs_rights_base & (r::FD_READ | r::FD_READDIR) != 0,
            write: fs_rights_base & (r::FD_WRITE | r::FD_ALLOCATE | r::FD_FILESTAT_SET_SIZE) != 0,
        };
        let path = path.get()?;
        let result = self
            .blocking(move || fs::open(&dir, &path, how).map_err(io))
            .await?;
        self.fds.insert(opened(
            result,
            fs_rights_base,
            fs_rights_inheriting,
            fdflags,
        ))
    }

    async fn path_readlink(
        &mut self,
        fd: Fd,
        path: GuestPath,
        buf: &mut [u8],
    ) -> Result<u32, Errno> {
        let dir = self.dir(fd, r::PATH_READLINK)?;
        let path = path.get()?;
        let target = self
            .blocking(move || fs::read_link(&dir, &path).map_err(io))
            .await?;
        // Cut to the buffer, as POSIX `readlink` does.
        let n = target.len().min(buf.len());
        buf[..n].copy_from_slice(&target[..n]);
        Ok(n as u32)
    }

    async fn path_remove_directory(&mut self, fd: Fd, path: GuestPath) -> Result<(), Errno> {
        let dir = self.dir(fd, r::PATH_REMOVE_DIRECTORY)?;
        let path = path.get()?;
        self.blocking(move || dir.remove_dir(path).map_err(io))
            .await
    }

    async fn path_rename(
        &mut self,
        fd: Fd,
        old_path: GuestPath,
        new_fd: Fd,
        new_path: GuestPath,
    ) -> Result<(), Errno> {
        let (old, new) = self.dirs((fd, r::PATH_RENAME_SOURCE), (new_fd, r::PATH_RENAME_TARGET))?;
        let (old_path, new_path) = (old_path.get()?, new_path.get()?);
        self.blocking(move || old.rename(old_path, &new, new_path).map_err(io))
            .await
    }

    async fn path_symlink(
        &mut self,
        old_path: GuestPath,
        fd: Fd,
        new_path: GuestPath,
    ) -> Result<(), Errno> {
        let dir = self.dir(fd, r::PATH_SYMLINK)?;
        let (target, link) = (old_path.get()?, new_path.get()?);
        self.blocking(move || fs::symlink(&dir, &target, &link).map_err(io))
            .await
    }

    async fn path_unlink_file(&mut self, fd: Fd, path: GuestPath) -> Result<(), Errno> {
        let dir = self.dir(fd, r::PATH_UNLINK_FILE)?;
        let path = path.get()?;
        self.blocking(move || dir.remove_file(path).map_err(io))
            .await
    }

    /// Async: sleeps on tokio timers, waits for stdin and sockets.
    async fn poll_oneoff(&mut self, mut poll: Poll<'_>) -> Result<u32, Errno> {
        if poll.subscriptions.is_empty() {
            return Err(Errno::Inval);
        }
        let subs = self.subscriptions(&poll, Instant::now());
        loop {
            let fired = self.fired(&mut poll, &subs);
            if fired > 0 {
                // At most `nsubscriptions`, which came from a `u32`.
                return Ok(fired as u32);
            }
            self.wait(&subs).await;
        }
    }

    fn proc_exit(&mut self, rval: u32) -> Result<(), Trap> {
        Err(Exit::trap(rval))
    }

    /// Signals are not supported: `notsup`, whatever the signal.
    fn proc_raise(&mut self, _sig: u8) -> Result<(), Errno> {
        Err(Errno::NotSup)
    }

    /// Async: lets the executor run other tasks first.
    async fn sched_yield(&mut self) -> Result<(), Errno> {
        tokio::task::yield_now().await;
        Ok(())
    }

    fn random_get(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        getrandom::fill(buf).map_err(|_| Errno::Io)
    }

    async fn sock_accept(&mut self, fd: Fd, flags: u16) -> Result<u32, Errno> {
        let (socket, nonblock) = self.socket(fd, r::SOCK_ACCEPT)?;
        if flags & !fs::FDFLAGS_NONBLOCK != 0 {
            return Err(Errno::Inval);
        }
        let accepted = socket.accept(nonblock).await?;
        let mut descriptor = Descriptor::socket(accepted);
        descriptor.rights &= !r::SOCK_ACCEPT;
        descriptor.flags = flags;
        self.fds.insert(descriptor)
    }

    async fn sock_recv(
        &mut self,
        fd: Fd,
        mut ri_data: ReadBufs<'_>,
        ri_flags: u16,
    ) -> Result<(u32, u16), Errno> {
        let (socket, nonblock) = self.socket(fd, r::FD_READ)?;
        if ri_flags & !(RIFLAGS_PEEK | RIFLAGS_WAITALL) != 0 {
            return Err(Errno::Inval);
        }
        let data = socket
            .recv(
                ri_data.capacity(),
                ri_flags & RIFLAGS_PEEK != 0,
                ri_flags & RIFLAGS_WAITALL != 0,
                nonblock,
            )
            .await?;
        Ok((ri_data.fill(data) as u32, 0))
    }

    async fn sock_send(
        &mut self,
        fd: Fd,
        mut si_data: WriteBufs<'_>,
        si_flags: u16,
    ) -> Result<u32, Errno> {
        let (socket, nonblock) = self.socket(fd, r::FD_WRITE)?;
        if si_flags != 0 {
            return Err(Errno::Inval);
        }
        let data = si_data.take();
        Ok(socket.send(&data, nonblock).await? as u32)
    }

    fn sock_shutdown(&mut self, fd: Fd, how: u8) -> Result<(), Errno> {
        let (socket, _) = self.socket(fd, r::SOCK_SHUTDOWN)?;
        if how & !(SDFLAGS_RD | SDFLAGS_WR) != 0 {
            return Err(Errno::Inval);
        }
        socket.shutdown(how & SDFLAGS_RD != 0, how & SDFLAGS_WR != 0)
    }
}

/// `lookupflags`: whether to follow a final symlink; `inval` for unknown
/// bits.
fn lookup(flags: u32) -> Result<bool, Errno> {
    match flags {
        0 => Ok(false),
        fs::LOOKUP_SYMLINK_FOLLOW => Ok(true),
        _ => Err(Errno::Inval),
    }
}

impl Wasi {
    /// The guest name of the preopen `fd` names; `badf` for anything else.
    fn preopen_name(&self, fd: Fd) -> Result<&str, Errno> {
        match &self.fds.get(fd)?.kind {
            Kind::Dir(Directory {
                preopen: Some(name),
                ..
            }) => Ok(name),
            _ => Err(Errno::BadF),
        }
    }

    /// `fd_sync` (`data`: `fd_datasync`) on a file or directory; `inval`
    /// for a stream.
    async fn sync(&mut self, fd: Fd, rights: u64, data: bool) -> Result<(), Errno> {
        let descriptor = self.fds.get(fd)?;
        let target = match &descriptor.kind {
            Kind::File(file) => Ok(file.clone()),
            Kind::Dir(dir) => Err(dir.dir.clone()),
            _ => return Err(Errno::Inval),
        };
        descriptor.need(rights)?;
        self.blocking(move || {
            match (target, data) {
                (Ok(file), true) => file.sync_data(),
                (Ok(file), false) => file.sync_all(),
                (Err(dir), true) => rustix::fs::fdatasync(&*dir).map_err(Into::into),
                (Err(dir), false) => rustix::fs::fsync(&*dir).map_err(Into::into),
            }
            .map_err(io)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_flags_are_follow_or_not() {
        assert_eq!(lookup(0), Ok(false));
        assert_eq!(lookup(1), Ok(true));
        assert_eq!(lookup(2), Err(Errno::Inval));
    }

    #[test]
    fn opened_descriptors_keep_only_meaningful_rights() {
        let dir = cap_std::fs::Dir::open_ambient_dir(".", cap_std::ambient_authority()).unwrap();
        let d = opened(Opened::Dir(dir), r::ALL, r::ALL, 0);
        assert_eq!(d.rights, r::DIRECTORY);
        assert_eq!(d.inheriting, r::DIRECTORY | r::FILE);
        let file = cap_std::fs::File::from_std(tempfile_like());
        let f = opened(Opened::File(file, 4), r::FD_READ | r::PATH_OPEN, 0, 0);
        assert_eq!(f.rights, r::FD_READ);
        assert!(matches!(f.kind, Kind::File(_)));
    }

    /// A file that exists for the test: this crate's own manifest.
    fn tempfile_like() -> std::fs::File {
        std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap()
    }

    #[test]
    fn reads_do_not_zero_and_stop_at_the_end() {
        let file = cap_std::fs::File::from_std(tempfile_like());
        let start = read_file(&file, 9, Some(0)).unwrap();
        assert_eq!(start, b"[package]");
        assert!(read_file(&file, 0, None).unwrap().is_empty());
        let past = read_file(&file, 16, Some(u64::from(u32::MAX))).unwrap();
        assert!(past.is_empty());
    }
}
