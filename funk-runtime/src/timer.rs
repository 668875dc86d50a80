//! Timers: messages delivered after a delay (`lunatic::timer`).
//!
//! `send_after` hands the message to a task that sleeps and then delivers
//! it; the returned id lets the sender cancel it while it is pending. A
//! timer outlives the process that set it (its message is still delivered,
//! as in Lunatic); it is only cancelled on request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::message::Message;
use crate::process::Process;

/// The pending timers one process has set.
#[derive(Debug, Default)]
pub struct Timers {
    next: u64,
    pending: HashMap<u64, JoinHandle<()>>,
    /// The size at which finished timers are next swept out.
    sweep_at: usize,
}

const FIRST_SWEEP: usize = 64;

impl Timers {
    /// Delivers `message` to `target` after `delay` (to nobody if `target`
    /// is `None` or dead by then); returns the timer's id.
    pub fn send_after(
        &mut self,
        runtime: &Handle,
        target: Option<Arc<Process>>,
        message: Message,
        delay: Duration,
    ) -> u64 {
        self.sweep();
        let task = runtime.spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(target) = target {
                target.send(message);
            }
        });
        self.next += 1;
        self.pending.insert(self.next, task);
        self.next
    }

    /// Cancels timer `id`: `true` if it was pending, `false` if it fired
    /// already, was cancelled before, or never existed.
    pub fn cancel(&mut self, id: u64) -> bool {
        match self.pending.remove(&id) {
            Some(task) if !task.is_finished() => {
                task.abort();
                true
            }
            _ => false,
        }
    }

    /// Forgets fired timers once enough have accumulated, so a process that
    /// sets many timers keeps a table the size of its pending ones.
    fn sweep(&mut self) {
        if self.pending.len() < self.sweep_at.max(FIRST_SWEEP) {
            return;
        }
        self.pending.retain(|_, task| !task.is_finished());
        self.sweep_at = self.pending.len() * 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::Filter;
    use crate::message::DataMessage;

    fn message() -> Message {
        Message::Data(DataMessage::new(1, 0))
    }

    #[tokio::test(start_paused = true)]
    async fn a_timer_delivers_after_its_delay_and_can_be_cancelled_before() {
        let target = Process::new(1);
        let mut timers = Timers::default();
        let handle = Handle::current();
        let fired = timers.send_after(
            &handle,
            Some(target.clone()),
            message(),
            Duration::from_millis(20),
        );
        let cancelled = timers.send_after(
            &handle,
            Some(target.clone()),
            message(),
            Duration::from_millis(20),
        );
        assert!(timers.cancel(cancelled));
        assert!(!timers.cancel(cancelled), "a timer is cancelled once");
        let start = tokio::time::Instant::now();
        let got = target.receive(Filter::any(), false, None).await;
        assert!(got.is_some());
        assert_eq!(start.elapsed(), Duration::from_millis(20));
        tokio::task::yield_now().await;
        assert!(!timers.cancel(fired), "a fired timer cannot be cancelled");
        assert!(!timers.cancel(12345));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(target.queued(), 0, "the cancelled message never came");
    }

    #[tokio::test(start_paused = true)]
    async fn fired_timers_are_swept() {
        let mut timers = Timers::default();
        let handle = Handle::current();
        for _ in 0..1000 {
            timers.send_after(&handle, None, message(), Duration::ZERO);
            tokio::task::yield_now().await;
        }
        assert!(timers.pending.len() < 200, "{} kept", timers.pending.len());
    }
}
