//! What goes wrong at the boundary: faults in guest-supplied values
//! ([`GuestError`]) and the traps a host call ends in ([`Trap`]).

use std::any::Any;
use std::fmt;

use crate::resources::HandleError;

/// A guest-supplied value that cannot be lifted or a result that cannot be
/// written back. It does not name the function or argument; the generated
/// shim wraps it into a [`Trap`] that does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuestError {
    /// The region does not fit in guest memory.
    #[error("range {start:#x}..{end:#x} outside memory of {memory:#x} bytes")]
    OutOfBounds {
        /// First byte of the region.
        start: u64,
        /// One past the last byte of the region.
        end: u64,
        /// Size of guest memory in bytes.
        memory: u64,
    },
    /// `ptr + len` does not fit in the address space.
    #[error("pointer {ptr:#x} + length {len:#x} overflows")]
    AddressOverflow {
        /// The pointer.
        ptr: u64,
        /// The length in bytes.
        len: u64,
    },
    /// `count * size` does not fit in the address space.
    #[error("{count} elements of {size} bytes overflow the address space")]
    CountOverflow {
        /// Element count from the guest.
        count: u64,
        /// Size of one element in bytes.
        size: u64,
    },
    /// A typed pointer that is not aligned for its type.
    #[error("pointer {ptr:#x} is not aligned to {align} bytes")]
    Misaligned {
        /// The pointer.
        ptr: u64,
        /// Required alignment.
        align: u64,
    },
    /// Bytes that should be a string are not UTF-8.
    #[error("invalid UTF-8 at byte {valid_up_to} of the string")]
    InvalidUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// A `bool` that is neither 0 nor 1.
    #[error("invalid bool {0} (expected 0 or 1)")]
    InvalidBool(u32),
    /// A `char` that is not a Unicode scalar value.
    #[error("invalid char {0:#x} (not a Unicode scalar value)")]
    InvalidChar(u32),
    /// An integer outside the range of the declared narrow type.
    #[error("value {value} out of range for {ty}")]
    IntegerRange {
        /// The value as passed.
        value: i64,
        /// The declared Rust type.
        ty: &'static str,
    },
    /// A mutable region overlaps another region borrowed by the same call.
    #[error("region {start:#x}..{end:#x} overlaps region {other_start:#x}..{other_end:#x} already borrowed by this call{}", if *.mutable { " (a mutable view may not alias)" } else { "" })]
    Overlap {
        /// Start of the new region.
        start: u64,
        /// End of the new region.
        end: u64,
        /// Start of the region it collides with.
        other_start: u64,
        /// End of the region it collides with.
        other_end: u64,
        /// Whether the new region was requested mutably.
        mutable: bool,
    },
    /// The guest memory cannot be reached.
    #[error("{0}")]
    Memory(#[from] MemoryUnavailable),
    /// A handle argument that does not name a live resource of the right type.
    #[error(transparent)]
    Handle(#[from] HandleError),
    /// A fault in one element of an iovec array.
    #[error("iovec {index}: {error}")]
    Iovec {
        /// Index of the iovec entry.
        index: u32,
        /// What is wrong with it.
        error: Box<GuestError>,
    },
    /// A 64-bit value where the parameter holds only 32 bits (a
    /// [`Wide`](crate::Wide) id).
    #[error("value {value:#x} does not fit the 32 bits this parameter holds")]
    TooWide {
        /// The value as passed.
        value: u64,
    },
    /// A count above a limit the host enforces.
    #[error("{what} {count} exceeds the limit of {limit}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// Count the guest asked for.
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// A `Lift` impl asked for a mutable region without declaring
    /// `const MUTABLE: bool = true`, so the call's view keeps no alias
    /// bookkeeping and refuses (a bug in that impl, reported safely).
    #[error(
        "this parameter's `Lift` impl borrows guest memory mutably but does not declare `const MUTABLE: bool = true`"
    )]
    UndeclaredMutableBorrow,
    /// A problem described by a user [`Lift`](crate::Lift) implementation.
    #[error("{0}")]
    Custom(String),
}

/// Why a call could not reach guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryUnavailable {
    /// The guest instance exports no memory named `memory`.
    #[error("the guest exports no memory named `memory`")]
    NotExported,
    /// The backend has no memory bound for this store.
    #[error("no guest memory is bound to this store (bind it after instantiation)")]
    NotBound,
    /// The exported memory is shared between threads; plain slices of it
    /// would be unsound, so funk refuses it.
    #[error("the guest memory is shared between threads, which funk does not support")]
    Shared,
    /// The shim declared that it needs no memory but a value asked for it.
    #[error("this host function was linked without access to guest memory")]
    NotRequested,
    /// The host functions are already bound to another instance's memory:
    /// binding a second one would let one instance's calls reach the
    /// other's memory.
    #[error(
        "these host functions already serve another instance's memory: link each instance into imports with a function environment of its own"
    )]
    AnotherInstance,
}

/// A host call that ends the guest's execution.
///
/// Every trap raised for a guest fault names the host function
/// (`namespace::function`), the argument and the problem:
///
/// ```text
/// env::write: argument buf: range 0xfff0..0x10010 outside memory of 0x10000 bytes
/// ```
///
/// Host code can trap on purpose with [`Trap::new`] or by returning
/// `Err(Trap)` from a method whose result is `Result<T, Trap>`. The engines
/// hand the `Trap` back as the call's error, so embedders can downcast to it.
#[derive(Debug)]
pub struct Trap {
    function: Option<&'static str>,
    kind: TrapKind,
}

