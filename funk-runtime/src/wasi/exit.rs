//! `proc_exit`: how a process ends with an exit code.
//!
//! `proc_exit` does not return to the guest: it traps, and the trap carries
//! an [`Exit`] (through [`funk::Trap::from_error`]), so the embedder gets
//! the code back as the error of the guest call and tells it apart from a
//! real trap with [`Exit::find`]. A `_start` that returns normally (a Rust
//! `main` that returns `()` or `Ok`) does not call `proc_exit` at all: that
//! is exit code 0.

use funk::Trap;

/// The error a `proc_exit` trap carries: the guest's exit code.
///
/// WASI's exit code is a `u32`; this keeps its bits as an `i32`, which is
/// what Rust's `std::process::exit` passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the guest exited with code {0}")]
pub struct Exit(pub i32);

impl Exit {
    /// The `Exit` inside an engine's error for a guest call, if the call
    /// ended in `proc_exit`: walks the error's [`source`] chain, looking
    /// through a [`funk::Trap`].
    ///
    /// Pass the error as `&dyn Error`: a `wasmer::RuntimeError` as it is,
    /// a `wasmtime::Error` through `AsRef` (`error.as_ref()`).
    ///
    /// [`source`]: std::error::Error::source
    pub fn find<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e Exit> {
        let mut next = Some(error);
        while let Some(error) = next {
            if let Some(exit) = error.downcast_ref::<Exit>() {
                return Some(exit);
            }
            if let Some(exit) = error.downcast_ref::<Trap>().and_then(Exit::in_trap) {
                return Some(exit);
            }
            next = error.source();
        }
        None
    }

    /// The `Exit` a funk trap carries, if it is one.
    pub fn in_trap(trap: &Trap) -> Option<&Exit> {
        std::error::Error::source(trap)?.downcast_ref::<Exit>()
    }

    /// The trap `proc_exit` raises.
    pub(crate) fn trap(code: u32) -> Trap {
        Trap::from_error(Exit(code as i32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exit_is_found_through_a_trap_and_wrappers() {
        let trap = Exit::trap(u32::MAX).in_function("wasi_snapshot_preview1::proc_exit");
        assert_eq!(
            trap.to_string(),
            "wasi_snapshot_preview1::proc_exit: the guest exited with code -1"
        );
        assert_eq!(Exit::in_trap(&trap), Some(&Exit(-1)));

        #[derive(Debug, thiserror::Error)]
        #[error("wrapped")]
        struct Wrapper(#[source] Trap);
        let wrapped = Wrapper(trap);
        assert_eq!(Exit::find(&wrapped), Some(&Exit(-1)));
        assert_eq!(Exit::find(&Trap::new("not an exit")), None);
    }
}
