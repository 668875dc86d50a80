//! Exercises WASI preview 1 through Rust's `std`, printing what it sees.
//! `args[1]` picks the scenario; the default one ends with
//! `std::process::exit(args[2])`.

mod fs;

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    /// Called directly, so the test sees the host's bytes.
    fn random_get(buf: *mut u8, len: usize) -> i32;
}

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    // SAFETY: the pointer and length describe `bytes`.
    let errno = unsafe { random_get(bytes.as_mut_ptr(), bytes.len()) };
    assert_eq!(errno, 0);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("panic") => panic!("the guest panics"),
        Some("return") => println!("returning from main"),
        Some("fs") => fs::everything(),
        Some("escape") => fs::escapes(),
        Some("fifo") => println!("fifo {:?}", std::fs::read_to_string("/data/fifo").unwrap()),
        Some("bench-file") => fs::big_file(args[2].parse().unwrap()),
        Some("bench-lines") => lines(args[2].parse().unwrap()),
        _ => everything(&args),
    }
}

/// Writes `count` short lines to stdout, one `fd_write` each.
fn lines(count: u32) {
    let mut stdout = std::io::stdout().lock();
    for i in 0..count {
        stdout.write_all(format!("line {i}\n").as_bytes()).unwrap();
    }
}

fn everything(args: &[String]) {
    println!("args {args:?}");
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.sort();
    println!("env {env:?}");
    eprintln!("to stderr");

    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    println!("stdin {input:?}");

    println!("stdout is a terminal: {}", std::io::stdout().is_terminal());

    let start = Instant::now();
    let again = Instant::now();
    println!("monotonic never goes back: {}", again >= start);
    std::thread::sleep(Duration::from_millis(30));
    let slept = start.elapsed();
    println!("slept at least 30 ms: {}", slept >= Duration::from_millis(30));
    std::thread::yield_now();

    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    println!("realtime {}", now.as_secs());

    println!("random {}", random_hex());
    println!("random {}", random_hex());

    // Output written without a newline still arrives before the exit.
    print!("exiting");
    std::io::stdout().flush().unwrap();
    let code = args.get(2).and_then(|c| c.parse().ok()).unwrap_or(0);
    std::process::exit(code);
}
