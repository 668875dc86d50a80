//! File descriptors: guest-visible numbers naming generation-checked
//! handles.
//!
//! A process's descriptors live in a [`funk::ResourceTable`]: each open
//! descriptor is a [`Descriptor`] named by a [`Handle`] whose id carries a
//! generation. The guest sees small numbers, as preview 1 prescribes: 0, 1
//! and 2 are stdin, stdout and stderr, the preopened directories follow
//! from 3 in order, and every new descriptor takes the lowest free number
//! (as POSIX `open` does). [`Fds`] maps each number to the handle it names
//! now.
//!
//! Host functions take a descriptor as an [`Fd`] parameter: funk lifts
//! the number into the handle it names when the call starts. Everything
//! the call does with it later goes through that handle, so if the
//! descriptor is closed during the call (`fd_renumber` over it, say) and
//! its number reused, the call gets `badf` instead of silently using the
//! other file. A number that names nothing is `badf` too, never a trap:
//! guests probe descriptors (the preopen scan asks for 3, 4, ... until
//! `badf`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use funk::{GuestError, GuestView, Handle, Lift, LiftAsync, ResourceTable};

use super::Errno;
use super::Wasi;
use super::fs::DirEntry;
use super::records::{
    FILETYPE_CHARACTER_DEVICE, FILETYPE_DIRECTORY, FILETYPE_SOCKET_STREAM, FILETYPE_UNKNOWN, Fdstat,
};
use super::rights;
use super::sock::Socket;

/// The most descriptors one process may have open; past it, `mfile`.
pub const MAX_FDS: usize = 16 * 1024;

/// What a descriptor is open on.
#[derive(Debug)]
pub enum Kind {
    /// The process's [`Input`](super::Input).
    Stdin,
    /// The process's stdout [`Output`](super::Output).
    Stdout,
    /// The process's stderr [`Output`](super::Output).
    Stderr,
    /// A file (regular or not) opened beneath a preopened directory.
    File(Arc<cap_std::fs::File>),
    /// A directory: a preopen (with the name the guest sees) or one opened
    /// beneath it.
    Dir(Directory),
    /// A socket the host gave the process.
    Socket(Socket),
}

/// A directory descriptor.
#[derive(Debug)]
pub struct Directory {
    /// The capability every path is resolved beneath.
    pub dir: Arc<cap_std::fs::Dir>,
    /// The guest's name for it, if it is a preopen (`fd_prestat_dir_name`).
    pub preopen: Option<String>,
    /// The entries `fd_readdir` read at cookie 0, for the calls that
    /// continue the listing.
    pub listing: Option<Arc<Vec<DirEntry>>>,
}

/// One open descriptor: what it is open on, its rights and its flags.
#[derive(Debug)]
pub struct Descriptor {
    /// What it is open on.
    pub kind: Kind,
    /// The `filetype` `fd_fdstat_get` reports, fixed when it was opened.
    pub filetype: u8,
    /// The rights the functions using it check.
    pub rights: u64,
    /// The most rights a descriptor opened through it may have.
    pub inheriting: u64,
    /// Its `fdflags` (`append`, `dsync`, `nonblock`, `rsync`, `sync`).
    pub flags: u16,
}

impl Descriptor {
    /// A stdio descriptor: a character device if it is a terminal, of an
    /// unknown type otherwise (a pipe or a capture), as `wasmtime-wasi`
    /// reports them, so that a guest's `isatty` tells the truth.
    pub fn stdio(kind: Kind, terminal: bool) -> Descriptor {
        let rights = match kind {
            Kind::Stdin => rights::STDIN,
            _ => rights::STDOUT,
        };
        Descriptor {
            kind,
            filetype: if terminal {
                FILETYPE_CHARACTER_DEVICE
            } else {
                FILETYPE_UNKNOWN
            },
            rights,
            inheriting: 0,
            flags: 0,
        }
    }

    /// A preopened directory, named `name` for the guest.
    pub fn preopen(dir: cap_std::fs::Dir, name: String) -> Descriptor {
        Descriptor {
            kind: Kind::Dir(Directory {
                dir: Arc::new(dir),
                preopen: Some(name),
                listing: None,
            }),
            filetype: FILETYPE_DIRECTORY,
            rights: rights::DIRECTORY,
            inheriting: rights::DIRECTORY | rights::FILE,
            flags: 0,
        }
    }

    /// A socket the host gave the process.
    pub fn socket(socket: Socket) -> Descriptor {
        Descriptor {
            kind: Kind::Socket(socket),
            filetype: FILETYPE_SOCKET_STREAM,
            rights: rights::SOCKET,
            inheriting: 0,
            flags: 0,
        }
    }

