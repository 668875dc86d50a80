//! Tagged messages, timeouts, request/response, timers, protocols.

use std::time::Duration;

use lunatic::protocol::{End, Protocol, Recv, Send};
use lunatic::{Mailbox, Process, Tag};

#[lunatic::test]
fn tagged_receive_is_selective_and_fifo_among_matches(m: Mailbox<u32>) {
    let (a, b) = (Tag::new(), Tag::new());
    let me = m.this();
    me.tag_send(a, 1);
    me.tag_send(b, 2);
    me.tag_send(a, 3);
    me.send(4);
    assert_eq!(m.tag_receive(&[b]), 2);
    assert_eq!(m.tag_receive(&[a, b]), 1);
    assert_eq!(m.tag_receive(&[a]), 3);
    // An untagged message is only taken by an open receive.
    assert!(m.tag_receive_timeout(&[a, b], Duration::from_millis(10)).is_err());
    assert_eq!(m.receive(), 4);
}

#[lunatic::test]
fn receive_times_out(m: Mailbox<u32>) {
    let error = m.receive_timeout(Duration::from_millis(20)).unwrap_err();
    assert!(error.is_timed_out());
}

#[lunatic::test]
fn order_per_sender_is_kept(m: Mailbox<(u32, u32)>) {
    for sender in 0..4u32 {
        Process::spawn((m.this(), sender), |(parent, sender), _: Mailbox<()>| {
            for i in 0..50 {
                parent.send((sender, i));
            }
        });
    }
    let mut next = [0u32; 4];
    for _ in 0..200 {
        let (sender, i) = m.receive();
        assert_eq!(next[sender as usize], i, "sender {sender} out of order");
        next[sender as usize] += 1;
    }
}

#[lunatic::test]
fn request_and_response_by_tag(m: Mailbox<u64>) {
    let server = Process::spawn((), |_, requests: Mailbox<(Process<u64>, Tag, u64)>| loop {
        let (client, tag, n) = requests.receive();
        client.tag_send(tag, n * n);
    });
    for n in 1..=10u64 {
        let tag = Tag::new();
        server.send((m.this(), tag, n));
        assert_eq!(m.tag_receive(&[tag]), n * n);
    }
}

#[lunatic::test]
fn send_after_delivers_and_cancel_prevents(m: Mailbox<u32>) {
    let me = m.this();
    let cancelled = me.send_after(1, Duration::from_millis(30));
    me.send_after(2, Duration::from_millis(10));
    cancelled.cancel();
    assert_eq!(m.receive(), 2);
    assert!(m.receive_timeout(Duration::from_millis(60)).is_err());
}

#[lunatic::test]
fn a_protocol_runs_to_its_end() {
    let protocol = Process::spawn_link((), |_, proto: Protocol<Recv<Vec<u32>, Send<u32, End>>>| {
        let (proto, numbers) = proto.receive();
        let _ = proto.send(numbers.iter().sum());
    });
    let protocol = protocol.send(vec![1, 2, 3, 4]);
    let (_, sum) = protocol.receive();
    assert_eq!(sum, 10);
}
