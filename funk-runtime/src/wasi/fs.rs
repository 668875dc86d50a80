//! The file system beneath preopened directories, in preview 1's terms.
//!
//! Every path a guest passes is resolved by [`cap_std`] beneath the handle
//! of a directory descriptor ([`cap_std::fs::Dir`]), never as a host path
//! string: on Linux with `openat2(RESOLVE_BENEATH)`, elsewhere (and on old
//! kernels) by cap-std's own component-by-component walk with
//! `O_NOFOLLOW`. So `..` past the directory, an absolute path, or a
//! symlink whose target leads out (absolute, or through `..`) fails
//! before anything outside is touched, and because each step is taken
//! relative to a handle already open, renaming or replacing directories
//! between a check and a use cannot redirect it. Nothing in this module
//! inspects path strings for safety; it only converts between preview 1's
//! records and cap-std's types. Such an escape is `perm` (cap-std's
//! "a path led outside of the filesystem"), as in Wasmtime's WASI and
//! WASI's path-resolution rules.
//!
//! This module's functions block (they make system calls on the file
//! system); [`host`](super::host) runs them through
//! [`Blocking`](super::Blocking).

use std::ffi::OsStr;
use std::io;
use std::time::{Duration, SystemTime};

use cap_fs_ext::{
    DirExt, FileTypeExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsSyncExt, OsMetadataExt,
    SystemTimeSpec,
};
use cap_std::fs::{Dir, File, FileType, Metadata, OpenOptions};

use super::Errno;
use super::records::{
    FILETYPE_BLOCK_DEVICE, FILETYPE_CHARACTER_DEVICE, FILETYPE_DIRECTORY, FILETYPE_REGULAR_FILE,
    FILETYPE_SYMBOLIC_LINK, FILETYPE_UNKNOWN, Filestat,
};

/// `oflags::creat`.
pub const OFLAGS_CREAT: u16 = 1 << 0;
/// `oflags::directory`.
pub const OFLAGS_DIRECTORY: u16 = 1 << 1;
/// `oflags::excl`.
pub const OFLAGS_EXCL: u16 = 1 << 2;
/// `oflags::trunc`.
pub const OFLAGS_TRUNC: u16 = 1 << 3;

/// `fdflags::append`.
pub const FDFLAGS_APPEND: u16 = 1 << 0;
/// `fdflags::dsync`.
pub const FDFLAGS_DSYNC: u16 = 1 << 1;
/// `fdflags::nonblock`.
pub const FDFLAGS_NONBLOCK: u16 = 1 << 2;
/// `fdflags::rsync`.
pub const FDFLAGS_RSYNC: u16 = 1 << 3;
/// `fdflags::sync`.
pub const FDFLAGS_SYNC: u16 = 1 << 4;

/// `lookupflags::symlink_follow`.
pub const LOOKUP_SYMLINK_FOLLOW: u32 = 1 << 0;

/// `fstflags::atim`.
pub const FSTFLAGS_ATIM: u16 = 1 << 0;
/// `fstflags::atim_now`.
pub const FSTFLAGS_ATIM_NOW: u16 = 1 << 1;
/// `fstflags::mtim`.
pub const FSTFLAGS_MTIM: u16 = 1 << 2;
/// `fstflags::mtim_now`.
pub const FSTFLAGS_MTIM_NOW: u16 = 1 << 3;

/// The `filetype` of `file_type`.
pub fn filetype(file_type: FileType) -> u8 {
    if file_type.is_dir() {
        FILETYPE_DIRECTORY
    } else if file_type.is_file() {
        FILETYPE_REGULAR_FILE
    } else if file_type.is_symlink() {
        FILETYPE_SYMBOLIC_LINK
    } else if file_type.is_block_device() {
        FILETYPE_BLOCK_DEVICE
    } else if file_type.is_char_device() {
        FILETYPE_CHARACTER_DEVICE
    } else {
        // FIFOs and socket files: preview 1 has no type for them.
        FILETYPE_UNKNOWN
    }
}

/// Nanoseconds since the epoch of `seconds` + `nanos` (0 before 1970).
fn timestamp(seconds: i64, nanos: i64) -> u64 {
    u64::try_from(seconds)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .and_then(|ns| ns.checked_add(u64::try_from(nanos).ok()?))
        .unwrap_or(0)
}

