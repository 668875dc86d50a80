//! The preemption benchmark's guest: `main <workload> <args...>`.
//!
//! - `fib N`: computes `fib(N)` in a task (a linked child process) and
//!   prints `N_NANOS RESULT`, timed around the computation only.
//! - `calls ROUNDS`: the same for the call-heavy workload.
//! - `pingpong ROUNDS SPINNERS`: spawns `SPINNERS` processes that spin in
//!   `loop {}`, then a ponger, and times `ROUNDS` round trips to it; prints
//!   the round trips' nanoseconds, sorted, on one line. Kills the spinners
//!   before it returns.

mod work;

use std::hint::black_box;
use std::time::Instant;

use lunatic::{spawn_link, Mailbox, Process};

fn timed(f: impl FnOnce() -> u64) -> (u64, u64) {
    let start = Instant::now();
    let result = f();
    (start.elapsed().as_nanos() as u64, result)
}

#[lunatic::main]
fn main(mailbox: Mailbox<u32>) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> u32 {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("argument {i} must be a number: {args:?}"))
    };
    match args.first().map(String::as_str) {
        Some("fib") => {
            let n = arg(1);
            let task = spawn_link!(@task |n = n| timed(|| work::fib(black_box(n))));
            let (nanos, result) = task.result();
            println!("{nanos} {result}");
        }
        Some("calls") => {
            let n = arg(1);
            let task = spawn_link!(@task |n = n| timed(|| work::calls(black_box(n))));
            let (nanos, result) = task.result();
            println!("{nanos} {result}");
        }
        Some("pingpong") => pingpong(mailbox, arg(1), arg(2)),
        other => panic!("unknown workload {other:?}"),
    }
}

fn pingpong(mailbox: Mailbox<u32>, rounds: u32, spinners: u32) {
    let spinning: Vec<Process<()>> = (0..spinners)
        .map(|_| {
            Process::spawn((), |(), _: Mailbox<()>| loop {
                black_box(());
            })
        })
        .collect();
    let ponger = Process::spawn((), |(), mailbox: Mailbox<Process<u32>>| loop {
        let pinger = mailbox.receive();
        pinger.send(0);
    });
    let mut times = Vec::with_capacity(rounds as usize);
    for _ in 0..rounds {
        let start = Instant::now();
        ponger.send(mailbox.this());
        mailbox.receive();
        times.push(start.elapsed().as_nanos() as u64);
    }
    times.sort_unstable();
    let line: Vec<String> = times.iter().map(u64::to_string).collect();
    println!("{}", line.join(" "));
    for spinner in spinning {
        spinner.kill();
    }
    ponger.kill();
}
