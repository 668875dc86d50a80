//! File descriptors: the three stdio streams and nothing else.
//!
//! Descriptors 0, 1 and 2 are stdin, stdout and stderr, character devices
//! with the rights their direction needs. Every other number is not open
//! (`badf`): there are no preopened directories, so wasi-libc's and Rust
//! std's preopen scan (`fd_prestat_get` from 3 until `badf`) finds none, and
//! no path function can reach a file system. A stdio descriptor can be
//! closed and renumbered over another one, as in preview 1; after that its
//! number is `badf` too.

use super::Errno;
use super::records::{
    FILETYPE_CHARACTER_DEVICE, Fdstat, Filestat, RIGHT_FD_FILESTAT_GET, RIGHT_FD_READ,
    RIGHT_FD_WRITE, RIGHT_POLL_FD_READWRITE,
};

/// One of the stdio streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The process's [`Input`](super::Input).
    Stdin,
    /// The process's stdout [`Output`](super::Output).
    Stdout,
    /// The process's stderr [`Output`](super::Output).
    Stderr,
}

impl Stream {
    /// The rights of a stdio descriptor: reading or writing, polling, and
    /// `fd_filestat_get`. Neither seek nor tell, so `isatty` says yes.
    pub fn rights(self) -> u64 {
        let direction = match self {
            Stream::Stdin => RIGHT_FD_READ,
            Stream::Stdout | Stream::Stderr => RIGHT_FD_WRITE,
        };
        direction | RIGHT_POLL_FD_READWRITE | RIGHT_FD_FILESTAT_GET
    }

    /// What `fd_fdstat_get` reports.
    pub fn fdstat(self) -> Fdstat {
        Fdstat {
            filetype: FILETYPE_CHARACTER_DEVICE,
            rights_base: self.rights(),
            ..Fdstat::default()
        }
    }

    /// What `fd_filestat_get` reports: a character device, no times.
    pub fn filestat(self) -> Filestat {
        Filestat {
            filetype: FILETYPE_CHARACTER_DEVICE,
            nlink: 1,
            ..Filestat::default()
        }
    }
}

/// Which stream each stdio number names, if it is open.
#[derive(Clone, Debug)]
pub struct Fds([Option<Stream>; 3]);

impl Fds {
    /// 0, 1 and 2 open on stdin, stdout and stderr.
    pub fn new() -> Fds {
        Fds([
            Some(Stream::Stdin),
            Some(Stream::Stdout),
            Some(Stream::Stderr),
        ])
    }

    fn slot(&mut self, fd: u32) -> Result<&mut Option<Stream>, Errno> {
        self.0.get_mut(fd as usize).ok_or(Errno::BadF)
    }

    /// The stream `fd` names; `badf` if it names none.
    pub fn get(&self, fd: u32) -> Result<Stream, Errno> {
        self.0
            .get(fd as usize)
            .copied()
            .flatten()
            .ok_or(Errno::BadF)
    }

    /// Closes `fd`.
    pub fn close(&mut self, fd: u32) -> Result<(), Errno> {
        self.slot(fd)?.take().map(drop).ok_or(Errno::BadF)
    }

    /// Moves `from` over `to` (closing what `to` named), as `fd_renumber`.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        let stream = self.get(from)?;
        self.get(to)?;
        *self.slot(from)? = None;
        *self.slot(to)? = Some(stream);
        Ok(())
    }

    /// For functions that need a directory descriptor: there is none, so
    /// `notdir` for a stdio stream and `badf` for anything else.
    pub fn directory(&self, fd: u32) -> Errno {
        match self.get(fd) {
            Ok(_) => Errno::NotDir,
            Err(errno) => errno,
        }
    }

    /// For functions that need a socket: `notsock` for a stdio stream,
    /// `badf` for anything else.
    pub fn socket(&self, fd: u32) -> Errno {
        match self.get(fd) {
            Ok(_) => Errno::NotSock,
            Err(errno) => errno,
        }
    }

    /// For operations a character device does not support: `errno` for an
    /// open stream, `badf` for anything else.
    pub fn stream_refuses(&self, fd: u32, errno: Errno) -> Errno {
        match self.get(fd) {
            Ok(_) => errno,
            Err(badf) => badf,
        }
    }
}

impl Default for Fds {
    fn default() -> Self {
        Fds::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stdio_is_open_and_it_can_be_closed_and_renumbered() {
        let mut fds = Fds::new();
        assert_eq!(fds.get(1), Ok(Stream::Stdout));
        assert_eq!(fds.get(3), Err(Errno::BadF));
        assert_eq!(fds.get(u32::MAX), Err(Errno::BadF));
        assert_eq!(fds.directory(0), Errno::NotDir);
        assert_eq!(fds.directory(3), Errno::BadF);
        assert_eq!(fds.renumber(2, 1), Ok(()));
        assert_eq!(fds.get(1), Ok(Stream::Stderr));
        assert_eq!(fds.get(2), Err(Errno::BadF));
        assert_eq!(fds.renumber(0, 2), Err(Errno::BadF));
        assert_eq!(fds.close(0), Ok(()));
        assert_eq!(fds.close(0), Err(Errno::BadF));
        assert_eq!(fds.close(7), Err(Errno::BadF));
        assert_eq!(fds.renumber(1, 1), Ok(()));
        assert_eq!(fds.get(1), Ok(Stream::Stderr));
    }

    #[test]
    fn stdio_is_a_terminal_like_character_device() {
        let stat = Stream::Stdin.fdstat();
        assert_eq!(stat.filetype, FILETYPE_CHARACTER_DEVICE);
        assert_eq!(stat.rights_base & RIGHT_FD_READ, RIGHT_FD_READ);
        assert_eq!(Stream::Stdout.rights() & RIGHT_FD_READ, 0);
        // No seek (bit 2) or tell (bit 5): wasi-libc's isatty says yes.
        assert_eq!(stat.rights_base & (1 << 2 | 1 << 5), 0);
    }
}