/// The `filestat` of `metadata`.
pub fn filestat(metadata: &Metadata) -> Filestat {
    Filestat {
        dev: metadata.dev(),
        ino: metadata.ino(),
        filetype: filetype(metadata.file_type()),
        nlink: metadata.nlink(),
        size: metadata.len(),
        atim: timestamp(metadata.atime(), metadata.atime_nsec()),
        mtim: timestamp(metadata.mtime(), metadata.mtime_nsec()),
        ctim: timestamp(metadata.ctime(), metadata.ctime_nsec()),
        ..Filestat::default()
    }
}

/// The new access and modification times of `*_filestat_set_times`;
/// `inval` for a time given both as a value and as "now".
pub fn times(
    atim: u64,
    mtim: u64,
    fst_flags: u16,
) -> Result<(Option<SystemTimeSpec>, Option<SystemTimeSpec>), Errno> {
    if fst_flags & !(FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW | FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW) != 0 {
        return Err(Errno::Inval);
    }
    let one = |value: u64, set: u16, now: u16| match (fst_flags & set != 0, fst_flags & now != 0) {
        (true, true) => Err(Errno::Inval),
        (true, false) => {
            let at = SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_nanos(value))
                .ok_or(Errno::Overflow)?;
            Ok(Some(SystemTimeSpec::Absolute(
                cap_std::time::SystemTime::from_std(at),
            )))
        }
        (false, true) => Ok(Some(SystemTimeSpec::SymbolicNow)),
        (false, false) => Ok(None),
    };
    Ok((
        one(atim, FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW)?,
        one(mtim, FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW)?,
    ))
}

/// What `path_open` opened.
#[derive(Debug)]
pub enum Opened {
    /// A file (regular or not), with its `filetype`.
    File(File, u8),
    /// A directory.
    Dir(Dir),
}

/// How `path_open` opens: decoded from its flags and the rights asked for.
#[derive(Clone, Copy, Debug, Default)]
pub struct Open {
    /// Follow a symlink in the last component (`lookupflags::symlink_follow`).
    pub follow: bool,
    /// `oflags`.
    pub oflags: u16,
    /// `fdflags`.
    pub fdflags: u16,
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
}

/// Opens `path` beneath `dir` as `how` says.
pub fn open(dir: &Dir, path: &str, how: Open) -> io::Result<Opened> {
    let follow = if how.follow {
        FollowSymlinks::Yes
    } else {
        FollowSymlinks::No
    };
    if how.oflags & OFLAGS_DIRECTORY != 0 {
        let opened = match follow {
            FollowSymlinks::Yes => dir.open_dir(path)?,
            FollowSymlinks::No => dir.open_dir_nofollow(path)?,
        };
        return Ok(Opened::Dir(opened));
    }
    let mut options = OpenOptions::new();
    options
        // POSIX `O_RDONLY` is "neither read nor write asked for".
        .read(how.read || !how.write)
        .write(how.write && how.fdflags & FDFLAGS_APPEND == 0)
        .append(how.fdflags & FDFLAGS_APPEND != 0)
        .truncate(how.oflags & OFLAGS_TRUNC != 0)
        .follow(follow)
        .sync(how.fdflags & FDFLAGS_SYNC != 0)
        .dsync(how.fdflags & FDFLAGS_DSYNC != 0)
        .rsync(how.fdflags & FDFLAGS_RSYNC != 0)
        .nonblock(how.fdflags & FDFLAGS_NONBLOCK != 0);
    match (
        how.oflags & OFLAGS_CREAT != 0,
        how.oflags & OFLAGS_EXCL != 0,
    ) {
        (true, true) => options.create_new(true),
        (true, false) => options.create(true),
        (false, _) => &mut options,
    };
    let file = dir.open_with(path, &options)?;
    let metadata = file.metadata()?;
    if metadata.is_dir() {
        // Opened without `oflags::directory`, read-only: a directory
        // descriptor all the same, as POSIX `open` gives.
        return Ok(Opened::Dir(Dir::from_std_file(file.into_std())));
    }
    Ok(Opened::File(file, filetype(metadata.file_type())))
}

/// One entry of a directory listing, as `fd_readdir` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's inode.
    pub ino: u64,
    /// Its `filetype`.
    pub filetype: u8,
    /// Its name (UTF-8; see [`list`]).
    pub name: String,
}

