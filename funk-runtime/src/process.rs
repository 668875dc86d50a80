//! Processes: the shared half of a running process and the signals between
//! processes.
//!
//! A process is one guest instance running as a future on the executor.
//! What other processes can do to it lives here, in [`Process`], behind one
//! short lock: queue a message, kill it, link to it, monitor it. Nothing
//! here waits: a signal takes effect under the lock and wakes the process
//! if it is waiting for one.
//!
//! - **Links** are symmetric. When a linked process *fails* (traps, panics,
//!   is killed), each partner dies too, unless it traps link deaths
//!   (`die_when_link_dies(0)`), in which case it receives a
//!   [`Message::LinkDied`] with the link's tag. A normal exit breaks the
//!   link silently. Linking to a process that no longer exists counts as a
//!   failure of that process.
//! - **Monitors** are one-way and never kill: when a monitored process dies
//!   for any reason, each monitor receives [`Message::ProcessDied`]. Asking
//!   to monitor a process that no longer exists delivers that message at
//!   once (as Erlang does; Lunatic 0.13 delivered nothing).
//! - **Kill** marks the process; it stops at its next suspension point (a
//!   host call that waits, or a preemption yield) and counts as a failure.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::mailbox::{Filter, Mailbox};
use crate::message::Message;

/// A process id, unique within a [`Node`](crate::node::Node).
pub type ProcessId = u64;

/// How a process ended, as its links see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeathReason {
    /// It returned (or called `proc_exit(0)`).
    Normal,
    /// It trapped, exited with a non-zero code, was killed or died with a
    /// linked process.
    Failure,
    /// It did not exist when it was linked to.
    NoProcess,
}

impl DeathReason {
    fn kills_links(self) -> bool {
        !matches!(self, DeathReason::Normal)
    }
}

/// Why a process was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillCause {
    /// `kill` was called on it.
    Killed,
    /// A linked process failed.
    LinkFailed {
        /// The process that failed.
        peer: ProcessId,
    },
}

/// The shared half of a process: what other processes and the runtime can
/// reach. Cheap to clone through `Arc`.
pub struct Process {
    id: ProcessId,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process").field("id", &self.id).finish()
    }
}

#[derive(Default)]
struct Inner {
    alive: bool,
    mailbox: Mailbox,
    /// The receive the process is blocked in, if any.
    receiving: Option<Waiting>,
    /// Wakes the task driving the process (to notice a kill).
    driver: Option<Waker>,
    kill: Option<KillCause>,
    /// Partner id -> the partner and the tag it is told when this process dies.
    links: HashMap<ProcessId, Link>,
    /// Who is told when this process dies.
    monitors: HashMap<ProcessId, Arc<Process>>,
    /// Whether a failing link kills this process (the default) or arrives
    /// as a message.
    trap_link_deaths: bool,
}

struct Link {
    peer: Arc<Process>,
    tag: Option<i64>,
}

struct Waiting {
    filter: Filter,
    /// Messages before this position were looked at already (or skipped).
    scanned: usize,
    waker: Option<Waker>,
}

