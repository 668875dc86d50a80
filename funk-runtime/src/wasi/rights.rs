//! Rights: what a descriptor may be used for, as preview 1 defines them.
//!
//! Every descriptor carries two sets of `rights` (a `u64` of flags, in the
//! order of `typenames.witx`): its *base* rights, checked by every function
//! that uses it (a missing right is `notcapable`), and its *inheriting*
//! rights, the most a descriptor opened through it (`path_open`) may have.
//! A guest may drop rights (`fd_fdstat_set_rights`) but never gain them.
//!
//! What each kind of descriptor starts with:
//!
//! | descriptor | base | inheriting |
//! |---|---|---|
//! | preopened directory | [`DIRECTORY`] | [`DIRECTORY`] \| [`FILE`] |
//! | opened file | requested ∩ [`FILE`] | requested ∩ ([`DIRECTORY`] \| [`FILE`]) |
//! | opened directory | requested ∩ [`DIRECTORY`] | requested ∩ ([`DIRECTORY`] \| [`FILE`]) |
//! | stdin / stdout, stderr | [`STDIN`] / [`STDOUT`] | none |
//! | socket | [`SOCKET`] | none |
//!
//! `path_open` refuses (`notcapable`) a request for rights the directory's
//! inheriting set does not hold, and keeps only those that mean something
//! for what it opened: asking for `fd_read` on a directory, or for
//! `path_open` on a file, is not an error, but the right is not granted.

/// The right to invoke `fd_datasync` (and `path_open` with `fdflags::dsync`).
pub const FD_DATASYNC: u64 = 1 << 0;
/// The right to invoke `fd_read` and `sock_recv` (with [`FD_SEEK`]: `fd_pread`).
pub const FD_READ: u64 = 1 << 1;
/// The right to invoke `fd_seek`; implies [`FD_TELL`].
pub const FD_SEEK: u64 = 1 << 2;
/// The right to invoke `fd_fdstat_set_flags`.
pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
/// The right to invoke `fd_sync` (and `path_open` with `rsync`, `dsync`).
pub const FD_SYNC: u64 = 1 << 4;
/// The right to invoke `fd_tell`, or `fd_seek` that leaves the offset alone.
pub const FD_TELL: u64 = 1 << 5;
/// The right to invoke `fd_write` and `sock_send` (with [`FD_SEEK`]: `fd_pwrite`).
pub const FD_WRITE: u64 = 1 << 6;
/// The right to invoke `fd_advise`.
pub const FD_ADVISE: u64 = 1 << 7;
/// The right to invoke `fd_allocate`.
pub const FD_ALLOCATE: u64 = 1 << 8;
/// The right to invoke `path_create_directory`.
pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
/// With [`PATH_OPEN`]: the right to invoke `path_open` with `oflags::creat`.
pub const PATH_CREATE_FILE: u64 = 1 << 10;
/// The right to invoke `path_link` with the descriptor as the source.
pub const PATH_LINK_SOURCE: u64 = 1 << 11;
/// The right to invoke `path_link` with the descriptor as the target.
pub const PATH_LINK_TARGET: u64 = 1 << 12;
/// The right to invoke `path_open`.
pub const PATH_OPEN: u64 = 1 << 13;
/// The right to invoke `fd_readdir`.
pub const FD_READDIR: u64 = 1 << 14;
/// The right to invoke `path_readlink`.
pub const PATH_READLINK: u64 = 1 << 15;
/// The right to invoke `path_rename` with the descriptor as the source.
pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
/// The right to invoke `path_rename` with the descriptor as the target.
pub const PATH_RENAME_TARGET: u64 = 1 << 17;
/// The right to invoke `path_filestat_get`.
pub const PATH_FILESTAT_GET: u64 = 1 << 18;
/// The right to change a file's size (with [`PATH_OPEN`]: `oflags::trunc`).
pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
/// The right to invoke `path_filestat_set_times`.
pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
/// The right to invoke `fd_filestat_get`.
pub const FD_FILESTAT_GET: u64 = 1 << 21;
/// The right to invoke `fd_filestat_set_size`.
pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
/// The right to invoke `fd_filestat_set_times`.
pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
/// The right to invoke `path_symlink`.
pub const PATH_SYMLINK: u64 = 1 << 24;
/// The right to invoke `path_remove_directory`.
pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
/// The right to invoke `path_unlink_file`.
pub const PATH_UNLINK_FILE: u64 = 1 << 26;
/// With [`FD_READ`] / [`FD_WRITE`]: the right to poll for reading / writing.
pub const POLL_FD_READWRITE: u64 = 1 << 27;
/// The right to invoke `sock_shutdown`.
pub const SOCK_SHUTDOWN: u64 = 1 << 28;
/// The right to invoke `sock_accept`.
pub const SOCK_ACCEPT: u64 = 1 << 29;

