//! How a process ends.
//!
//! The engine reports what happened to the guest call ([`Outcome`]); the
//! runtime adds what happened from outside (a kill) and hands embedders a
//! [`ProcessExit`].

use std::fmt;

use crate::process::{DeathReason, KillCause, ProcessId};

/// The error a `proc_exit` trap carries (defined with the WASI functions).
pub use crate::wasi::Exit;

/// Why a guest call failed, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The trap or error, one line.
    pub message: String,
    /// The wasm backtrace, when the engine has one.
    pub backtrace: Option<String>,
}

impl Failure {
    /// A failure without a backtrace.
    pub fn new(message: impl fmt::Display) -> Self {
        Failure {
            message: message.to_string(),
            backtrace: None,
        }
    }
}

/// What the engine reports at the end of a process's entry call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The entry function returned.
    Returned,
    /// The guest called `proc_exit` with this code.
    Exited(i32),
    /// Instantiation or the call failed (a trap, a host-function trap, an
    /// instantiation error).
    Failed(Failure),
}

/// How a process ended, for whoever awaits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// The entry function returned.
    Returned,
    /// The guest exited with this code.
    Exited(i32),
    /// The guest failed.
    Failed(Failure),
    /// It was stopped from outside.
    Killed(KillCause),
}

impl ExitStatus {
    /// From the engine's report.
    pub(crate) fn from_outcome(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Returned => ExitStatus::Returned,
            Outcome::Exited(code) => ExitStatus::Exited(code),
            Outcome::Failed(failure) => ExitStatus::Failed(failure),
        }
    }

    /// What linked processes are told.
    pub fn death_reason(&self) -> DeathReason {
        match self {
            ExitStatus::Returned | ExitStatus::Exited(0) => DeathReason::Normal,
            _ => DeathReason::Failure,
        }
    }

    /// The exit code a command-line runner reports: 0, the guest's code, or
    /// 1 for a failure or kill.
    pub fn code(&self) -> i32 {
        match self {
            ExitStatus::Returned => 0,
            ExitStatus::Exited(code) => *code,
            ExitStatus::Failed(_) | ExitStatus::Killed(_) => 1,
        }
    }

    /// Whether the process ended normally.
    pub fn is_success(&self) -> bool {
        self.death_reason() == DeathReason::Normal
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Returned => f.write_str("returned"),
            ExitStatus::Exited(code) => write!(f, "exited with code {code}"),
            ExitStatus::Failed(failure) => write!(f, "failed: {}", failure.message),
            ExitStatus::Killed(KillCause::Killed) => f.write_str("was killed"),
            ExitStatus::Killed(KillCause::LinkFailed { peer }) => {
                write!(f, "was killed because linked process {peer} failed")
            }
        }
    }
}

/// A process's end, delivered to whoever spawned it from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessExit {
    /// The process.
    pub id: ProcessId,
    /// How it ended.
    pub status: ExitStatus,
}

/// Finds an [`Exit`] anywhere in an error's source chain.
pub fn exit_code(error: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(Exit(code)) = error.downcast_ref::<Exit>() {
            return Some(*code);
        }
        next = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_zero_is_normal_and_other_codes_fail() {
        assert_eq!(ExitStatus::Exited(0).death_reason(), DeathReason::Normal);
        assert_eq!(ExitStatus::Exited(3).death_reason(), DeathReason::Failure);
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert_eq!(ExitStatus::Killed(KillCause::Killed).code(), 1);
    }

    #[test]
    fn exit_codes_are_found_through_wrapping_errors() {
        let trap = funk::Trap::from_error(Exit(7)).in_function("wasi_snapshot_preview1::proc_exit");
        assert_eq!(exit_code(&trap), Some(7));
        assert_eq!(exit_code(&funk::Trap::new("boom")), None);
    }
}