impl Process {
    /// A new, live process with an empty mailbox.
    pub(crate) fn new(id: ProcessId) -> Arc<Self> {
        Arc::new(Process {
            id,
            inner: Mutex::new(Inner {
                alive: true,
                ..Inner::default()
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; a poisoned lock still
        // holds consistent state.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Its id.
    pub fn id(&self) -> ProcessId {
        self.id
    }

    /// Whether it is still running.
    pub fn is_alive(&self) -> bool {
        self.lock().alive
    }

    /// Queues `message`, waking the process if it waits for one like it.
    /// A message to a dead process is dropped.
    pub fn send(&self, message: Message) {
        let mut inner = self.lock();
        if !inner.alive {
            drop(inner);
            drop(message);
            return;
        }
        let wake = match &mut inner.receiving {
            Some(waiting) if waiting.filter.matches(&message) => waiting.waker.take(),
            _ => None,
        };
        inner.mailbox.push(message);
        drop(inner);
        if let Some(waker) = wake {
            waker.wake();
        }
    }

    /// Number of messages waiting.
    pub fn queued(&self) -> usize {
        self.lock().mailbox.len()
    }

    /// Stops the process at its next suspension point.
    pub fn kill(&self) {
        self.stop(KillCause::Killed);
    }

    fn stop(&self, cause: KillCause) {
        let mut inner = self.lock();
        if !inner.alive || inner.kill.is_some() {
            return;
        }
        inner.kill = Some(cause);
        let driver = inner.driver.take();
        let receiver = inner.receiving.as_mut().and_then(|w| w.waker.take());
        drop(inner);
        for waker in [driver, receiver].into_iter().flatten() {
            waker.wake();
        }
    }

    /// Whether it was asked to stop (killed, or a linked process failed).
    pub(crate) fn is_killed(&self) -> bool {
        self.lock().kill.is_some()
    }

    /// Whether a failing link arrives as a message (`true`) or kills this
    /// process (`false`, the default).
    pub(crate) fn trap_link_deaths(&self, trap: bool) {
        self.lock().trap_link_deaths = trap;
    }

    /// The kill request, if any; registers `waker` to hear of one.
    pub(crate) fn poll_kill(&self, waker: &Waker) -> Option<KillCause> {
        let mut inner = self.lock();
        if inner.kill.is_none() {
            match &inner.driver {
                Some(current) if current.will_wake(waker) => {}
                _ => inner.driver = Some(waker.clone()),
            }
        }
        inner.kill
    }

    /// Waits for the first message `filter` accepts, or `timeout`. With
    /// `skip_queued`, messages already queued are not considered.
    pub(crate) fn receive(
        self: &Arc<Self>,
        filter: Filter,
        skip_queued: bool,
        timeout: Option<Duration>,
    ) -> Receive {
        let mut inner = self.lock();
        let scanned = if skip_queued { inner.mailbox.len() } else { 0 };
        inner.receiving = Some(Waiting {
            filter,
            scanned,
            waker: None,
        });
        drop(inner);
        Receive {
            process: self.clone(),
            deadline: timeout.map(|t| Box::pin(tokio::time::sleep(t))),
            done: false,
        }
    }

    /// Records a link to `peer`; `tag` is what `peer` is told when this
    /// process dies. `false` if this process is dead.
    fn add_link(&self, peer: &Arc<Process>, tag: Option<i64>) -> bool {
        let mut inner = self.lock();
        if !inner.alive {
            return false;
        }
        inner.links.insert(
            peer.id,
            Link {
                peer: peer.clone(),
                tag,
            },
        );
        true
    }

    fn remove_link(&self, peer: ProcessId) -> Option<Arc<Process>> {
        self.lock().links.remove(&peer).map(|link| link.peer)
    }

    /// A linked process died: die too, receive a message, or (normal exit)
    /// just forget the link.
    fn link_died(&self, peer: ProcessId, tag: Option<i64>, reason: DeathReason) {
        let mut inner = self.lock();
        inner.links.remove(&peer);
        if !inner.alive || !reason.kills_links() {
            return;
        }
        if inner.trap_link_deaths {
            drop(inner);
            self.send(Message::LinkDied(tag));
        } else {
            drop(inner);
            self.stop(KillCause::LinkFailed { peer });
        }
    }

    fn add_monitor(&self, watcher: &Arc<Process>) -> bool {
        let mut inner = self.lock();
        if !inner.alive {
            return false;
        }
        inner.monitors.insert(watcher.id, watcher.clone());
        true
    }

    fn remove_monitor(&self, watcher: ProcessId) {
        self.lock().monitors.remove(&watcher);
    }

    /// Marks the process dead and tells its links and monitors. Queued
    /// messages are dropped. Returns `false` if it was dead already.
    pub(crate) fn exit(&self, reason: DeathReason) -> bool {
        let mut inner = self.lock();
        if !inner.alive {
            return false;
        }
        inner.alive = false;
        let links = std::mem::take(&mut inner.links);
        let monitors = std::mem::take(&mut inner.monitors);
        let messages = inner.mailbox.clear();
        inner.receiving = None;
        inner.driver = None;
        drop(inner);
        drop(messages);
        for (_, link) in links {
            link.peer.link_died(self.id, link.tag, reason);
        }
        for (_, watcher) in monitors {
            watcher.send(Message::ProcessDied(self.id));
        }
        true
    }
}

/// Links `a` and `b` both ways with `tag`, as `lunatic::process::link`
/// does. If `b` is dead, `a` learns it as a failed link.
pub(crate) fn link(a: &Arc<Process>, b: Option<&Arc<Process>>, b_id: ProcessId, tag: Option<i64>) {
    match b {
        Some(b) if b.add_link(a, tag) => {
            if !a.add_link(b, tag) {
                // `a` died meanwhile; undo so `b` does not hold it.
                b.remove_link(a.id);
            }
        }
        _ => a.link_died(b_id, tag, DeathReason::NoProcess),
    }
}

/// Links a freshly spawned `child` to its `parent`, before the child runs:
/// the parent is told `tag` when the child dies; the child is told no tag.
pub(crate) fn link_child(parent: &Arc<Process>, child: &Arc<Process>, tag: Option<i64>) {
    child.add_link(parent, tag);
    if !parent.add_link(child, None) {
        child.remove_link(parent.id);
    }
}

/// Removes the link between `a` and `b` (if any) on both sides.
pub(crate) fn unlink(a: &Arc<Process>, b: ProcessId) {
    if let Some(peer) = a.remove_link(b) {
        peer.remove_link(a.id);
    }
}

/// `watcher` hears when `target` dies; if it is dead already, at once.
pub(crate) fn monitor(watcher: &Arc<Process>, target: Option<&Arc<Process>>, target_id: ProcessId) {
    let watching = target.is_some_and(|t| t.add_monitor(watcher));
    if !watching {
        watcher.send(Message::ProcessDied(target_id));
    }
}

/// `watcher` no longer hears about `target`.
pub(crate) fn stop_monitoring(watcher: &Arc<Process>, target: Option<&Arc<Process>>) {
    if let Some(target) = target {
        target.remove_monitor(watcher.id);
    }
}

/// The future of [`Process::receive`]: the first accepted message, or
/// `None` on timeout. Cancellation-safe: a message leaves the mailbox only
/// in the poll that returns it.
pub(crate) struct Receive {
    process: Arc<Process>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    done: bool,
}

impl Future for Receive {
    type Output = Option<Message>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let this = &mut *self;
        let mut inner = this.process.lock();
        let Inner {
            mailbox, receiving, ..
        } = &mut *inner;
        let Some(waiting) = receiving.as_mut() else {
            // The process died (its mailbox is gone); nothing will come.
            this.done = true;
            return Poll::Ready(None);
        };
        if let Some(message) = mailbox.take_first(&waiting.filter, waiting.scanned) {
            *receiving = None;
            this.done = true;
            return Poll::Ready(Some(message));
        }
        waiting.scanned = mailbox.len();
        match &waiting.waker {
            Some(current) if current.will_wake(cx.waker()) => {}
            _ => waiting.waker = Some(cx.waker().clone()),
        }
        drop(inner);
        if let Some(deadline) = &mut this.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            this.process.lock().receiving = None;
            this.done = true;
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

impl Drop for Receive {
    fn drop(&mut self) {
        if !self.done {
            self.process.lock().receiving = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::DataMessage;

    fn data(tag: i64) -> Message {
        Message::Data(DataMessage::new(tag, 0))
    }

    #[tokio::test(start_paused = true)]
    async fn receive_waits_for_a_matching_message() {
        let p = Process::new(1);
        p.send(data(5));
        let waiter = {
            let p = p.clone();
            tokio::spawn(async move { p.receive(Filter::tags(vec![7]), false, None).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        p.send(data(7));
        let got = waiter.await.unwrap().unwrap();
        assert_eq!(got.tag(), Some(7));
        assert_eq!(p.queued(), 1, "the non-matching message stays queued");
    }

    #[tokio::test(start_paused = true)]
    async fn receive_times_out_and_a_cancelled_receive_loses_nothing() {
        let p = Process::new(1);
        let start = tokio::time::Instant::now();
        let got = p
            .receive(Filter::any(), false, Some(Duration::from_millis(50)))
            .await;
        assert!(got.is_none());
        assert_eq!(start.elapsed(), Duration::from_millis(50));
        // Cancel a receive, then send: the message waits for the next one.
        drop(p.receive(Filter::any(), false, None));
        p.send(data(1));
        let next = p.receive(Filter::any(), false, None).await;
        assert_eq!(next.unwrap().tag(), Some(1));
    }

    #[tokio::test(start_paused = true)]
    async fn skip_queued_only_sees_later_messages() {
        let p = Process::new(1);
        p.send(data(3));
        let receive = p.receive(Filter::tags(vec![3]), true, Some(Duration::from_millis(1)));
        assert!(receive.await.is_none());
        let receive = p.receive(Filter::tags(vec![3]), true, None);
        p.send(data(3));
        assert!(receive.await.is_some());
        assert_eq!(p.queued(), 1);
    }

    #[test]
    fn failing_link_kills_partner_unless_it_traps_link_deaths() {
        let a = Process::new(1);
        let b = Process::new(2);
        let c = Process::new(3);
        link(&a, Some(&b), 2, Some(10));
        link(&c, Some(&b), 2, Some(11));
        c.trap_link_deaths(true);
        assert!(b.exit(DeathReason::Failure));
        assert_eq!(a.lock().kill, Some(KillCause::LinkFailed { peer: 2 }));
        assert_eq!(c.lock().kill, None);
        let message = c.lock().mailbox.take_first(&Filter::any(), 0).unwrap();
        assert!(matches!(message, Message::LinkDied(Some(11))));
        assert!(a.lock().links.is_empty() && c.lock().links.is_empty());
    }

    #[test]
    fn normal_exit_breaks_links_silently() {
        let a = Process::new(1);
        let b = Process::new(2);
        link(&a, Some(&b), 2, None);
        b.exit(DeathReason::Normal);
        let inner = a.lock();
        assert_eq!(inner.kill, None);
        assert!(inner.mailbox.is_empty() && inner.links.is_empty());
    }

    #[test]
    fn linking_to_a_dead_process_is_a_failed_link() {
        let a = Process::new(1);
        let b = Process::new(2);
        b.exit(DeathReason::Normal);
        a.trap_link_deaths(true);
        link(&a, Some(&b), 2, Some(4));
        link(&a, None, 99, None);
        let mut inner = a.lock();
        assert!(matches!(
            inner.mailbox.take_first(&Filter::any(), 0),
            Some(Message::LinkDied(Some(4)))
        ));
        assert!(matches!(
            inner.mailbox.take_first(&Filter::any(), 0),
            Some(Message::LinkDied(None))
        ));
    }

    #[test]
    fn a_child_linked_at_spawn_reports_the_tag_to_its_parent() {
        let parent = Process::new(1);
        let child = Process::new(2);
        parent.trap_link_deaths(true);
        link_child(&parent, &child, Some(42));
        child.exit(DeathReason::Failure);
        let message = parent.lock().mailbox.take_first(&Filter::any(), 0);
        assert!(matches!(message, Some(Message::LinkDied(Some(42)))));
        // And the parent's failure kills the child without a tag.
        let child = Process::new(3);
        link_child(&parent, &child, Some(1));
        parent.exit(DeathReason::Failure);
        assert_eq!(child.lock().kill, Some(KillCause::LinkFailed { peer: 1 }));
    }

    #[test]
    fn unlink_removes_both_sides() {
        let a = Process::new(1);
        let b = Process::new(2);
        link(&a, Some(&b), 2, None);
        unlink(&b, 1);
        assert!(a.lock().links.is_empty() && b.lock().links.is_empty());
        b.exit(DeathReason::Failure);
        assert_eq!(a.lock().kill, None);
    }

    #[test]
    fn monitors_hear_every_death_and_never_die() {
        let watcher = Process::new(1);
        let target = Process::new(2);
        monitor(&watcher, Some(&target), 2);
        target.exit(DeathReason::Failure);
        monitor(&watcher, Some(&target), 2);
        monitor(&watcher, None, 77);
        let mut inner = watcher.lock();
        assert_eq!(inner.kill, None);
        for id in [2, 2, 77] {
            match inner.mailbox.take_first(&Filter::any(), 0) {
                Some(Message::ProcessDied(dead)) => assert_eq!(dead, id),
                other => panic!("expected ProcessDied({id}), got {other:?}"),
            }
        }
    }

    #[test]
    fn stop_monitoring_silences_the_death() {
        let watcher = Process::new(1);
        let target = Process::new(2);
        monitor(&watcher, Some(&target), 2);
        stop_monitoring(&watcher, Some(&target));
        target.exit(DeathReason::Normal);
        assert!(watcher.lock().mailbox.is_empty());
    }

    #[test]
    fn messages_to_the_dead_are_dropped_and_kill_is_idempotent() {
        let p = Process::new(1);
        p.kill();
        p.kill();
        assert_eq!(p.lock().kill, Some(KillCause::Killed));
        p.exit(DeathReason::Failure);
        p.send(data(1));
        assert_eq!(p.queued(), 0);
        assert!(!p.exit(DeathReason::Failure));
    }
}