/// The entries of `dir`: `.` and `..` first, then the rest in the order
/// the host lists them. Names that are not UTF-8 are skipped: preview 1's
/// paths are strings, so the guest could not name them anyway.
pub fn list(dir: &Dir) -> io::Result<Vec<DirEntry>> {
    let own = dir.dir_metadata()?;
    let mut entries = vec![
        DirEntry {
            ino: own.ino(),
            filetype: FILETYPE_DIRECTORY,
            name: ".".into(),
        },
        DirEntry {
            // The parent may be outside the sandbox: report this directory's
            // own inode rather than look beyond it.
            ino: own.ino(),
            filetype: FILETYPE_DIRECTORY,
            name: "..".into(),
        },
    ];
    for entry in dir.entries()? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let filetype = entry.file_type().map(filetype).unwrap_or(FILETYPE_UNKNOWN);
        entries.push(DirEntry {
            ino: rustix::fs::DirEntryExt::ino(&entry),
            filetype,
            name,
        });
    }
    Ok(entries)
}

/// The size of a `dirent` header.
pub const DIRENT_SIZE: usize = 24;

/// Writes the entries of `listing` from index `cookie` into `buf`, each a
/// `dirent` header followed by its name, as many as fit; the last one is
/// cut off if it does not fit whole (preview 1's rule: a full buffer tells
/// the guest to ask again with a bigger one). Returns the bytes used.
pub fn write_dirents(listing: &[DirEntry], cookie: u64, buf: &mut [u8]) -> usize {
    let mut used = 0;
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (index, entry) in listing.iter().enumerate().skip(start) {
        let mut header = [0u8; DIRENT_SIZE];
        header[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&entry.ino.to_le_bytes());
        // Names come from the host's listing: far below 4 GiB.
        header[16..20].copy_from_slice(&(entry.name.len() as u32).to_le_bytes());
        header[20] = entry.filetype;
        for part in [&header[..], entry.name.as_bytes()] {
            let n = part.len().min(buf.len() - used);
            buf[used..used + n].copy_from_slice(&part[..n]);
            used += n;
            if used == buf.len() {
                return used;
            }
        }
    }
    used
}

/// Reads the target of the symlink at `path` beneath `dir`, as bytes.
pub fn read_link(dir: &Dir, path: &str) -> io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let target = dir.read_link_contents(path)?;
    Ok(OsStr::as_bytes(target.as_os_str()).to_vec())
}

/// Creates a symlink at `link` beneath `dir` pointing to `target`. cap-std
/// refuses absolute targets (they could only lead out of the sandbox).
pub fn symlink(dir: &Dir, target: &str, link: &str) -> io::Result<()> {
    dir.symlink(target, link)
}

/// The metadata of `path` beneath `dir`, following a final symlink or not.
pub fn metadata(dir: &Dir, path: &str, follow: bool) -> io::Result<Metadata> {
    if follow {
        dir.metadata(path)
    } else {
        dir.symlink_metadata(path)
    }
}

/// Sets the times of `path` beneath `dir`.
pub fn set_times(
    dir: &Dir,
    path: &str,
    follow: bool,
    (atime, mtime): (Option<SystemTimeSpec>, Option<SystemTimeSpec>),
) -> io::Result<()> {
    if follow {
        dir.set_times(path, atime, mtime)
    } else {
        dir.set_symlink_times(path, atime, mtime)
    }
}

/// Sets the times of an open file or directory.
pub fn set_fd_times(
    file: &impl fs_set_times::SetTimes,
    (atime, mtime): (Option<SystemTimeSpec>, Option<SystemTimeSpec>),
) -> io::Result<()> {
    file.set_times(
        atime.map(SystemTimeSpec::into_std),
        mtime.map(SystemTimeSpec::into_std),
    )
}

