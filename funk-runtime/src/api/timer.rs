//! `lunatic::timer`: messages sent after a delay.

use std::time::Duration;

use funk::Trap;

use super::view;

view! {
    /// The `lunatic::timer` block.
    TimerApi
}

#[funk::host_functions(namespace = "lunatic::timer")]
impl TimerApi {
    /// Sends the message in the scratch area to `process_id` after
    /// `duration` milliseconds; returns a timer id for `cancel_timer`.
    fn send_after(&mut self, process_id: u64, duration: u64) -> Result<u64, Trap> {
        let message = self.0.take_message()?;
        let target = self.0.node.process(process_id);
        let state = &mut self.0;
        Ok(state.timers.send_after(
            &state.runtime.handle,
            target,
            message,
            Duration::from_millis(duration),
        ))
    }

    /// Cancels a timer: 1 if it was pending, 0 if it had fired, was
    /// cancelled already or never existed.
    fn cancel_timer(&mut self, timer_id: u64) -> u32 {
        self.0.timers.cancel(timer_id).into()
    }
}