    /// `Ok` if the descriptor has every right in `needed`, `notcapable`
    /// otherwise.
    pub fn need(&self, needed: u64) -> Result<&Descriptor, Errno> {
        if self.rights & needed == needed {
            Ok(self)
        } else {
            Err(Errno::NotCapable)
        }
    }

    /// What `fd_fdstat_get` reports.
    pub fn fdstat(&self) -> Fdstat {
        Fdstat {
            filetype: self.filetype,
            flags: self.flags,
            rights_base: self.rights,
            rights_inheriting: self.inheriting,
            ..Fdstat::default()
        }
    }

    /// The file, if this is one; `isdir` for a directory, `badf` for
    /// anything else (stdio and sockets are not files one can seek, stat
    /// or truncate).
    pub fn file(&self) -> Result<&Arc<cap_std::fs::File>, Errno> {
        match &self.kind {
            Kind::File(file) => Ok(file),
            Kind::Dir(_) => Err(Errno::IsDir),
            _ => Err(Errno::BadF),
        }
    }

    /// The directory, if this is one; `notdir` otherwise.
    pub fn dir(&self) -> Result<&Directory, Errno> {
        match &self.kind {
            Kind::Dir(dir) => Ok(dir),
            _ => Err(Errno::NotDir),
        }
    }
}

/// A descriptor argument: the number the guest passed and the handle it
/// named when the call started (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fd {
    number: u32,
    handle: Option<Handle<Descriptor>>,
}

impl Fd {
    /// The number the guest passed.
    pub fn number(self) -> u32 {
        self.number
    }
}

impl<'a> Lift<'a, Wasi> for Fd {
    type Abi = u32;
    const MEMORY: bool = false;
    fn lift(_: &'a GuestView<'_>, wasi: &mut Wasi, number: u32) -> Result<Self, GuestError> {
        Ok(wasi.fds.fd(number))
    }
}

impl<'a> LiftAsync<'a, Wasi> for Fd {
    type Held = Fd;
    fn hold(_: &GuestView<'_>, wasi: &mut Wasi, number: u32) -> Result<Fd, GuestError> {
        Ok(wasi.fds.fd(number))
    }
    fn lend(held: &'a mut Fd) -> Fd {
        *held
    }
}

/// The descriptors of one process.
#[derive(Debug, Default)]
pub struct Fds {
    table: ResourceTable,
    /// What each guest number names now.
    numbers: Vec<Option<Handle<Descriptor>>>,
    /// Numbers below `numbers.len()` that name nothing, lowest first.
    free: BinaryHeap<Reverse<u32>>,
}

impl Fds {
    /// No descriptors.
    pub fn new() -> Fds {
        Fds::default()
    }

    /// The argument for guest number `number`.
    pub fn fd(&self, number: u32) -> Fd {
        let handle = self.numbers.get(number as usize).copied().flatten();
        Fd { number, handle }
    }

    /// Opens `descriptor` under the lowest free number.
    pub fn insert(&mut self, descriptor: Descriptor) -> Result<u32, Errno> {
        if self.table.len() >= MAX_FDS {
            return Err(Errno::MFile);
        }
        let handle = self.table.insert(descriptor).map_err(|_| Errno::MFile)?;
        let number = match self.free.pop() {
            Some(Reverse(number)) => number,
            None => {
                self.numbers.push(None);
                // At most `MAX_FDS` numbers exist.
                (self.numbers.len() - 1) as u32
            }
        };
        self.numbers[number as usize] = Some(handle);
        Ok(number)
    }

    /// The descriptor `fd` named when the call started; `badf` if it named
    /// none, or if that descriptor has been closed since.
    pub fn get(&self, fd: Fd) -> Result<&Descriptor, Errno> {
        let handle = fd.handle.ok_or(Errno::BadF)?;
        self.table.get(handle).map_err(|_| Errno::BadF)
    }

    /// As [`get`](Fds::get), mutably.
    pub fn get_mut(&mut self, fd: Fd) -> Result<&mut Descriptor, Errno> {
        let handle = fd.handle.ok_or(Errno::BadF)?;
        self.table.get_mut(handle).map_err(|_| Errno::BadF)
    }

    /// Closes `fd` and returns what it was open on.
    pub fn close(&mut self, fd: Fd) -> Result<Descriptor, Errno> {
        self.get(fd)?;
        let handle = fd.handle.ok_or(Errno::BadF)?;
        let descriptor = self.table.remove(handle).map_err(|_| Errno::BadF)?;
        self.numbers[fd.number as usize] = None;
        self.free.push(Reverse(fd.number));
        Ok(descriptor)
    }