impl Errno {
    /// The errno for a failed host I/O operation: the OS's error number
    /// where there is one, otherwise by the error's kind (cap-std's
    /// sandbox escapes are `PermissionDenied` without one: `perm`).
    pub fn from_io(error: &io::Error) -> Errno {
        if let Some(errno) = rustix::io::Errno::from_io_error(error) {
            return Errno::from_os(errno);
        }
        use io::ErrorKind as K;
        match error.kind() {
            K::NotFound => Errno::NoEnt,
            K::PermissionDenied => Errno::Perm,
            K::AlreadyExists => Errno::Exist,
            K::WouldBlock => Errno::Again,
            K::InvalidInput => Errno::Inval,
            K::InvalidData => Errno::IlSeq,
            K::Interrupted => Errno::Intr,
            K::BrokenPipe => Errno::Pipe,
            K::Unsupported => Errno::NotSup,
            K::OutOfMemory => Errno::NoMem,
            K::NotADirectory => Errno::NotDir,
            K::IsADirectory => Errno::IsDir,
            K::DirectoryNotEmpty => Errno::NotEmpty,
            K::ReadOnlyFilesystem => Errno::RoFs,
            K::StorageFull => Errno::NoSpc,
            K::FileTooLarge => Errno::FBig,
            K::InvalidFilename => Errno::NameTooLong,
            K::CrossesDevices => Errno::XDev,
            K::TooManyLinks => Errno::MLink,
            K::ResourceBusy => Errno::Busy,
            K::ExecutableFileBusy => Errno::TxtBsy,
            K::Deadlock => Errno::DeadLk,
            K::NotSeekable => Errno::SPipe,
            K::TimedOut => Errno::TimedOut,
            K::ConnectionRefused => Errno::ConnRefused,
            K::ConnectionReset => Errno::ConnReset,
            K::ConnectionAborted => Errno::ConnAborted,
            K::NotConnected => Errno::NotConn,
            K::AddrInUse => Errno::AddrInUse,
            K::AddrNotAvailable => Errno::AddrNotAvail,
            _ => Errno::Io,
        }
    }

