//! Links and monitors.

use std::time::Duration;

use lunatic::{Mailbox, MailboxError, Process, Tag};
use lunatic::{MessageSignal, Signal};

#[lunatic::test]
#[should_panic]
fn a_failing_linked_child_kills_the_parent() {
    Process::spawn_link((), |_, _: Mailbox<()>| panic!("child fails"));
    lunatic::sleep(Duration::from_millis(500));
}

#[lunatic::test]
fn a_normal_exit_does_not_kill_the_parent() {
    Process::spawn_link((), |_, _: Mailbox<()>| {});
    lunatic::sleep(Duration::from_millis(50));
}

#[lunatic::test]
fn an_unlinked_failing_child_does_not_kill_the_parent() {
    Process::spawn((), |_, _: Mailbox<()>| panic!("child fails alone"));
    lunatic::sleep(Duration::from_millis(50));
}

#[lunatic::test]
fn trapping_link_deaths_delivers_the_tag(m: Mailbox<()>) {
    let m = m.catch_link_failure();
    let tag = Tag::new();
    Process::spawn_link_tag((), tag, |_, _: Mailbox<()>| panic!("child fails"));
    match m.receive() {
        MessageSignal::Signal(lunatic::LinkDiedSignal(died)) => assert_eq!(died, tag),
        MessageSignal::Message(()) => panic!("expected a link death"),
    }
}

#[lunatic::test]
fn a_kill_propagates_to_links_as_a_failure(m: Mailbox<()>) {
    let m = m.catch_link_failure();
    let tag = Tag::new();
    let child = Process::spawn_link_tag((), tag, |_, m: Mailbox<()>| m.receive());
    child.kill();
    match m.receive_timeout(Duration::from_secs(5)) {
        Ok(MessageSignal::Signal(lunatic::LinkDiedSignal(died))) => assert_eq!(died, tag),
        Ok(MessageSignal::Message(())) => panic!("expected a link death"),
        Err(error) => panic!("no link death: {error}"),
    }
}

#[lunatic::test]
fn a_kill_stops_a_process_sleeping_in_wasi(m: Mailbox<()>) {
    let m = m.catch_link_failure();
    let tag = Tag::new();
    // `std::thread::sleep` is WASI's `poll_oneoff`, not a lunatic call.
    let child = Process::spawn_link_tag((), tag, |_, _: Mailbox<()>| {
        std::thread::sleep(Duration::from_secs(3600));
    });
    lunatic::sleep(Duration::from_millis(20));
    child.kill();
    match m.receive_timeout(Duration::from_secs(5)) {
        Ok(MessageSignal::Signal(lunatic::LinkDiedSignal(died))) => assert_eq!(died, tag),
        _ => panic!("the sleeping child was not stopped"),
    }
}

#[lunatic::test]
fn links_are_transitive_through_failures(m: Mailbox<()>) {
    let m = m.catch_link_failure();
    let tag = Tag::new();
    // The middle process is linked to a grandchild that fails; it dies
    // with it, and this process learns of the middle one's death.
    Process::spawn_link_tag((), tag, |_, _: Mailbox<()>| {
        Process::spawn_link((), |_, _: Mailbox<()>| panic!("grandchild fails"));
        lunatic::sleep(Duration::from_secs(5));
    });
    match m.receive_timeout(Duration::from_secs(5)) {
        Ok(MessageSignal::Signal(lunatic::LinkDiedSignal(died))) => assert_eq!(died, tag),
        other => panic!("expected the middle process's death, got {:?}", other.is_ok()),
    }
}

#[lunatic::test]
fn monitors_see_every_death_and_never_die(m: Mailbox<()>) {
    let m = m.monitorable();
    let normal = Process::spawn((), |_, m: Mailbox<()>| m.receive());
    let failing = Process::spawn((), |_, m: Mailbox<()>| {
        m.receive();
        panic!("monitored failure");
    });
    m.monitor(normal);
    m.monitor(failing);
    normal.send(());
    failing.send(());
    let mut dead = Vec::new();
    for _ in 0..2 {
        match m.receive() {
            MessageSignal::Signal(lunatic::ProcessDiedSignal(id)) => dead.push(id),
            MessageSignal::Message(()) => panic!("expected a death"),
        }
    }
    dead.sort();
    let mut expected = vec![normal.id(), failing.id()];
    expected.sort();
    assert_eq!(dead, expected);
}

#[lunatic::test]
fn stop_monitoring_silences_a_death(m: Mailbox<()>) {
    let m = m.monitorable();
    let child = Process::spawn((), |_, m: Mailbox<()>| m.receive());
    m.monitor(child);
    m.stop_monitoring(child);
    child.send(());
    assert!(matches!(
        m.receive_timeout(Duration::from_millis(50)),
        Err(MailboxError::TimedOut)
    ));
}

#[lunatic::test]
fn linking_to_an_exited_process_is_a_link_death(m: Mailbox<()>) {
    let m = m.catch_link_failure();
    let child = Process::spawn((), |_, _: Mailbox<()>| {});
    while child.is_alive() {
        lunatic::sleep(Duration::from_millis(1));
    }
    child.link();
    assert!(matches!(
        m.receive_timeout(Duration::from_secs(1)),
        Ok(MessageSignal::Signal(_))
    ));
    // Signals a crate user can match on.
    let _: Option<Signal> = None;
}
