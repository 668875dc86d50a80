//! The `wasi_snapshot_preview1` functions: a thin translation from the
//! guest's ABI to the parts of [`Wasi`] (descriptors, stdio, clocks,
//! strings). Each method has the witx signature: funk appends an
//! out-pointer for each value of an `Ok` result and returns the errno.
//!
//! Functions that are not supported still name every witx parameter, so
//! funk checks the guest's pointers and a trap names the argument.
#![allow(unused_variables)]

use std::io::{IoSlice, IoSliceMut};

use funk::Trap;
use tokio::time::Instant;

use super::clock::ClockId;
use super::fd::Stream;
use super::poll::{Poll, Wanted, event};
use super::records::{Fdstat, Filestat, Prestat};
use super::strings::{Args, Bytes, Environ, Pointers};
use super::{Errno, Exit, Wasi};

/// The total length of `lens`, if it fits a wasm32 `size`; `inval`
/// otherwise, as POSIX `writev` does when the sum overflows.
fn total(lens: impl Iterator<Item = usize>) -> Result<u32, Errno> {
    let mut total: u32 = 0;
    for len in lens {
        let len = u32::try_from(len).map_err(|_| Errno::Inval)?;
        total = total.checked_add(len).ok_or(Errno::Inval)?;
    }
    Ok(total)
}

impl Wasi {
    /// `badf` if either descriptor is not open, `notdir` otherwise (neither
    /// is a directory).
    fn directories(&self, a: u32, b: u32) -> Errno {
        match (self.fds.directory(a), self.fds.directory(b)) {
            (Errno::NotDir, other) => other,
            (badf, _) => badf,
        }
    }

    /// Decodes each subscription of a poll that starts at `start`, with
    /// clock deadlines fixed once (a relative timeout counts from `start`).
    fn timers(&self, poll: &Poll<'_>, start: Instant) -> Vec<Timer> {
        let timer = |wanted| match wanted {
            Wanted::Clock {
                id,
                timeout,
                absolute,
            } => match ClockId::from_raw(id) {
                Ok(clock) => Timer::At(self.clocks.deadline(clock, timeout, absolute, start)),
                Err(errno) => Timer::Bad(errno),
            },
            _ => Timer::NotClock,
        };
        poll.subscriptions
            .iter()
            .map(|s| timer(Wanted::of(s)))
            .collect()
    }

    /// Writes the events of the subscriptions that have fired by now into
    /// `poll.events`, in subscription order; returns how many.
    fn fired(&self, poll: &mut Poll<'_>, timers: &[Timer]) -> usize {
        let now = Instant::now();
        let mut fired = 0;
        for (subscription, timer) in poll.subscriptions.iter().zip(timers) {
            let failed = |errno: Errno| Some(event(subscription, errno as u16, 0, false));
            let ready = match (Wanted::of(subscription), timer) {
                (_, Timer::Bad(errno)) => failed(*errno),
                (_, Timer::At(Some(deadline))) if *deadline <= now => {
                    Some(event(subscription, 0, 0, false))
                }
                (_, Timer::At(_)) => None,
                (Wanted::Read(fd), _) => match self.fds.get(fd) {
                    Ok(Stream::Stdin) => self
                        .stdin
                        .peek()
                        .map(|(nbytes, ended)| event(subscription, 0, nbytes, ended)),
                    Ok(_) | Err(_) => failed(Errno::BadF),
                },
                (Wanted::Write(fd), _) => match self.fds.get(fd) {
                    Ok(Stream::Stdout | Stream::Stderr) => Some(event(subscription, 0, 0, false)),
                    Ok(Stream::Stdin) | Err(_) => failed(Errno::BadF),
                },
                (Wanted::Clock { .. } | Wanted::Unknown, _) => failed(Errno::Inval),
            };
            if let Some(ready) = ready {
                poll.events[fired] = ready;
                fired += 1;
            }
        }
        fired
    }