    /// The preview 1 errno with the meaning of the host's `errno`.
    pub(crate) fn from_os(errno: rustix::io::Errno) -> Errno {
        use rustix::io::Errno as E;
        match errno {
            E::TOOBIG => Errno::TooBig,
            E::ACCESS => Errno::Acces,
            E::ADDRINUSE => Errno::AddrInUse,
            E::ADDRNOTAVAIL => Errno::AddrNotAvail,
            E::AFNOSUPPORT => Errno::AfNoSupport,
            E::AGAIN => Errno::Again,
            E::ALREADY => Errno::Already,
            E::BADF => Errno::BadF,
            E::BADMSG => Errno::BadMsg,
            E::BUSY => Errno::Busy,
            E::CANCELED => Errno::Canceled,
            E::CHILD => Errno::Child,
            E::CONNABORTED => Errno::ConnAborted,
            E::CONNREFUSED => Errno::ConnRefused,
            E::CONNRESET => Errno::ConnReset,
            E::DEADLK => Errno::DeadLk,
            E::DESTADDRREQ => Errno::DestAddrReq,
            E::DOM => Errno::Dom,
            E::DQUOT => Errno::DQuot,
            E::EXIST => Errno::Exist,
            E::FAULT => Errno::Fault,
            E::FBIG => Errno::FBig,
            E::HOSTUNREACH => Errno::HostUnreach,
            E::IDRM => Errno::IdRm,
            E::ILSEQ => Errno::IlSeq,
            E::INPROGRESS => Errno::InProgress,
            E::INTR => Errno::Intr,
            E::INVAL => Errno::Inval,
            E::IO => Errno::Io,
            E::ISCONN => Errno::IsConn,
            E::ISDIR => Errno::IsDir,
            E::LOOP => Errno::Loop,
            E::MFILE => Errno::MFile,
            E::MLINK => Errno::MLink,
            E::MSGSIZE => Errno::MsgSize,
            E::MULTIHOP => Errno::Multihop,
            E::NAMETOOLONG => Errno::NameTooLong,
            E::NETDOWN => Errno::NetDown,
            E::NETRESET => Errno::NetReset,
            E::NETUNREACH => Errno::NetUnreach,
            E::NFILE => Errno::NFile,
            E::NOBUFS => Errno::NoBufs,
            E::NODEV => Errno::NoDev,
            E::NOENT => Errno::NoEnt,
            E::NOEXEC => Errno::NoExec,
            E::NOLCK => Errno::NoLck,
            E::NOLINK => Errno::NoLink,
            E::NOMEM => Errno::NoMem,
            E::NOMSG => Errno::NoMsg,
            E::NOPROTOOPT => Errno::NoProtoOpt,
            E::NOSPC => Errno::NoSpc,
            E::NOSYS => Errno::NoSys,
            E::NOTCONN => Errno::NotConn,
            E::NOTDIR => Errno::NotDir,
            E::NOTEMPTY => Errno::NotEmpty,
            E::NOTRECOVERABLE => Errno::NotRecoverable,
            E::NOTSOCK => Errno::NotSock,
            E::NOTSUP => Errno::NotSup,
            E::NOTTY => Errno::NoTty,
            E::NXIO => Errno::NxIo,
            E::OVERFLOW => Errno::Overflow,
            E::OWNERDEAD => Errno::OwnerDead,
            E::PERM => Errno::Perm,
            E::PIPE => Errno::Pipe,
            E::PROTO => Errno::Proto,
            E::PROTONOSUPPORT => Errno::ProtoNoSupport,
            E::PROTOTYPE => Errno::ProtoType,
            E::RANGE => Errno::Range,
            E::ROFS => Errno::RoFs,
            E::SPIPE => Errno::SPipe,
            E::SRCH => Errno::Srch,
            E::STALE => Errno::Stale,
            E::TIMEDOUT => Errno::TimedOut,
            E::TXTBSY => Errno::TxtBsy,
            E::XDEV => Errno::XDev,
            _ => Errno::Io,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> DirEntry {
        DirEntry {
            ino: 7,
            filetype: FILETYPE_REGULAR_FILE,
            name: name.into(),
        }
    }

    #[test]
    fn dirents_fill_the_buffer_and_cut_the_last_one() {
        let listing = [entry("a"), entry("bc")];
        let mut buf = [0u8; 64];
        assert_eq!(write_dirents(&listing, 0, &mut buf), 2 * DIRENT_SIZE + 3);
        assert_eq!(u64::from_le_bytes(buf[0..8].try_into().unwrap()), 1);
        assert_eq!(u64::from_le_bytes(buf[8..16].try_into().unwrap()), 7);
        assert_eq!(u32::from_le_bytes(buf[16..20].try_into().unwrap()), 1);
        assert_eq!(buf[20], FILETYPE_REGULAR_FILE);
        assert_eq!(buf[24], b'a');
        assert_eq!(&buf[25 + DIRENT_SIZE..25 + DIRENT_SIZE + 2], b"bc");
        // From cookie 1: only "bc".
        assert_eq!(write_dirents(&listing, 1, &mut buf), DIRENT_SIZE + 2);
        assert_eq!(u64::from_le_bytes(buf[0..8].try_into().unwrap()), 2);
        // A buffer too small: full, the entry cut.
        let mut small = [0u8; 30];
        assert_eq!(write_dirents(&listing, 0, &mut small), 30);
        assert_eq!(write_dirents(&listing, 2, &mut small), 0);
        assert_eq!(write_dirents(&listing, u64::MAX, &mut small), 0);
    }

    #[test]
    fn times_refuse_a_value_and_now_together() {
        assert!(matches!(times(0, 0, 0), Ok((None, None))));
        assert!(matches!(
            times(5, 0, FSTFLAGS_ATIM | FSTFLAGS_MTIM_NOW),
            Ok((
                Some(SystemTimeSpec::Absolute(_)),
                Some(SystemTimeSpec::SymbolicNow)
            ))
        ));
        assert_eq!(
            times(0, 0, FSTFLAGS_ATIM | FSTFLAGS_ATIM_NOW).unwrap_err(),
            Errno::Inval
        );
        assert_eq!(
            times(0, 0, FSTFLAGS_MTIM | FSTFLAGS_MTIM_NOW).unwrap_err(),
            Errno::Inval
        );
        assert_eq!(times(0, 0, 1 << 4).unwrap_err(), Errno::Inval);
    }

    #[test]
    fn io_errors_map_to_their_errno() {
        let os = |code| Errno::from_io(&io::Error::from_raw_os_error(code));
        assert_eq!(os(rustix::io::Errno::NOENT.raw_os_error()), Errno::NoEnt);
        assert_eq!(
            os(rustix::io::Errno::NOTEMPTY.raw_os_error()),
            Errno::NotEmpty
        );
        assert_eq!(os(rustix::io::Errno::LOOP.raw_os_error()), Errno::Loop);
        let escape = io::Error::new(io::ErrorKind::PermissionDenied, "led outside");
        assert_eq!(Errno::from_io(&escape), Errno::Perm);
    }
}