/// Every right preview 1 defines.
pub const ALL: u64 = (1 << 30) - 1;

/// The rights that mean something on a regular file.
pub const FILE: u64 = FD_DATASYNC
    | FD_READ
    | FD_SEEK
    | FD_FDSTAT_SET_FLAGS
    | FD_SYNC
    | FD_TELL
    | FD_WRITE
    | FD_ADVISE
    | FD_ALLOCATE
    | FD_FILESTAT_GET
    | FD_FILESTAT_SET_SIZE
    | FD_FILESTAT_SET_TIMES
    | POLL_FD_READWRITE;

/// The rights that mean something on a directory.
pub const DIRECTORY: u64 = FD_DATASYNC
    | FD_FDSTAT_SET_FLAGS
    | FD_SYNC
    | PATH_CREATE_DIRECTORY
    | PATH_CREATE_FILE
    | PATH_LINK_SOURCE
    | PATH_LINK_TARGET
    | PATH_OPEN
    | FD_READDIR
    | PATH_READLINK
    | PATH_RENAME_SOURCE
    | PATH_RENAME_TARGET
    | PATH_FILESTAT_GET
    | PATH_FILESTAT_SET_SIZE
    | PATH_FILESTAT_SET_TIMES
    | FD_FILESTAT_GET
    | FD_FILESTAT_SET_TIMES
    | PATH_SYMLINK
    | PATH_REMOVE_DIRECTORY
    | PATH_UNLINK_FILE;

/// What stdin has: reading, polling, `fd_filestat_get`. Neither seek nor
/// tell, so wasi-libc's `isatty` says yes.
pub const STDIN: u64 = FD_READ | POLL_FD_READWRITE | FD_FILESTAT_GET;

/// What stdout and stderr have: writing, polling, `fd_filestat_get`.
pub const STDOUT: u64 = FD_WRITE | POLL_FD_READWRITE | FD_FILESTAT_GET;

/// What a socket has: reading, writing, polling, shutting down, accepting
/// (meaningful on a listener), `fd_filestat_get`, `fd_fdstat_set_flags`.
pub const SOCKET: u64 = FD_READ
    | FD_WRITE
    | POLL_FD_READWRITE
    | SOCK_SHUTDOWN
    | SOCK_ACCEPT
    | FD_FILESTAT_GET
    | FD_FDSTAT_SET_FLAGS;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_are_the_witx_bits() {
        assert_eq!(FD_DATASYNC, 1);
        assert_eq!(PATH_OPEN, 0x2000);
        assert_eq!(FD_FILESTAT_GET, 0x20_0000);
        assert_eq!(SOCK_ACCEPT, 0x2000_0000);
        assert_eq!(ALL.count_ones(), 30);
        assert_eq!((FILE | DIRECTORY | SOCKET) & !ALL, 0);
        // Nothing a file has is a path right.
        assert_eq!(FILE & (PATH_OPEN | PATH_CREATE_FILE | FD_READDIR), 0);
    }
}
