//! Wasmtime's epochs as a preemption mechanism: a ticker thread, and a
//! compute limit approximated by running time.
//!
//! A thread of the runtime advances the engine's epoch every tick; a store
//! whose deadline has passed calls its epoch callback at the next function
//! entry or loop header, which yields to the executor. Epochs count time,
//! not instructions, so a process's `max_fuel` becomes a budget of running
//! time ([`NANOS_PER_FUEL_UNIT`] per unit). Running time is the CPU time the
//! process's guest futures take while they are polled ([`Timed`]): a
//! process waiting for a message or a timer is not polled and is not
//! charged, and neither is a poll's thread while the operating system runs
//! something else (on a loaded machine wall time would charge a light
//! process for its neighbours). The limit is checked at each tick, so a
//! process may overrun it by up to one tick.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use wasmtime::{Store, UpdateDeadline};

use super::preemption::{NANOS_PER_FUEL_UNIT, limit_reached};

/// Advances `engine`'s epoch every `tick` on a thread of its own, until
/// the engine is dropped.
pub(crate) fn start_ticker(engine: &wasmtime::Engine, tick: Duration) -> Result<(), String> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("funk-epoch-ticker".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            }
        })
        .map(drop)
        .map_err(|e| format!("cannot start the epoch ticker: {e}"))
}

/// A process's running time, shared by its [`Timed`] futures and its epoch
/// callback. Only a process with a compute limit keeps one: reading a
/// thread's CPU clock is a system call (two per poll), about a microsecond
/// each on the project's machine, as much as the rest of a message hop.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunClock(Option<Arc<Mutex<Clock>>>);

#[derive(Debug, Default)]
struct Clock {
    /// Time run in finished polls.
    ran: Duration,
    /// The polling thread's CPU time when the poll under way started, if
    /// one is.
    since: Option<Duration>,
}

/// The CPU time of the calling thread.
fn thread_cpu_time() -> Duration {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    // Never negative; an impossible value counts as zero.
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

fn lock(clock: &Mutex<Clock>) -> std::sync::MutexGuard<'_, Clock> {
    clock.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RunClock {
    /// A clock that charges polls (`charged`), or one that keeps no time
    /// and reads zero, for a process without a compute limit.
    pub(crate) fn new(charged: bool) -> RunClock {
        RunClock(charged.then(Arc::default))
    }

    /// The time run so far, the poll under way included. Called on the
    /// polling thread (from the epoch callback, inside the poll), whose CPU
    /// clock the poll under way started from.
    fn ran(&self) -> Duration {
        let Some(clock) = &self.0 else {
            return Duration::ZERO;
        };
        let clock = lock(clock);
        let current = clock.since.map_or(Duration::ZERO, |since| {
            thread_cpu_time().saturating_sub(since)
        });
        clock.ran + current
    }

    /// Wraps `future` so that the time spent polling it is charged here.
    pub(crate) fn time<F: Future>(&self, future: F) -> Timed<F> {
        Timed {
            clock: self.clone(),
            future: Box::pin(future),
        }
    }
}

/// A future whose polls are charged to a [`RunClock`].
pub(crate) struct Timed<F> {
    clock: RunClock,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Unpin: the future is boxed.
        let this = self.get_mut();
        let Some(clock) = &this.clock.0 else {
            return this.future.as_mut().poll(cx);
        };
        lock(clock).since = Some(thread_cpu_time());
        let polled = this.future.as_mut().poll(cx);
        let mut clock = lock(clock);
        if let Some(since) = clock.since.take() {
            clock.ran += thread_cpu_time().saturating_sub(since);
        }
        drop(clock);
        polled
    }
}

/// Makes `store` yield to the executor at every epoch tick and, under a
/// compute limit of `max_fuel` units, trap once `clock` has run past it.
pub(crate) fn preempt<T: 'static>(store: &mut Store<T>, max_fuel: Option<u64>, clock: &RunClock) {
    store.set_epoch_deadline(1);
    let limit =
        max_fuel.map(|units| Duration::from_nanos(units.saturating_mul(NANOS_PER_FUEL_UNIT)));
    let clock = clock.clone();
    store.epoch_deadline_callback(move |_| {
        if let Some(limit) = limit
            && clock.ran() >= limit
        {
            return Err(wasmtime::Error::new(funk::Trap::new(limit_reached(
                max_fuel,
            ))));
        }
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(tokio::task::yield_now()),
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Burns about `cpu` of this thread's CPU time.
    fn spin_for(cpu: Duration) {
        let start = thread_cpu_time();
        while thread_cpu_time() - start < cpu {
            std::hint::spin_loop();
        }
    }

    #[tokio::test]
    async fn a_clock_charges_the_cpu_time_of_polls_and_not_waits() {
        let clock = RunClock::new(true);
        clock
            .time(async {
                spin_for(Duration::from_millis(5));
                // A poll that sleeps is not computing: not charged.
                std::thread::sleep(Duration::from_millis(20));
            })
            .await;
        let ran = clock.ran();
        assert!(ran >= Duration::from_millis(5), "{ran:?}");
        assert!(ran < Duration::from_millis(20), "{ran:?}");
        // Outside a poll nothing is charged.
        spin_for(Duration::from_millis(5));
        assert_eq!(clock.ran(), ran);
    }

    #[tokio::test]
    async fn a_clock_without_a_limit_to_serve_keeps_no_time() {
        let clock = RunClock::new(false);
        clock
            .time(async { spin_for(Duration::from_millis(5)) })
            .await;
        assert_eq!(clock.ran(), Duration::ZERO);
    }
}
