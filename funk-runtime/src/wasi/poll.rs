//! `poll_oneoff`: waiting for clocks and stdio readiness.
//!
//! The guest passes `nsubscriptions` [`Subscription`]s (`in`) and room for
//! as many [`Event`]s (`out`); [`Poll`] lifts both arrays as one parameter
//! because they share the count. The call returns once at least one
//! subscription has fired, with an event for each that has:
//!
//! - **Clocks**, relative or absolute (`subscription_clock_abstime`), on
//!   `realtime` or `monotonic`, are tokio timers, so a sleeping guest
//!   suspends its call instead of blocking a thread (`std::thread::sleep`
//!   in a Rust guest comes here). The precision is ignored. Other clock
//!   ids fire at once with error `inval`.
//! - **`fd_write` on stdout/stderr** fires at once (writes never wait;
//!   `nbytes` is 0, meaning unknown).
//! - **`fd_read` on stdin** fires when a read would not wait: with the
//!   bytes buffered as `nbytes`, or at the end of input with
//!   `fd_readwrite_hangup`. On the host's stdin this waits for data.
//! - A descriptor that is not open, or a direction the stream does not
//!   support (reading stdout), fires at once with error `badf`; an unknown
//!   event type with `inval`.
//!
//! `nsubscriptions == 0` returns `inval`, as the witx says. A poll with
//! nothing that can ever fire waits until the call is cancelled.

use funk::{GuestError, GuestMemory, GuestView, Lift, LiftAsync};

use super::records::{
    EVENTRWFLAGS_HANGUP, EVENTTYPE_CLOCK, EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE, Event,
    SUBCLOCKFLAGS_ABSTIME, Subscription,
};

/// `(in, out, nsubscriptions)` of `poll_oneoff`: the subscriptions and the
/// room for their events, checked together (bounds, alignment, and `out`
/// overlapping nothing).
#[derive(Debug)]
pub struct Poll<'a> {
    /// What the guest waits for.
    pub subscriptions: &'a [Subscription],
    /// Where the events go; the call fills a prefix and returns its length.
    pub events: &'a mut [Event],
}

/// The copies an async `poll_oneoff` works on, and where the events go.
#[derive(Debug)]
pub struct HeldPoll {
    subscriptions: Vec<Subscription>,
    events: Vec<Event>,
    out: u64,
}

fn in_array(which: &'static str) -> impl FnOnce(GuestError) -> GuestError {
    move |error| GuestError::Custom(format!("{which}: {error}"))
}

impl<'a, S> Lift<'a, S> for Poll<'a> {
    type Abi = (u32, u32, u32);
    const MUTABLE: bool = true;
    fn lift(
        view: &'a GuestView<'_>,
        _: &mut S,
        (input, out, count): (u32, u32, u32),
    ) -> Result<Self, GuestError> {
        let subscriptions = view
            .slice(input.into(), count.into())
            .map_err(in_array("subscriptions `in`"))?;
        let events = view
            .slice_mut(out.into(), count.into())
            .map_err(in_array("events `out`"))?;
        Ok(Poll {
            subscriptions,
            events,
        })
    }
}

impl<'a, S> LiftAsync<'a, S> for Poll<'a> {
    type Held = HeldPoll;

    fn hold(
        view: &GuestView<'_>,
        state: &mut S,
        (input, out, count): (u32, u32, u32),
    ) -> Result<HeldPoll, GuestError> {
        let poll = <Poll<'_> as Lift<'_, S>>::lift(view, state, (input, out, count))?;
        Ok(HeldPoll {
            subscriptions: poll.subscriptions.to_vec(),
            events: poll.events.to_vec(),
            out: out.into(),
        })
    }

    fn lend(held: &'a mut HeldPoll) -> Self {
        Poll {
            subscriptions: &held.subscriptions,
            events: &mut held.events,
        }
    }

    fn write_back(held: HeldPoll, memory: &mut GuestMemory<'_>) -> Result<(), GuestError> {
        let size = std::mem::size_of::<Event>() as u64;
        for (event, at) in held
            .events
            .into_iter()
            .zip((held.out..).step_by(size as usize))
        {
            memory.write(at, event).map_err(in_array("events `out`"))?;
        }
        Ok(())
    }
}

