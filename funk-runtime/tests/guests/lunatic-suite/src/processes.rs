//! Spawning, joining, the registry, process-local state, catch_panic.

use std::cell::RefCell;
use std::time::Duration;

use lunatic::{process_local, spawn_link, Mailbox, Process};

#[lunatic::test]
fn spawn_and_join(m: Mailbox<u32>) {
    Process::spawn(m.this(), |parent, _: Mailbox<()>| parent.send(7));
    assert_eq!(m.receive(), 7);
}

#[lunatic::test]
fn a_hundred_children_each_answer_once(m: Mailbox<u64>) {
    for i in 0..100u64 {
        Process::spawn((m.this(), i), |(parent, i), _: Mailbox<()>| parent.send(i));
    }
    let total: u64 = (0..100).map(|_| m.receive()).sum();
    assert_eq!(total, (0..100).sum());
}

#[lunatic::test]
fn a_task_returns_its_result() {
    let task = spawn_link!(@task |x = 20| x * 2 + 2);
    assert_eq!(task.result(), 42);
}

#[lunatic::test]
fn is_alive_follows_the_process() {
    let child = Process::spawn((), |_, m: Mailbox<()>| m.receive());
    assert!(child.is_alive());
    child.send(());
    for _ in 0..200 {
        if !child.is_alive() {
            return;
        }
        lunatic::sleep(Duration::from_millis(5));
    }
    panic!("the child never exited");
}

#[lunatic::test]
fn the_registry_finds_registered_processes(m: Mailbox<i32>) {
    m.this().register(&"suite-parent");
    spawn_link!(|| {
        let parent = Process::<i32>::lookup(&"suite-parent").expect("registered");
        parent.send(1337);
    });
    assert_eq!(m.receive(), 1337);
    // The guest crate's registry is typed: the same name under another
    // message type is another entry.
    assert!(Process::<String>::lookup(&"suite-parent").is_none());
    assert!(Process::<i32>::lookup(&"nobody").is_none());
}

#[lunatic::test]
fn process_locals_are_per_process() {
    process_local!(static COUNT: RefCell<u32> = RefCell::new(1));
    COUNT.with_borrow_mut(|mut c| *c = 2);
    let child = spawn_link!(@task || COUNT.with_borrow(|c| *c));
    assert_eq!(child.result(), 1);
    COUNT.with_borrow(|c| assert_eq!(*c, 2));
}

#[lunatic::test]
fn catch_panic_catches_and_the_process_goes_on() {
    assert!(lunatic::panic::catch_panic(|| panic!("inside")).is_err());
    let text = String::from("kept");
    assert_eq!(lunatic::panic::catch_panic(|| text).unwrap(), "kept");
    // Nested catches and more work afterwards.
    let nested = lunatic::panic::catch_panic(|| {
        lunatic::panic::catch_panic(|| panic!("inner")).is_err()
    });
    assert_eq!(nested, Ok(true));
    let task = spawn_link!(@task |x = 1| x + 1);
    assert_eq!(task.result(), 2);
}

#[lunatic::test]
#[should_panic(expected = "with a message")]
fn a_panic_with_a_message_is_reported() {
    panic!("failing with a message");
}
