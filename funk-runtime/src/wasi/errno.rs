//! WASI error numbers: what a failed `wasi_snapshot_preview1` call returns.
//!
//! Every preview 1 function returns an `errno` (`0` for success). Methods of
//! [`Wasi`](super::Wasi) return `Result<T, Errno>`: funk's
//! [`Status`](funk::Status) ABI turns `Err(errno)` into that status and
//! writes `T` through the function's out-pointers on success. The values
//! are those of the `errno` enum in preview 1's `typenames.witx`.

use funk::{Failure, HostError, Status};

macro_rules! errnos {
    ($($(#[doc = $doc:literal])* $name:ident = $value:literal,)*) => {
        /// A WASI preview 1 error number (never `success`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u16)]
        #[non_exhaustive]
        pub enum Errno {
            $($(#[doc = $doc])* $name = $value,)*
        }

        impl Errno {
            /// Every error number, in numeric order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The variant name (`BadF`, `NotSup`, ...).
            pub fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }
        }
    };
}

errnos! {
    /// Argument list too long.
    TooBig = 1,
    /// Permission denied.
    Acces = 2,
    /// Address in use.
    AddrInUse = 3,
    /// Address not available.
    AddrNotAvail = 4,
    /// Address family not supported.
    AfNoSupport = 5,
    /// Resource unavailable, or operation would block.
    Again = 6,
    /// Connection already in progress.
    Already = 7,
    /// Bad file descriptor.
    BadF = 8,
    /// Bad message.
    BadMsg = 9,
    /// Device or resource busy.
    Busy = 10,
    /// Operation canceled.
    Canceled = 11,
    /// No child processes.
    Child = 12,
    /// Connection aborted.
    ConnAborted = 13,
    /// Connection refused.
    ConnRefused = 14,
    /// Connection reset.
    ConnReset = 15,
    /// Resource deadlock would occur.
    DeadLk = 16,
    /// Destination address required.
    DestAddrReq = 17,
    /// Mathematics argument out of domain of function.
    Dom = 18,
    /// Reserved.
    DQuot = 19,
    /// File exists.
    Exist = 20,
    /// Bad address.
    Fault = 21,
    /// File too large.
    FBig = 22,
    /// Host is unreachable.
    HostUnreach = 23,
    /// Identifier removed.
    IdRm = 24,
    /// Illegal byte sequence.
    IlSeq = 25,
    /// Operation in progress.
    InProgress = 26,
    /// Interrupted function.
    Intr = 27,
    /// Invalid argument.
    Inval = 28,
    /// I/O error.
    Io = 29,
    /// Socket is connected.
    IsConn = 30,
    /// Is a directory.
    IsDir = 31,
    /// Too many levels of symbolic links.
    Loop = 32,
    /// File descriptor value too large.
    MFile = 33,
    /// Too many links.
    MLink = 34,
    /// Message too large.
    MsgSize = 35,
    /// Reserved.
    Multihop = 36,
    /// Filename too long.
    NameTooLong = 37,
    /// Network is down.
    NetDown = 38,
    /// Connection aborted by network.
    NetReset = 39,
    /// Network unreachable.
    NetUnreach = 40,
    /// Too many files open in system.
    NFile = 41,
    /// No buffer space available.
    NoBufs = 42,
    /// No such device.
    NoDev = 43,
    /// No such file or directory.
    NoEnt = 44,
    /// Executable file format error.
    NoExec = 45,
    /// No locks available.
    NoLck = 46,
    /// Reserved.
    NoLink = 47,
    /// Not enough space.
    NoMem = 48,
    /// No message of the desired type.
    NoMsg = 49,
    /// Protocol not available.
    NoProtoOpt = 50,
    /// No space left on device.
    NoSpc = 51,
    /// Function not supported.
    NoSys = 52,
    /// The socket is not connected.
    NotConn = 53,
    /// Not a directory or a symbolic link to a directory.
    NotDir = 54,
    /// Directory not empty.
    NotEmpty = 55,
    /// State not recoverable.
    NotRecoverable = 56,
    /// Not a socket.
    NotSock = 57,
    /// Not supported, or operation not supported on socket.
    NotSup = 58,
    /// Inappropriate I/O control operation.
    NoTty = 59,
    /// No such device or address.
    NxIo = 60,
    /// Value too large to be stored in data type.
    Overflow = 61,
    /// Previous owner died.
    OwnerDead = 62,
    /// Operation not permitted.
    Perm = 63,
    /// Broken pipe.
    Pipe = 64,
    /// Protocol error.
    Proto = 65,
    /// Protocol not supported.
    ProtoNoSupport = 66,
    /// Protocol wrong type for socket.
    ProtoType = 67,
    /// Result too large.
    Range = 68,
    /// Read-only file system.
    RoFs = 69,
    /// Invalid seek.
    SPipe = 70,
    /// No such process.
    Srch = 71,
    /// Reserved.
    Stale = 72,
    /// Connection timed out.
    TimedOut = 73,
    /// Text file busy.
    TxtBsy = 74,
    /// Cross-device link.
    XDev = 75,
    /// Extension: capabilities insufficient.
    NotCapable = 76,
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "errno {} ({})", *self as u16, self.name())
    }
}

impl std::error::Error for Errno {}

impl HostError for Errno {
    type Abi = Status;
    fn into_failure(self) -> Failure {
        Failure::Status(i32::from(self as u16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_dense_and_match_the_witx_order() {
        for (i, errno) in Errno::ALL.iter().enumerate() {
            assert_eq!(*errno as usize, i + 1, "{errno}");
        }
        assert_eq!(Errno::ALL.len(), 76);
        assert_eq!(Errno::BadF as u16, 8);
        assert_eq!(Errno::NotSup as u16, 58);
        assert_eq!(Errno::SPipe as u16, 70);
        assert_eq!(Errno::NotCapable.to_string(), "errno 76 (NotCapable)");
    }
}
