//! Calls every function of the host API in tests/bindings/api through the
//! bindings its build script generated, and reports what it saw with
//! `kv::note`, one line per call, for the host test to compare.

use std::io::{IoSlice, IoSliceMut};

mod host {
    include!(concat!(env!("OUT_DIR"), "/kv.rs"));
}

use host::{KvError, Point, Span, kv};

fn note(line: String) {
    kv::note(&line);
}

#[unsafe(no_mangle)]
pub extern "C" fn run() {
    note(format!("put a: {:?}", kv::put("a", b"alpha")));
    note(format!("put a again: {:?}", kv::put("a", b"again")));
    note(format!("put b: {:?}", kv::put("b", b"bravo!")));
    note(format!("get a: {:?}", kv::get("a").map(String::from_utf8)));
    note(format!("get zz: {:?}", kv::get("zz")));
    assert_eq!(kv::get("zz"), Err(KvError::NotFound));
    note(format!("len: {}", kv::len()));
    note(format!("stats: {:?}", kv::stats()));

    // A long result: 300 keys of 8 bytes and a separator do not fit the
    // bindings' first 1 KiB buffer, so they call again.
    for i in 0..300 {
        kv::put(&format!("k{i:07}"), &[i as u8]).unwrap();
    }
    let keys = kv::keys(';');
    note(format!(
        "keys: {} bytes, {} keys, starts {:?}",
        keys.len(),
        keys.matches(';').count(),
        &keys[..12]
    ));
        let dump = kv::dump(5000);
    note(format!("dump: {} bytes, last {}", dump.len(), dump[4999]));
    let removed: Vec<bool> = (0..300).map(|i| kv::remove(&format!("k{i:07}"))).collect();
    note(format!(
        "removed: {} true, again: {}",
        removed.iter().filter(|r| **r).count(),
        kv::remove("k0000000")
    ));

    // Handles: borrowed, wide, taken; a status error with a handle result.
    let cursor = kv::scan("").unwrap();
    let mut key = [0u8; 8];
    let mut seen = Vec::new();
    loop {
        let (found, len) = kv::next(&cursor, &mut key);
        if !found {
            break;
        }
        seen.push(String::from_utf8_lossy(&key[..len as usize]).into_owned());
    }
    // A `Wide<u32>` and a `Wide<bool>` result keep their types.
    let (position, finished): (u32, bool) = (kv::position(&cursor), kv::finished(&cursor));
    note(format!(
        "cursor: {seen:?}, position {position}, finished {finished}"
    ));
    let more: Vec<_> = (0..3).map(|_| kv::scan("a").unwrap()).collect();
    note(format!("fifth cursor: {:?}", kv::scan("b").err()));
    note(format!("close: {}", kv::close(cursor)));
    let closed: Vec<u32> = more.into_iter().map(kv::close).collect();
    note(format!("closed: {closed:?}"));
    let (all, empty) = kv::open_all().unwrap();
    note(format!("open_all: empty {empty}, {} keys", kv::close(all)));

    // Iovecs both ways.
    let (mut first, mut second) = ([0u8; 2], [0u8; 8]);
    let read = kv::read_into(
        "b",
        &mut [IoSliceMut::new(&mut first), IoSliceMut::new(&mut second)],
    );
    note(format!(
        "read_into: {read:?} {:?} {:?}",
        first,
        &second[..4]
    ));
    let parts = [IoSlice::new(b"gam"), IoSlice::new(b""), IoSlice::new(b"ma")];
    note(format!(
        "put_gathered: {:?} then {:?}",
        kv::put_gathered("c", &parts),
        kv::get("c").map(String::from_utf8)
    ));

    // Slices, records, references, narrow integers, floats, chars.
    note(format!("checksum: {}", kv::checksum(&[1, 2, 3, u32::MAX])));
    let mut points = [Point { x: 1, y: -2 }, Point { x: 3, y: 4 }];
    note(format!("scale: {} {points:?}", kv::scale(&mut points, -3)));
    let mut counter = 10u64;
    note(format!(
        "bump: {} counter {counter}",
        kv::bump(&mut counter, &Point { x: 5, y: 6 })
    ));
    note(format!(
        "slice: {:?}",
        kv::slice("b", Span(1, 4)).map(String::from_utf8)
    ));
    note(format!("classify: {:?}", kv::classify('a', 1, 2, 0.5, 7)));
    note(format!(
        "classify: {:?}",
        kv::classify('a', 200, 0, -1.0, i64::MIN)
    ));
    note(format!("must_len: {}", kv::must_len("c")));

    // Async host functions look like any other call.
    note(format!("put_later: {:?}", kv::put_later(5, "d", b"delta")));
    note(format!(
        "put_later again: {:?}",
        kv::put_later(0, "d", b"x")
    ));
    let mut out = [0u8; 3];
    note(format!("fetch: {:?} {:?}", kv::fetch("d", &mut out), out));
    note(format!("all_stats: {:?}", kv::all_stats()));
}

/// A result longer than the one buffer of a non-repeatable function is a
/// panic (a trap), never cut.
#[unsafe(no_mangle)]
pub extern "C" fn dump_too_long() -> u32 {
    kv::dump(70_000).len() as u32
}

/// A host trap (`Result<_, Trap>`) reaches the guest as a trap.
#[unsafe(no_mangle)]
pub extern "C" fn must_len_missing() -> u64 {
    kv::must_len("missing")
}

/// A user `Lift` type's own check traps before the method runs.
#[unsafe(no_mangle)]
pub extern "C" fn reversed_span() {
    let _ = kv::slice("b", Span(4, 1));
}

/// A handle forged on purpose (`from_raw`) is refused by the host.
#[unsafe(no_mangle)]
pub extern "C" fn forged_cursor() {
    let forged = host::Cursor::from_raw(0x7777);
    let _ = kv::close(forged);
}
