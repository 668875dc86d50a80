//! A short, adaptive spin before a guest thread parks on its condvar.
//!
//! Parking costs a futex wait and, on the waking side, a futex wake and a
//! thread wake-up: several microseconds each way on a VM. When the host
//! future is woken a moment later (a reply from a process on another core,
//! a channel the runtime fills right away), spinning on the wake's hint for
//! that moment saves both. When wakes come late, spinning only burns the
//! core, so the budget adapts: a spin that saw its wake doubles it (up to
//! [`MAX`]), one that did not halves it, down to none at all; then one
//! park in [`PROBE_EVERY`] still spins briefly, so a workload that starts
//! to answer quickly gets its spin back. On one CPU the waking side cannot
//! run while this thread spins, so there is no spin.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Budgets are in quarters of a microsecond.
const QUARTER_MICROS: u64 = 250;
/// The longest spin: 64 µs.
const MAX: u32 = 256;
/// The budget at start: 8 µs.
const START: u32 = 32;
/// The spin of a probe while the budget is 0: 1 µs.
const PROBE: u32 = 4;
/// With no budget left, one park in this many probes.
const PROBE_EVERY: u32 = 64;

/// The budget, shared by every guest thread: the workload decides it.
static BUDGET: AtomicU32 = AtomicU32::new(START);
/// Parks since the last probe.
static SINCE_PROBE: AtomicU32 = AtomicU32::new(0);

/// Whether another CPU can run the waking side while this one spins.
fn several_cpus() -> bool {
    static SEVERAL: OnceLock<bool> = OnceLock::new();
    *SEVERAL.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

/// Spins until `woken` or `cancelled` is set, or the budget runs out.
pub(super) fn until_woken(woken: &AtomicBool, cancelled: &AtomicBool) {
    if !several_cpus() {
        return;
    }
    let mut budget = BUDGET.load(Ordering::Relaxed);
    if budget == 0 {
        if !SINCE_PROBE
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PROBE_EVERY)
        {
            return;
        }
        budget = PROBE;
    }
    let limit = Duration::from_nanos(u64::from(budget) * QUARTER_MICROS);
    let start = Instant::now();
    loop {
        // Reading the clock costs more than a check: look at the clock
        // every few dozen checks.
        for _ in 0..32 {
            if woken.load(Ordering::Acquire) || cancelled.load(Ordering::Relaxed) {
                BUDGET.store((budget * 2).min(MAX), Ordering::Relaxed);
                return;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= limit {
            BUDGET.store(budget / 2, Ordering::Relaxed);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_follows_the_outcome() {
        let (woken, cancelled) = (AtomicBool::new(true), AtomicBool::new(false));
        BUDGET.store(START, Ordering::Relaxed);
        until_woken(&woken, &cancelled);
        if several_cpus() {
            assert_eq!(BUDGET.load(Ordering::Relaxed), START * 2);
            woken.store(false, Ordering::Relaxed);
            let start = Instant::now();
            until_woken(&woken, &cancelled);
            // A failed spin stops at its budget (with slack for a busy
            // machine) and halves it.
            assert!(start.elapsed() < Duration::from_millis(50));
            assert_eq!(BUDGET.load(Ordering::Relaxed), START);
        }
    }
}
