//! Runtime benchmark scenarios. `lunatic-bench <scenario> [n]` runs one and
//! prints `result <scenario> <ns per operation> <check>` lines; the check
//! is a count the host verifies (every message accounted for).

use std::time::Instant;

use lunatic::{Mailbox, Process};

#[link(wasm_import_module = "bench")]
extern "C" {
    /// Tells the host the scenario reached its measuring point; returns
    /// when the host says go on.
    fn ready();
}

fn arg(i: usize, default: u64) -> u64 {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn report(scenario: &str, elapsed: std::time::Duration, ops: u64, check: u64) {
    let ns = elapsed.as_nanos() as f64 / ops as f64;
    println!("result {scenario} {ns:.1} {check}");
}

#[lunatic::main]
fn main(m: Mailbox<u64>) {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    match scenario.as_str() {
        "spawn" => spawn_join(m, arg(2, 10_000)),
        "pingpong" => ping_pong(m, arg(2, 100_000)),
        "ring" => ring(m, arg(2, 1000), arg(3, 100)),
        "throughput" => throughput(m, arg(2, 1000), arg(3, 1000)),
        "fanout" => fan_out(m, arg(2, 10_000)),
        "idle" => idle(m, arg(2, 100_000)),
        other => panic!("unknown scenario `{other}`"),
    }
}

/// Spawns a process that exits at once and waits for its message, n times.
fn spawn_join(m: Mailbox<u64>, n: u64) {
    let me = m.this();
    let start = Instant::now();
    let mut check = 0;
    for i in 0..n {
        Process::spawn((me, i), |(parent, i), _: Mailbox<()>| parent.send(i));
        check += m.receive();
    }
    report("spawn", start.elapsed(), n, check);
}

/// A message there and back, n times.
fn ping_pong(m: Mailbox<u64>, n: u64) {
    let echo = Process::spawn(m.this(), |parent, pings: Mailbox<u64>| loop {
        let ping = pings.receive();
        parent.send(ping + 1);
        if ping == u64::MAX - 1 {
            break;
        }
    });
    let start = Instant::now();
    let mut check = 0;
    for i in 0..n {
        echo.send(i);
        check += m.receive() - i;
    }
    report("pingpong", start.elapsed(), n, check);
    echo.send(u64::MAX - 1);
}

/// A ring of `size` processes passing a token around `laps` times.
fn ring(m: Mailbox<u64>, size: u64, laps: u64) {
    // Each member forwards what it gets to the next; the last one back here.
    let mut next: Process<u64> = m.this();
    for _ in 0..size - 1 {
        next = Process::spawn(next, |next, tokens: Mailbox<u64>| loop {
            let token = tokens.receive();
            next.send(token);
            if token == 0 {
                break;
            }
        });
    }
    let first = next;
    let hops = size * laps;
    let start = Instant::now();
    // The token carries the laps left; this process is the ring's last hop.
    let mut lap = laps;
    while lap > 0 {
        first.send(lap);
        lap = m.receive() - 1;
    }
    let elapsed = start.elapsed();
    first.send(0);
    m.receive();
    report("ring", elapsed, hops, hops);
}

/// `senders` processes each sending `each` numbered messages to this one;
/// every message must arrive, in order per sender.
fn throughput(m: Mailbox<u64>, senders: u64, each: u64) {
    let me = m.this();
    let start = Instant::now();
    for s in 0..senders {
        Process::spawn((me, s, each), |(parent, s, each), _: Mailbox<()>| {
            for i in 0..each {
                parent.send(s << 32 | i);
            }
        });
    }
    let mut next = vec![0u64; senders as usize];
    let total = senders * each;
    for _ in 0..total {
        let message = m.receive();
        let (s, i) = ((message >> 32) as usize, message & 0xffff_ffff);
        assert_eq!(next[s], i, "sender {s}: message {i} out of order");
        next[s] += 1;
    }
    report("throughput", start.elapsed(), total, next.iter().sum());
}

/// One process spawning `n` children that each reply once.
fn fan_out(m: Mailbox<u64>, n: u64) {
    let me = m.this();
    let start = Instant::now();
    for i in 0..n {
        Process::spawn((me, i), |(parent, i), _: Mailbox<()>| parent.send(i));
    }
    let check: u64 = (0..n).map(|_| m.receive()).sum();
    report("fanout", start.elapsed(), n, check);
}

/// `n` processes blocked in receive; the host measures memory at `ready`;
/// then each answers one message and exits.
fn idle(m: Mailbox<u64>, n: u64) {
    let me = m.this();
    let start = Instant::now();
    let children: Vec<Process<u64>> = (0..n)
        .map(|_| {
            Process::spawn(me, |parent, inbox: Mailbox<u64>| {
                let x = inbox.receive();
                parent.send(x);
            })
        })
        .collect();
    report("idle-spawn", start.elapsed(), n, n);
    unsafe { ready() };
    let start = Instant::now();
    for (i, child) in children.iter().enumerate() {
        child.send(i as u64);
    }
    let check: u64 = (0..n).map(|_| m.receive()).sum();
    report("idle-answer", start.elapsed(), n, check);
}