    /// Waits until some subscription of `poll` may have fired: the earliest
    /// clock deadline, or stdin becoming readable.
    async fn wait(&mut self, poll: &Poll<'_>, timers: &[Timer]) {
        let earliest = timers
            .iter()
            .filter_map(|timer| match timer {
                Timer::At(deadline) => *deadline,
                _ => None,
            })
            .min();
        let stdin = poll.subscriptions.iter().any(|subscription| {
            matches!(Wanted::of(subscription), Wanted::Read(fd) if self.fds.get(fd) == Ok(Stream::Stdin))
        });
        let sleep = async {
            match earliest {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        let readable = async {
            match stdin {
                true => drop(self.stdin.ready().await),
                false => std::future::pending().await,
            }
        };
        tokio::select! {
            () = sleep => {}
            () = readable => {}
        }
    }
}

/// A subscription's clock, decoded once per poll.
enum Timer {
    /// Not a clock subscription.
    NotClock,
    /// A clock that does not exist.
    Bad(Errno),
    /// Fires at this instant (`None`: never).
    At(Option<Instant>),
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

    fn clock_time_get(&mut self, id: u32, precision: u64) -> Result<u64, Errno> {
        self.clocks.now(ClockId::from_raw(id)?)
    }

    fn fd_advise(&mut self, fd: u32, offset: u64, len: u64, advice: u8) -> Result<(), Errno> {
        Err(self.fds.stream_refuses(fd, Errno::SPipe))
    }

    fn fd_allocate(&mut self, fd: u32, offset: u64, len: u64) -> Result<(), Errno> {
        Err(self.fds.stream_refuses(fd, Errno::SPipe))
    }

    fn fd_close(&mut self, fd: u32) -> Result<(), Errno> {
        self.fds.close(fd)
    }

    fn fd_datasync(&mut self, fd: u32) -> Result<(), Errno> {
        Err(self.fds.stream_refuses(fd, Errno::Inval))
    }

    fn fd_fdstat_get(&mut self, fd: u32) -> Result<Fdstat, Errno> {
        Ok(self.fds.get(fd)?.fdstat())
    }

    fn fd_fdstat_set_flags(&mut self, fd: u32, flags: u16) -> Result<(), Errno> {
        self.fds.get(fd)?;
        match flags {
            0 => Ok(()),
            _ => Err(Errno::NotSup),
        }
    }

    fn fd_fdstat_set_rights(
        &mut self,
        fd: u32,
        fs_rights_base: u64,
        fs_rights_inheriting: u64,
    ) -> Result<(), Errno> {
        Err(self.fds.stream_refuses(fd, Errno::NotSup))
    }

    fn fd_filestat_get(&mut self, fd: u32) -> Result<Filestat, Errno> {
        Ok(self.fds.get(fd)?.filestat())
    }

    fn fd_filestat_set_size(&mut self, fd: u32, size: u64) -> Result<(), Errno> {
        Err(self.fds.stream_refuses(fd, Errno::Inval))
    }

    fn fd_filestat_set_times(
        &mut self,
        fd: u32,
        atim: u64,
        mtim: u64,
        fst_flags: u16,
    ) -> Result<(), Errno> {
        Err(self.fds.stream_refuses(fd, Errno::NotSup))
    }

    fn fd_pread(
        &mut self,
        fd: u32,
        iovs: &mut [IoSliceMut<'_>],
        offset: u64,
    ) -> Result<u32, Errno> {
        Err(self.fds.stream_refuses(fd, Errno::SPipe))
    }

    fn fd_prestat_get(&mut self, fd: u32) -> Result<Prestat, Errno> {
        Err(Errno::BadF)
    }

    fn fd_prestat_dir_name(&mut self, fd: u32, path: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::BadF)
    }

    fn fd_pwrite(&mut self, fd: u32, iovs: &[IoSlice<'_>], offset: u64) -> Result<u32, Errno> {
        Err(self.fds.stream_refuses(fd, Errno::SPipe))
    }

    /// Async: waits for input without blocking the thread.
    async fn fd_read(&mut self, fd: u32, iovs: &mut [IoSliceMut<'_>]) -> Result<u32, Errno> {
        if self.fds.get(fd)? != Stream::Stdin {
            return Err(Errno::BadF);
        }
        total(iovs.iter().map(|buf| buf.len()))?;
        let read = self.stdin.read(iovs).await;
        read.map(|n| n as u32).map_err(|e| Errno::from_io(&e))
    }

    fn fd_readdir(&mut self, fd: u32, buf: &mut [u8], cookie: u64) -> Result<u32, Errno> {
        Err(self.fds.directory(fd))
    }

    fn fd_renumber(&mut self, fd: u32, to: u32) -> Result<(), Errno> {
        self.fds.renumber(fd, to)
    }

    fn fd_seek(&mut self, fd: u32, offset: i64, whence: u8) -> Result<u64, Errno> {
        Err(self.fds.stream_refuses(fd, Errno::SPipe))
    }

    fn fd_sync(&mut self, fd: u32) -> Result<(), Errno> {
        Err(self.fds.stream_refuses(fd, Errno::Inval))
    }

    fn fd_tell(&mut self, fd: u32) -> Result<u64, Errno> {
        Err(self.fds.stream_refuses(fd, Errno::SPipe))
    }

    fn fd_write(&mut self, fd: u32, iovs: &[IoSlice<'_>]) -> Result<u32, Errno> {
        let output = match self.fds.get(fd)? {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
            Stream::Stdin => return Err(Errno::BadF),
        };
        total(iovs.iter().map(|buf| buf.len()))?;
        let written = output.write(iovs).map_err(|e| Errno::from_io(&e))?;
        Ok(written as u32)
    }

    fn path_create_directory(&mut self, fd: u32, path: &[u8]) -> Result<(), Errno> {
        Err(self.fds.directory(fd))
    }

    fn path_filestat_get(&mut self, fd: u32, flags: u32, path: &[u8]) -> Result<Filestat, Errno> {
        Err(self.fds.directory(fd))
    }

    fn path_filestat_set_times(
        &mut self,
        fd: u32,
        flags: u32,
        path: &[u8],
        atim: u64,
        mtim: u64,
        fst_flags: u16,
    ) -> Result<(), Errno> {
        Err(self.fds.directory(fd))
    }

    fn path_link(
        &mut self,
        old_fd: u32,
        old_flags: u32,
        old_path: &[u8],
        new_fd: u32,
        new_path: &[u8],
    ) -> Result<(), Errno> {
        Err(self.directories(old_fd, new_fd))
    }

    #[allow(clippy::too_many_arguments)] // the witx signature
    fn path_open(
        &mut self,
        fd: u32,
        dirflags: u32,
        path: &[u8],
        oflags: u16,
        fs_rights_base: u64,
        fs_rights_inheriting: u64,
        fdflags: u16,
    ) -> Result<u32, Errno> {
        Err(self.fds.directory(fd))
    }

    fn path_readlink(&mut self, fd: u32, path: &[u8], buf: &mut [u8]) -> Result<u32, Errno> {
        Err(self.fds.directory(fd))
    }

    fn path_remove_directory(&mut self, fd: u32, path: &[u8]) -> Result<(), Errno> {
        Err(self.fds.directory(fd))
    }

    fn path_rename(
        &mut self,
        fd: u32,
        old_path: &[u8],
        new_fd: u32,
        new_path: &[u8],
    ) -> Result<(), Errno> {
        Err(self.directories(fd, new_fd))
    }

    fn path_symlink(&mut self, old_path: &[u8], fd: u32, new_path: &[u8]) -> Result<(), Errno> {
        Err(self.fds.directory(fd))
    }

    fn path_unlink_file(&mut self, fd: u32, path: &[u8]) -> Result<(), Errno> {
        Err(self.fds.directory(fd))
    }

    /// Async: sleeps on tokio timers, waits for stdin.
    async fn poll_oneoff(&mut self, mut poll: Poll<'_>) -> Result<u32, Errno> {
        if poll.subscriptions.is_empty() {
            return Err(Errno::Inval);
        }
        let timers = self.timers(&poll, Instant::now());
        loop {
            let fired = self.fired(&mut poll, &timers);
            if fired > 0 {
                // At most `nsubscriptions`, which came from a `u32`.
                return Ok(fired as u32);
            }
            self.wait(&poll, &timers).await;
        }
    }

    fn proc_exit(&mut self, rval: u32) -> Result<(), Trap> {
        Err(Exit::trap(rval))
    }

    fn proc_raise(&mut self, sig: u8) -> Result<(), Errno> {
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

    fn sock_accept(&mut self, fd: u32, flags: u16) -> Result<u32, Errno> {
        Err(self.fds.socket(fd))
    }

    fn sock_recv(
        &mut self,
        fd: u32,
        ri_data: &mut [IoSliceMut<'_>],
        ri_flags: u16,
    ) -> Result<(u32, u16), Errno> {
        Err(self.fds.socket(fd))
    }

    fn sock_send(&mut self, fd: u32, si_data: &[IoSlice<'_>], si_flags: u16) -> Result<u32, Errno> {
        Err(self.fds.socket(fd))
    }

    fn sock_shutdown(&mut self, fd: u32, how: u8) -> Result<(), Errno> {
        Err(self.fds.socket(fd))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iovec_totals_past_a_wasm32_size_are_inval() {
        assert_eq!(total([1, 2, 3].into_iter()), Ok(6));
        assert_eq!(total([u32::MAX as usize, 0].into_iter()), Ok(u32::MAX));
        assert_eq!(total([u32::MAX as usize, 1].into_iter()), Err(Errno::Inval));
    }
}
