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
        Some("sock-echo") => sock_echo(),
        _ => everything(&args),
    }
}

/// Accepts one connection on the listening socket the host gave as
/// descriptor 3 (`sock_accept`), peeks at the request and then reads it to
/// its end (`sock_recv`), answers it in upper case (`sock_send`) and shuts
/// the connection down (`sock_shutdown`).
fn sock_echo() {
    use std::net::{Shutdown, TcpListener};
    use std::os::wasi::io::{AsRawFd, FromRawFd};
    // SAFETY: the host passes a listening socket as descriptor 3 and
    // nothing else in this program uses that descriptor.
    let listener = unsafe { TcpListener::from_raw_fd(3) };
    let (stream, _) = listener.accept().unwrap();
    let fd = stream.as_raw_fd() as u32;
    let mut peeked = [0u8; 5];
    let (n, _) = sock_recv(fd, &mut peeked, RECV_PEEK);
    let mut request = Vec::new();
    loop {
        let mut chunk = [0u8; 7];
        let (n, _) = sock_recv(fd, &mut chunk, 0);
        if n == 0 {
            break;
        }
        request.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(&request[..n], &peeked[..n], "peeking does not consume");
    let answer = request.to_ascii_uppercase();
    let mut sent = 0;
    while sent < answer.len() {
        sent += sock_send(fd, &answer[sent..]);
    }
    stream.shutdown(Shutdown::Both).unwrap();
    println!("peeked {n} bytes, echoed {} bytes", request.len());
}

const RECV_PEEK: u16 = 1;

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    #[link_name = "sock_recv"]
    fn wasi_sock_recv(
        fd: u32,
        iovs: *const [usize; 2],
        iovs_len: usize,
        flags: u16,
        received: *mut usize,
        out_flags: *mut u16,
    ) -> u16;
    #[link_name = "sock_send"]
    fn wasi_sock_send(
        fd: u32,
        iovs: *const [usize; 2],
        iovs_len: usize,
        flags: u16,
        sent: *mut usize,
    ) -> u16;
}

/// `sock_recv` into `buf`: the bytes received and the output flags.
fn sock_recv(fd: u32, buf: &mut [u8], flags: u16) -> (usize, u16) {
    let iov = [buf.as_mut_ptr() as usize, buf.len()];
    let (mut received, mut out_flags) = (0, 0);
    // SAFETY: one iovec describing `buf`; both out-pointers are locals.
    let errno = unsafe { wasi_sock_recv(fd, &iov, 1, flags, &mut received, &mut out_flags) };
    assert_eq!(errno, 0, "sock_recv");
    (received, out_flags)
}

/// `sock_send` of `data`: the bytes sent.
fn sock_send(fd: u32, data: &[u8]) -> usize {
    let iov = [data.as_ptr() as usize, data.len()];
    let mut sent = 0;
    // SAFETY: one ciovec describing `data`; the out-pointer is a local.
    let errno = unsafe { wasi_sock_send(fd, &iov, 1, 0, &mut sent) };
    assert_eq!(errno, 0, "sock_send");
    sent
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