    /// `fd_renumber`: moves `from` over `to`, closing what `to` named. Both
    /// must be open; renumbering a descriptor onto itself does nothing.
    pub fn renumber(&mut self, from: Fd, to: Fd) -> Result<(), Errno> {
        self.get(from)?;
        self.get(to)?;
        if from.number == to.number {
            return Ok(());
        }
        let moved = self.numbers[from.number as usize].take();
        self.free.push(Reverse(from.number));
        let replaced = std::mem::replace(&mut self.numbers[to.number as usize], moved);
        if let Some(handle) = replaced {
            drop(self.table.remove(handle));
        }
        Ok(())
    }

    /// Every open descriptor that is a preopen, in number order: its
    /// number, its directory and its guest name.
    pub fn preopen_dirs(&self) -> impl Iterator<Item = (u32, &Directory, &str)> {
        (0..self.numbers.len() as u32).filter_map(|n| {
            let dir = self.get(self.fd(n)).ok()?.dir().ok()?;
            let name = dir.preopen.as_deref()?;
            Some((n, dir, name))
        })
    }

    /// Every open descriptor that is a preopen, with its number.
    #[cfg(test)]
    pub fn preopens(&self) -> Vec<(u32, String)> {
        self.preopen_dirs()
            .map(|(n, _, name)| (n, name.to_owned()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stdio() -> Fds {
        let mut fds = Fds::new();
        for kind in [Kind::Stdin, Kind::Stdout, Kind::Stderr] {
            fds.insert(Descriptor::stdio(kind, true)).unwrap();
        }
        fds
    }

    #[test]
    fn numbers_follow_wasi_and_reuse_the_lowest_free_one() {
        let mut fds = stdio();
        let dir = cap_std::fs::Dir::open_ambient_dir(".", cap_std::ambient_authority()).unwrap();
        assert_eq!(fds.insert(Descriptor::preopen(dir, ".".into())), Ok(3));
        assert_eq!(fds.preopens(), [(3, ".".to_owned())]);
        assert!(matches!(fds.get(fds.fd(1)).unwrap().kind, Kind::Stdout));
        assert_eq!(fds.get(fds.fd(4)).unwrap_err(), Errno::BadF);
        assert_eq!(fds.get(fds.fd(u32::MAX)).unwrap_err(), Errno::BadF);
        fds.close(fds.fd(1)).unwrap();
        assert_eq!(fds.close(fds.fd(1)).unwrap_err(), Errno::BadF);
        assert_eq!(fds.insert(Descriptor::stdio(Kind::Stderr, true)), Ok(1));
        assert_eq!(fds.insert(Descriptor::stdio(Kind::Stderr, true)), Ok(4));
    }

    #[test]
    fn a_closed_then_reused_number_is_not_the_new_descriptor_within_a_call() {
        let mut fds = stdio();
        // The call lifted fd 1; during it, 1 is closed and reopened.
        let lifted = fds.fd(1);
        fds.close(lifted).unwrap();
        assert_eq!(fds.insert(Descriptor::stdio(Kind::Stdin, true)), Ok(1));
        assert_eq!(fds.get(lifted).unwrap_err(), Errno::BadF);
        assert!(matches!(fds.get(fds.fd(1)).unwrap().kind, Kind::Stdin));
    }

    #[test]
    fn renumber_moves_and_closes() {
        let mut fds = stdio();
        assert_eq!(fds.renumber(fds.fd(2), fds.fd(1)), Ok(()));
        assert!(matches!(fds.get(fds.fd(1)).unwrap().kind, Kind::Stderr));
        assert_eq!(fds.get(fds.fd(2)).unwrap_err(), Errno::BadF);
        assert_eq!(fds.renumber(fds.fd(0), fds.fd(2)), Err(Errno::BadF));
        assert_eq!(fds.renumber(fds.fd(1), fds.fd(1)), Ok(()));
        assert!(matches!(fds.get(fds.fd(1)).unwrap().kind, Kind::Stderr));
        // The freed number is the next one handed out.
        assert_eq!(fds.insert(Descriptor::stdio(Kind::Stdout, true)), Ok(2));
    }

    #[test]
    fn rights_are_checked() {
        let d = Descriptor::stdio(Kind::Stdout, true);
        assert!(d.need(rights::FD_WRITE).is_ok());
        assert_eq!(d.need(rights::FD_READ).unwrap_err(), Errno::NotCapable);
        assert_eq!(d.fdstat().rights_base, rights::STDOUT);
    }
}
