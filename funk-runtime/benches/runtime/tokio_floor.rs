//! The floor for any tokio design: the same scenarios with plain tasks and
//! unbounded channels, no wasm. Returns ns per operation.

use std::time::Instant;

use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// Runs `scenario` on a fresh multi-thread (`true`) or current-thread
/// runtime.
pub fn run(scenario: &str, multi_thread: bool) -> f64 {
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .unwrap();
    runtime.block_on(async {
        match scenario {
            "spawn" => spawn_join(10_000).await,
            "pingpong" => ping_pong(100_000).await,
            "ring" => ring(1000, 100).await,
            "throughput" => throughput(1000, 1000).await,
            "fanout" => fan_out(10_000).await,
            other => panic!("no tokio floor for {other}"),
        }
    })
}

async fn spawn_join(n: u64) -> f64 {
    let (tx, mut rx) = unbounded_channel();
    let start = Instant::now();
    for i in 0..n {
        let tx = tx.clone();
        tokio::spawn(async move { tx.send(i).unwrap() });
        rx.recv().await.unwrap();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

async fn ping_pong(n: u64) -> f64 {
    let (to_echo, mut pings) = unbounded_channel::<u64>();
    let (to_main, mut pongs) = unbounded_channel::<u64>();
    tokio::spawn(async move {
        while let Some(ping) = pings.recv().await {
            to_main.send(ping + 1).unwrap();
        }
    });
    let start = Instant::now();
    for i in 0..n {
        to_echo.send(i).unwrap();
        assert_eq!(pongs.recv().await, Some(i + 1));
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

async fn ring(size: u64, laps: u64) -> f64 {
    let (to_main, mut back) = unbounded_channel::<u64>();
    let mut next: UnboundedSender<u64> = to_main;
    for _ in 0..size - 1 {
        let (tx, mut rx) = unbounded_channel::<u64>();
        let forward = next;
        tokio::spawn(async move {
            while let Some(token) = rx.recv().await {
                if forward.send(token).is_err() {
                    break;
                }
            }
        });
        next = tx;
    }
    let start = Instant::now();
    let mut lap = laps;
    while lap > 0 {
        next.send(lap).unwrap();
        lap = back.recv().await.unwrap() - 1;
    }
    start.elapsed().as_nanos() as f64 / (size * laps) as f64
}

async fn throughput(senders: u64, each: u64) -> f64 {
    let (tx, mut rx) = unbounded_channel::<u64>();
    let start = Instant::now();
    for s in 0..senders {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0..each {
                tx.send(s << 32 | i).unwrap();
            }
        });
    }
    let mut next = vec![0u64; senders as usize];
    for _ in 0..senders * each {
        let m = rx.recv().await.unwrap();
        let s = (m >> 32) as usize;
        assert_eq!(next[s], m & 0xffff_ffff);
        next[s] += 1;
    }
    start.elapsed().as_nanos() as f64 / (senders * each) as f64
}

async fn fan_out(n: u64) -> f64 {
    let (tx, mut rx) = unbounded_channel::<u64>();
    let start = Instant::now();
    for i in 0..n {
        let tx = tx.clone();
        tokio::spawn(async move { tx.send(i).unwrap() });
    }
    let mut sum = 0;
    for _ in 0..n {
        sum += rx.recv().await.unwrap();
    }
    assert_eq!(sum, n * (n - 1) / 2);
    start.elapsed().as_nanos() as f64 / n as f64
}
