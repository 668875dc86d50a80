//! Clocks: `clock_res_get`, `clock_time_get`, and the deadlines of
//! `poll_oneoff` clock subscriptions.
//!
//! - `realtime` (id 0): the host's wall clock, nanoseconds since
//!   1970-01-01T00:00:00Z.
//! - `monotonic` (id 1): nanoseconds since the process's [`Wasi`](super::Wasi)
//!   state was created, read from tokio's clock (so `tokio::time::pause`
//!   moves it, and sleeps in `poll_oneoff` agree with it).
//! - `process_cputime_id` (2) and `thread_cputime_id` (3): not provided.
//!   Processes share the executor's OS threads, so the host cannot measure
//!   one process's CPU time; the witx says to return `inval` for
//!   unsupported clocks, and that is what they (and unknown ids) return.
//!
//! Both clocks report a resolution of 1 ns (what Linux reports for
//! `CLOCK_REALTIME` and `CLOCK_MONOTONIC`).

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::Errno;

/// A clock the guest may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockId {
    /// Wall-clock time.
    Realtime,
    /// Time since the process started, never going back.
    Monotonic,
}

impl ClockId {
    /// The clock with WASI id `id`; `inval` for the CPU-time clocks and
    /// unknown ids.
    pub fn from_raw(id: u32) -> Result<ClockId, Errno> {
        match id {
            0 => Ok(ClockId::Realtime),
            1 => Ok(ClockId::Monotonic),
            _ => Err(Errno::Inval),
        }
    }
}

/// The clocks of one process: the monotonic clock's epoch.
#[derive(Clone, Copy, Debug)]
pub struct Clocks {
    epoch: Instant,
}

impl Clocks {
    /// Clocks whose monotonic time starts at 0 now.
    pub fn new() -> Clocks {
        Clocks {
            epoch: Instant::now(),
        }
    }

    /// The resolution of `clock`, in nanoseconds.
    pub fn resolution(&self, _clock: ClockId) -> u64 {
        1
    }

    /// The time of `clock` now, in nanoseconds; `overflow` for a wall
    /// clock before 1970 or past the year 2554.
    pub fn now(&self, clock: ClockId) -> Result<u64, Errno> {
        match clock {
            ClockId::Realtime => {
                let since = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_err(|_| Errno::Overflow)?;
                u64::try_from(since.as_nanos()).map_err(|_| Errno::Overflow)
            }
            ClockId::Monotonic => Ok(nanos(self.epoch.elapsed())),
        }
    }

    /// When a clock subscription for `timeout` ns fires, as a tokio
    /// instant: relative to `now` (when the poll started), or (`absolute`)
    /// a time of `clock`. `None` means never (beyond what an `Instant` can
    /// hold).
    pub fn deadline(
        &self,
        clock: ClockId,
        timeout: u64,
        absolute: bool,
        now: Instant,
    ) -> Option<Instant> {
        let wait = match (absolute, clock) {
            (false, _) => Duration::from_nanos(timeout),
            (true, ClockId::Monotonic) => {
                return self.epoch.checked_add(Duration::from_nanos(timeout));
            }
            (true, ClockId::Realtime) => {
                let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_nanos(timeout))?;
                // A time already past fires at once.
                at.duration_since(SystemTime::now()).unwrap_or_default()
            }
        };
        now.checked_add(wait)
    }
}

impl Default for Clocks {
    fn default() -> Self {
        Clocks::new()
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_realtime_and_monotonic_exist() {
        assert_eq!(ClockId::from_raw(0), Ok(ClockId::Realtime));
        assert_eq!(ClockId::from_raw(1), Ok(ClockId::Monotonic));
        for id in [2, 3, 4, u32::MAX] {
            assert_eq!(ClockId::from_raw(id), Err(Errno::Inval));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn monotonic_time_and_deadlines_follow_tokio_time() {
        let clocks = Clocks::new();
        assert_eq!(clocks.now(ClockId::Monotonic), Ok(0));
        tokio::time::advance(Duration::from_millis(5)).await;
        assert_eq!(clocks.now(ClockId::Monotonic), Ok(5_000_000));
        let start = Instant::now();
        // Absolute 8 ms is 3 ms from now; relative 8 ms is 8 ms from now.
        let absolute = clocks
            .deadline(ClockId::Monotonic, 8_000_000, true, start)
            .unwrap();
        assert_eq!(absolute - start, Duration::from_millis(3));
        let relative = clocks
            .deadline(ClockId::Monotonic, 8_000_000, false, start)
            .unwrap();
        assert_eq!(relative - start, Duration::from_millis(8));
        // A wall-clock time in the past fires at once; u64::MAX ns from now
        // does not fit an `Instant` on every platform, but never panics.
        let past = clocks.deadline(ClockId::Realtime, 1, true, start).unwrap();
        assert_eq!(past, start);
        let _ = clocks.deadline(ClockId::Monotonic, u64::MAX, false, start);
    }

    #[test]
    fn realtime_is_after_2020() {
        let clocks = Clocks::new();
        assert!(clocks.now(ClockId::Realtime).unwrap() > 1_577_836_800_000_000_000);
        assert_eq!(clocks.resolution(ClockId::Realtime), 1);
    }
}
