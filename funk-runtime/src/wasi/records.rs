//! The records and constants of preview 1 that cross guest memory.
//!
//! Each record is `#[repr(C)]` with its padding spelled out as fields, laid
//! out exactly as in `typenames.witx` for wasm32 (`u64` aligned to 8), so
//! funk can read it from or write it to guest memory in place
//! ([`funk::Plain`]). The tests pin every size and offset.

/// `filetype::unknown`: FIFOs, socket files.
pub const FILETYPE_UNKNOWN: u8 = 0;
/// `filetype::block_device`.
pub const FILETYPE_BLOCK_DEVICE: u8 = 1;
/// `filetype::character_device`: what the stdio descriptors report.
pub const FILETYPE_CHARACTER_DEVICE: u8 = 2;
/// `filetype::directory`.
pub const FILETYPE_DIRECTORY: u8 = 3;
/// `filetype::regular_file`.
pub const FILETYPE_REGULAR_FILE: u8 = 4;
/// `filetype::socket_stream`.
pub const FILETYPE_SOCKET_STREAM: u8 = 6;
/// `filetype::symbolic_link`.
pub const FILETYPE_SYMBOLIC_LINK: u8 = 7;

/// `eventtype::clock`.
pub const EVENTTYPE_CLOCK: u8 = 0;
/// `eventtype::fd_read`.
pub const EVENTTYPE_FD_READ: u8 = 1;
/// `eventtype::fd_write`.
pub const EVENTTYPE_FD_WRITE: u8 = 2;

/// `subclockflags::subscription_clock_abstime`.
pub const SUBCLOCKFLAGS_ABSTIME: u16 = 1;
/// `eventrwflags::fd_readwrite_hangup`.
pub const EVENTRWFLAGS_HANGUP: u16 = 1;

/// `fdstat`: what `fd_fdstat_get` writes (24 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, funk::Plain)]
#[repr(C)]
pub struct Fdstat {
    /// `filetype`.
    pub filetype: u8,
    /// Padding.
    pub _pad0: u8,
    /// `fdflags`.
    pub flags: u16,
    /// Padding.
    pub _pad1: u32,
    /// Rights of the descriptor itself.
    pub rights_base: u64,
    /// Rights descriptors opened through it may have.
    pub rights_inheriting: u64,
}

/// `filestat`: what `fd_filestat_get` writes (64 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, funk::Plain)]
#[repr(C)]
pub struct Filestat {
    /// Device id.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// `filetype`.
    pub filetype: u8,
    /// Padding.
    pub _pad: [u8; 7],
    /// Hard links.
    pub nlink: u64,
    /// Size in bytes.
    pub size: u64,
    /// Last access.
    pub atim: u64,
    /// Last modification.
    pub mtim: u64,
    /// Last status change.
    pub ctim: u64,
}

/// `prestat`: what `fd_prestat_get` writes for a preopened directory
/// (8 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, funk::Plain)]
#[repr(C)]
pub struct Prestat {
    /// `preopentype` (0 = directory).
    pub tag: u8,
    /// Padding.
    pub _pad: [u8; 3],
    /// Length of the directory name.
    pub name_len: u32,
}

/// `subscription`: one thing `poll_oneoff` waits for (48 bytes). The union
/// `subscription_u` is flattened: `tag` picks the meaning of the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, funk::Plain)]
#[repr(C)]
pub struct Subscription {
    /// Returned in the event.
    pub userdata: u64,
    /// `eventtype`: clock, fd_read or fd_write.
    pub tag: u8,
    /// Padding.
    pub _pad0: [u8; 7],
    /// The clock id (clock) or the file descriptor (fd_read, fd_write).
    pub id_or_fd: u32,
    /// Padding.
    pub _pad1: u32,
    /// Clock: the timeout, in nanoseconds.
    pub timeout: u64,
    /// Clock: the precision, in nanoseconds.
    pub precision: u64,
    /// Clock: `subclockflags`.
    pub flags: u16,
    /// Padding.
    pub _pad2: [u8; 6],
}

/// `event`: one thing that happened, written by `poll_oneoff` (32 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, funk::Plain)]
#[repr(C)]
pub struct Event {
    /// The subscription's `userdata`.
    pub userdata: u64,
    /// `errno` of this subscription, 0 if none.
    pub error: u16,
    /// `eventtype`.
    pub kind: u8,
    /// Padding.
    pub _pad0: [u8; 5],
    /// fd events: bytes available.
    pub nbytes: u64,
    /// fd events: `eventrwflags`.
    pub flags: u16,
    /// Padding.
    pub _pad1: [u8; 6],
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn layouts_match_the_witx() {
        assert_eq!((size_of::<Fdstat>(), align_of::<Fdstat>()), (24, 8));
        assert_eq!(offset_of!(Fdstat, flags), 2);
        assert_eq!(offset_of!(Fdstat, rights_base), 8);
        assert_eq!(offset_of!(Fdstat, rights_inheriting), 16);

        assert_eq!((size_of::<Filestat>(), align_of::<Filestat>()), (64, 8));
        assert_eq!(offset_of!(Filestat, filetype), 16);
        assert_eq!(offset_of!(Filestat, nlink), 24);
        assert_eq!(offset_of!(Filestat, ctim), 56);

        assert_eq!((size_of::<Prestat>(), align_of::<Prestat>()), (8, 4));
        assert_eq!(offset_of!(Prestat, name_len), 4);

        assert_eq!(
            (size_of::<Subscription>(), align_of::<Subscription>()),
            (48, 8)
        );
        assert_eq!(offset_of!(Subscription, tag), 8);
        assert_eq!(offset_of!(Subscription, id_or_fd), 16);
        assert_eq!(offset_of!(Subscription, timeout), 24);
        assert_eq!(offset_of!(Subscription, precision), 32);
        assert_eq!(offset_of!(Subscription, flags), 40);

        assert_eq!((size_of::<Event>(), align_of::<Event>()), (32, 8));
        assert_eq!(offset_of!(Event, error), 8);
        assert_eq!(offset_of!(Event, kind), 10);
        assert_eq!(offset_of!(Event, nbytes), 16);
        assert_eq!(offset_of!(Event, flags), 24);
    }
}
