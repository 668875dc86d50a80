//! A Rust guest for the preemption pass's tests, compiled by the test itself with
//! `rustc --target wasm32-unknown-unknown --crate-type cdylib`: recursion, loops,
//! allocation, formatting, sorting, floats and a panic, all exported as
//! `extern "C"` functions of integers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

#[unsafe(no_mangle)]
pub extern "C" fn fib(n: u32) -> u32 {
    if n < 2 { n } else { fib(n - 1).wrapping_add(fib(n - 2)) }
}

/// The number of primes below `n`.
#[unsafe(no_mangle)]
pub extern "C" fn sieve(n: u32) -> u32 {
    let n = n as usize;
    let mut composite = vec![false; n.max(2)];
    let mut count = 0;
    for i in 2..n {
        if !composite[i] {
            count += 1;
            let mut j = i * i;
            while j < n {
                composite[j] = true;
                j += i;
            }
        }
    }
    count
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Sorts `n` pseudo-random numbers and returns a position-weighted checksum.
#[unsafe(no_mangle)]
pub extern "C" fn sort_checksum(n: u32, seed: u64) -> u64 {
    let mut state = seed | 1;
    let mut v: Vec<u64> = (0..n).map(|_| xorshift(&mut state) % 1000).collect();
    v.sort_unstable();
    let mut w = v.clone();
    w.sort_by(|a, b| b.cmp(a));
    v.iter().zip(&w).enumerate().fold(0u64, |acc, (i, (a, b))| {
        acc.wrapping_mul(31).wrapping_add(i as u64 * a + b)
    })
}

/// Formats a table of numbers and words and returns its length times 1000 plus a
/// byte sum modulo 1000.
#[unsafe(no_mangle)]
pub extern "C" fn format_table(n: u32) -> u64 {
    let mut words = BTreeMap::new();
    let mut text = String::new();
    for i in 0..n {
        let word = format!("{:x}-{}", i * 2654435761u32, i % 7);
        *words.entry(word.len()).or_insert(0u32) += 1;
        writeln!(text, "{i:>6} {word:<12} {:.3}", f64::from(i).sqrt()).unwrap();
    }
    writeln!(text, "{words:?}").unwrap();
    let sum: u64 = text.bytes().map(u64::from).sum();
    text.len() as u64 * 1000 + sum % 1000
}

/// A float loop: the sum of `1 / k^2`, scaled to an integer.
#[unsafe(no_mangle)]
pub extern "C" fn basel(n: u32) -> u64 {
    let mut sum = 0.0f64;
    for k in 1..=n {
        sum += 1.0 / (f64::from(k) * f64::from(k));
    }
    (sum * 1e12) as u64
}

/// Panics (a trap: `unreachable`) when `n` is over 10.
#[unsafe(no_mangle)]
pub extern "C" fn checked(n: u32) -> u32 {
    let v: Vec<u32> = (0..10).collect();
    v[n as usize] * 2
}

/// Spins until the counter wraps: many iterations of a tight loop.
#[unsafe(no_mangle)]
pub extern "C" fn spin(n: u32) -> u32 {
    let mut x = 0u32;
    for i in 0..n {
        x = std::hint::black_box(x.wrapping_mul(1664525).wrapping_add(i));
    }
    x
}
