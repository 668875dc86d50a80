//! `funk::yield`: where a module instrumented by [`crate::preempt`] calls
//! the host when its slice of reductions is spent.
//!
//! Only modules compiled by a runtime with
//! [`Preemption::Injected`](crate::engine::Preemption::Injected) import it
//! (the pass adds the import; a module that declares it itself is refused).
//! The call accounts the slice against the process's `max_fuel`, traps when
//! the limit is reached or the process was killed, and on Wasmtime lets the
//! executor run other processes before it returns the next slice's budget.

use funk::Trap;

use super::view;
use crate::config::ProcessConfig;
use crate::engine::preemption::{DEFAULT_SLICE, limit_reached};
use crate::engine::{EngineKind, Preemption};
use crate::preempt::Meter;
use crate::runtime::Settings;

view! {
    /// The `funk` block: the injected counter's yield.
    PreemptionApi
}

/// A process's account of reductions under the injected counter.
#[derive(Debug)]
pub(crate) struct Reductions {
    meter: Meter,
    /// The process's `max_fuel`, for the trap message.
    max_fuel: Option<u64>,
    /// Whether a yield gives the executor thread to other tasks (Wasmtime:
    /// processes share the executor's threads) or only accounts (Wasmer: a
    /// process owns its OS thread, which the kernel preempts).
    to_executor: bool,
}

impl Reductions {
    /// An account of `slice`-reduction slices under `max_fuel`; the module
    /// was instrumented with a first budget of `slice`.
    pub(crate) fn new(slice: u64, max_fuel: Option<u64>, to_executor: bool) -> Self {
        let slice = i64::try_from(slice).unwrap_or(i64::MAX);
        let limit =
            max_fuel.map(|units| units.saturating_mul(crate::config::INSTRUCTIONS_PER_FUEL_UNIT));
        Reductions {
            meter: Meter::new(slice, slice, limit),
            max_fuel,
            to_executor,
        }
    }

    /// The account of a process spawned under `config` on a runtime with
    /// `settings` (whose preemption is resolved).
    pub(crate) fn for_process(settings: &Settings, config: &ProcessConfig) -> Self {
        let slice = match settings.preemption {
            Some(Preemption::Injected { slice }) => slice,
            _ => DEFAULT_SLICE,
        };
        Reductions::new(
            slice,
            config.max_fuel,
            settings.engine == EngineKind::Wasmtime,
        )
    }

    /// Accounts a slice that ended with `left` in the budget, and returns
    /// the next slice's budget, or the trap that stops a process whose
    /// limit is reached.
    pub(crate) fn next_slice(&mut self, left: i64) -> Result<i64, Trap> {
        self.meter
            .on_yield(left)
            .ok_or_else(|| Trap::new(limit_reached(self.max_fuel)))
    }
}

/// The functions of the block, for the import plan of a runtime that
/// instruments its modules.
pub(crate) fn provided() -> impl Iterator<Item = (&'static str, &'static str)> {
    <PreemptionApi as funk::HostApi>::FUNCTIONS
        .iter()
        .map(|f| (f.namespace, f.name))
}

#[funk::host_functions(namespace = "funk")]
impl PreemptionApi {
    /// Called when the budget is spent, with what is left (zero or less:
    /// the overdraft); returns the next slice's budget.
    #[funk(name = "yield")]
    async fn yield_slice(&mut self, left: i64) -> Result<i64, Trap> {
        let next = self.0.reductions.next_slice(left)?;
        if self.0.reductions.to_executor {
            // A kill wakes the task driving the process, which drops the
            // guest instead of resuming it; the check below is for a kill
            // that came first. (Tokio's yield puts the task at the back of
            // the queue, behind the tasks it lets run.)
            tokio::task::yield_now().await;
        }
        if self.0.process.is_killed() {
            return Err(Trap::new("the process was killed"));
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_cut_to_the_limit_and_the_limit_traps_with_max_fuel() {
        let mut account = Reductions::new(60_000, Some(1), true);
        assert_eq!(account.next_slice(-5).unwrap(), 39_995);
        let trap = account.next_slice(0).unwrap_err();
        assert!(
            trap.to_string()
                .contains("compute limit (max_fuel 1: 100000 instructions)"),
            "{trap}"
        );
        let mut unlimited = Reductions::new(500, None, false);
        for _ in 0..10 {
            assert_eq!(unlimited.next_slice(-3).unwrap(), 500);
        }
    }
}