/// What a [`Trap`] is about.
#[derive(Debug)]
#[non_exhaustive]
pub enum TrapKind {
    /// A guest-supplied argument (or result out-pointer) was invalid.
    Argument {
        /// The parameter's name, or `result` for an out-pointer.
        arg: &'static str,
        /// What was wrong with it.
        error: GuestError,
    },
    /// The host method panicked; the panic was caught.
    Panic {
        /// The panic payload, if it was a string.
        message: String,
    },
    /// A trap raised by host code with a message.
    Message(String),
    /// A trap raised by host code from an error value.
    Error(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Trap {
    /// A trap with a message, raised by host code.
    pub fn new(message: impl fmt::Display) -> Self {
        Trap {
            function: None,
            kind: TrapKind::Message(message.to_string()),
        }
    }

    /// A trap carrying an error value, which stays reachable through
    /// [`std::error::Error::source`].
    pub fn from_error(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Trap {
            function: None,
            kind: TrapKind::Error(Box::new(error)),
        }
    }

    /// A trap for an invalid argument of `function`.
    pub fn argument(function: &'static str, arg: &'static str, error: GuestError) -> Self {
        Trap {
            function: Some(function),
            kind: TrapKind::Argument { arg, error },
        }
    }

    /// A trap for a caught panic in `function`. The payload is dropped
    /// here; a panic in its destructor is caught too (see
    /// [`drop_panic_payload`]).
    pub fn panic(function: &'static str, payload: Box<dyn Any + Send>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "non-string panic payload".to_owned()
        };
        drop_panic_payload(payload);
        Trap {
            function: Some(function),
            kind: TrapKind::Panic { message },
        }
    }

    /// Records the host function this trap was raised in, unless it already
    /// names one.
    pub fn in_function(mut self, function: &'static str) -> Self {
        self.function.get_or_insert(function);
        self
    }

    /// The `namespace::function` the trap was raised in, if known.
    pub fn function(&self) -> Option<&'static str> {
        self.function
    }

    /// What the trap is about.
    pub fn kind(&self) -> &TrapKind {
        &self.kind
    }

    /// The guest fault behind an argument trap.
    pub fn guest_error(&self) -> Option<&GuestError> {
        match &self.kind {
            TrapKind::Argument { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(function) = self.function {
            write!(f, "{function}: ")?;
        }
        match &self.kind {
            TrapKind::Argument { arg, error } => write!(f, "argument {arg}: {error}"),
            TrapKind::Panic { message } => write!(f, "host function panicked: {message}"),
            TrapKind::Message(message) => f.write_str(message),
            TrapKind::Error(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for Trap {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            TrapKind::Argument { error, .. } => Some(error),
            TrapKind::Error(error) => Some(error.as_ref()),
            _ => None,
        }
    }
}

/// Drops the payload of a caught panic without letting a second panic, from
/// the payload's own destructor, unwind out of the caller. Such a nested
/// payload is leaked rather than dropped, since its destructor could panic
/// as well: unwinding stops here, whatever the payload does.
pub fn drop_panic_payload(payload: Box<dyn Any + Send>) {
    if let Err(nested) =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)))
    {
        std::mem::forget(nested);
    }
}

/// Linking host functions into an engine failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot link {function}: {source}")]
pub struct LinkError {
    function: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl LinkError {
    /// Wraps a backend error for `function` (`namespace::name`).
    pub fn new(
        function: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        LinkError {
            function,
            source: source.into(),
        }
    }

    /// The `namespace::name` that failed to link.
    pub fn function(&self) -> &'static str {
        self.function
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_trap_names_function_argument_and_problem() {
        let trap = Trap::argument(
            "env::write",
            "buf",
            GuestError::OutOfBounds {
                start: 0xfff0,
                end: 0x10010,
                memory: 0x10000,
            },
        );
        assert_eq!(
            trap.to_string(),
            "env::write: argument buf: range 0xfff0..0x10010 outside memory of 0x10000 bytes"
        );
    }

    #[test]
    fn panic_trap_keeps_string_payloads() {
        let trap = Trap::panic("fs::open", Box::new("boom"));
        assert_eq!(trap.to_string(), "fs::open: host function panicked: boom");
        let trap = Trap::panic("fs::open", Box::new(String::from("bang")));
        assert_eq!(trap.to_string(), "fs::open: host function panicked: bang");
    }

    /// A panic payload whose destructor panics again.
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("the payload's destructor panicked");
        }
    }

    #[test]
    fn a_panicking_payload_destructor_does_not_escape() {
        let payload = std::panic::catch_unwind(|| std::panic::panic_any(Bomb)).unwrap_err();
        let trap = Trap::panic("env::boom", payload);
        assert_eq!(
            trap.to_string(),
            "env::boom: host function panicked: non-string panic payload"
        );
    }

    #[test]
    fn in_function_does_not_overwrite() {
        let trap = Trap::new("x").in_function("a::b").in_function("c::d");
        assert_eq!(trap.to_string(), "a::b: x");
    }
}