/// What one subscription asks for, once decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// A clock: its id, timeout and whether the timeout is absolute.
    Clock {
        /// Raw clock id.
        id: u32,
        /// Nanoseconds.
        timeout: u64,
        /// `subscription_clock_abstime`.
        absolute: bool,
    },
    /// Readiness of a descriptor for reading.
    Read(u32),
    /// Readiness of a descriptor for writing.
    Write(u32),
    /// An unknown event type.
    Unknown,
}

impl Wanted {
    /// Decodes `subscription`.
    pub fn of(subscription: &Subscription) -> Wanted {
        match subscription.tag {
            EVENTTYPE_CLOCK => Wanted::Clock {
                id: subscription.id_or_fd,
                timeout: subscription.timeout,
                absolute: subscription.flags & SUBCLOCKFLAGS_ABSTIME != 0,
            },
            EVENTTYPE_FD_READ => Wanted::Read(subscription.id_or_fd),
            EVENTTYPE_FD_WRITE => Wanted::Write(subscription.id_or_fd),
            _ => Wanted::Unknown,
        }
    }
}

/// The event for `subscription`: `error` (0 if none), and for fd events
/// the bytes available and whether the stream has ended.
pub fn event(subscription: &Subscription, error: u16, nbytes: u64, ended: bool) -> Event {
    let kind = match subscription.tag {
        EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => subscription.tag,
        _ => EVENTTYPE_CLOCK,
    };
    Event {
        userdata: subscription.userdata,
        error,
        kind,
        nbytes,
        flags: if ended { EVENTRWFLAGS_HANGUP } else { 0 },
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(tag: u8, id_or_fd: u32, timeout: u64, flags: u16) -> Subscription {
        Subscription {
            userdata: 0xfeed,
            tag,
            id_or_fd,
            timeout,
            flags,
            ..Subscription::default()
        }
    }

    #[test]
    fn subscriptions_decode_by_tag() {
        assert_eq!(
            Wanted::of(&subscription(0, 1, 5, 1)),
            Wanted::Clock {
                id: 1,
                timeout: 5,
                absolute: true
            }
        );
        assert_eq!(Wanted::of(&subscription(1, 0, 0, 0)), Wanted::Read(0));
        assert_eq!(Wanted::of(&subscription(2, 1, 0, 0)), Wanted::Write(1));
        assert_eq!(Wanted::of(&subscription(3, 1, 0, 0)), Wanted::Unknown);
        let e = event(&subscription(1, 0, 0, 0), 0, 4, true);
        assert_eq!((e.userdata, e.kind, e.nbytes, e.flags), (0xfeed, 1, 4, 1));
        assert_eq!(event(&subscription(9, 0, 0, 0), 28, 0, false).kind, 0);
    }

    #[test]
    fn the_two_arrays_are_checked_and_the_events_written_back() {
        let mut words = vec![0u64; 64];
        let mut memory = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let mut held = {
            let view = memory.view(true);
            // `out` overlapping `in` is refused.
            let err = <Poll<'_> as LiftAsync<'_, ()>>::hold(&view, &mut (), (0, 40, 1));
            assert!(
                err.unwrap_err()
                    .to_string()
                    .starts_with("events `out`: region")
            );
            let err = <Poll<'_> as LiftAsync<'_, ()>>::hold(&view, &mut (), (4, 64, 1));
            assert_eq!(
                err.unwrap_err().to_string(),
                "subscriptions `in`: pointer 0x4 is not aligned to 8 bytes"
            );
            <Poll<'_> as LiftAsync<'_, ()>>::hold(&view, &mut (), (0, 96, 2)).unwrap()
        };
        let poll = <Poll<'_> as LiftAsync<'_, ()>>::lend(&mut held);
        assert_eq!(poll.subscriptions.len(), 2);
        poll.events[1].userdata = 7;
        <Poll<'_> as LiftAsync<'_, ()>>::write_back(held, &mut memory).unwrap();
        assert_eq!(memory.read::<u64>(96 + 32), Ok(7));
    }
}
