//! A key-value store with cursors: one `#[host_functions]` block over the
//! whole type surface a guest binding must carry (scalars, narrow integers,
//! `bool`, `char`, strings, typed and mutable slices, references, iovecs
//! both ways, handles borrowed, taken and wide, `Plain` records, a user
//! `Lift` type, out-values, tuples, `Vec`/`String` results, status and trap
//! errors, sync and async methods).
//!
//! tests/guest_bindings.rs runs it; tests/bindings/guest generates its
//! bindings from it in its build script.

/// The `files` example's host API (README "Guest bindings" shows its
/// guest).
#[path = "../../../../examples/files/api.rs"]
pub mod files;

use std::collections::BTreeMap;
use std::io::{IoSlice, IoSliceMut};
use std::time::Duration;

use funk::{
    Borrow, GuestError, GuestView, Handle, HasResources, Lift, ResourceTable, Take, Trap, Wide,
};

/// The store.
#[derive(Default)]
pub struct Kv {
    table: ResourceTable,
    entries: BTreeMap<String, Vec<u8>>,
    /// What the guest reported with `note`, in order.
    pub notes: Vec<String>,
    /// How many times `keys` ran (the bindings retry a long result).
    pub keys_calls: u32,
    /// How many times `dump` ran (never retried: it is not repeatable).
    pub dump_calls: u32,
}

/// An iteration over the keys that had a prefix when it started.
pub struct Cursor {
    keys: Vec<String>,
    next: usize,
}

/// The store's status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, funk::HostError)]
pub enum KvError {
    NotFound = 1,
    Exists = 2,
    TooMany = 3,
}

/// Counts of the store.
#[derive(Debug, Clone, Copy, PartialEq, funk::Plain)]
#[repr(C)]
pub struct Stats {
    pub entries: u32,
    pub bytes: u32,
    pub largest: u64,
}

/// A point, scaled in place in guest memory.
#[derive(Debug, Clone, Copy, PartialEq, funk::Plain)]
#[repr(C)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

/// A byte range `start..end`: a user `Lift` type of two words, checked.
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl<'a, S> Lift<'a, S> for Span {
    type Abi = (u32, u32);
    const MEMORY: bool = false;
    fn lift(_: &'a GuestView<'_>, _: &mut S, (start, end): (u32, u32)) -> Result<Self, GuestError> {
        if start > end {
            return Err(GuestError::Custom(format!(
                "span {start}..{end} is reversed"
            )));
        }
        Ok(Span { start, end })
    }
}

impl HasResources for Kv {
    fn resources(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

impl Kv {
    fn insert(&mut self, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        if self.entries.contains_key(key) {
            return Err(KvError::Exists);
        }
        self.entries.insert(key.to_owned(), value);
        Ok(())
    }

    fn value(&self, key: &str) -> Result<&[u8], KvError> {
        self.entries
            .get(key)
            .map(Vec::as_slice)
            .ok_or(KvError::NotFound)
    }
}

#[funk::host_functions(namespace = "kv")]
impl Kv {
    /// Records a line of the guest's report.
    fn note(&mut self, line: &str) {
        self.notes.push(line.to_owned());
    }

    /// Stores `value` under `key`; a key that is already there is
    /// `KvError::Exists`.
    fn put(&mut self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.insert(key, value.to_vec())
    }

    /// The value under `key`.
    fn get(&mut self, key: &str) -> Result<Vec<u8>, KvError> {
        self.value(key).map(<[u8]>::to_vec)
    }

    /// Removes `key`; whether it was there.
    fn remove(&mut self, key: &str) -> bool {
        self.entries.remove(key).is_some()
    }

    /// `len` bytes counting up from 0; not repeatable (`&mut self`), so
    /// the bindings offer one 64 KiB buffer and never call twice.
    fn dump(&mut self, len: u32) -> Vec<u8> {
        self.dump_calls += 1;
        (0..len).map(|i| i as u8).collect()
    }

    /// The number of entries.
    fn len(&self) -> u32 {
        self.entries.len() as u32
    }

    /// The number of entries, and counts of the store (a record is
    /// written through an out-pointer, so it follows a direct result).
    fn stats(&self) -> (u32, Stats) {
        (
            self.entries.len() as u32,
            Stats {
                entries: self.entries.len() as u32,
                bytes: self.entries.values().map(|v| v.len() as u32).sum(),
                largest: self
                    .entries
                    .values()
                    .map(|v| v.len() as u64)
                    .max()
                    .unwrap_or(0),
            },
        )
    }

    /// Every key, each followed by `separator`. Repeatable (counting the
    /// calls is harmless), so the bindings may ask again for a long list.
    #[funk(repeatable)]
    fn keys(&mut self, separator: char) -> String {
        self.keys_calls += 1;
        self.entries
            .keys()
            .map(|k| format!("{k}{separator}"))
            .collect()
    }

    /// A cursor over the keys starting with `prefix`; at most 4 open.
    fn scan(&mut self, prefix: &str) -> Result<Handle<Cursor>, KvError> {
        if self.table.len() >= 4 {
            return Err(KvError::TooMany);
        }
        let keys = self
            .entries
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        self.table
            .insert(Cursor { keys, next: 0 })
            .map_err(|_| KvError::TooMany)
    }

    /// The cursor's next key, copied into `key`: whether there was one, and
    /// the key's full length.
    fn next(&mut self, cursor: Borrow<Cursor>, key: &mut [u8]) -> (bool, u32) {
        let cursor = &mut self.table[cursor];
        match cursor.keys.get(cursor.next) {
            Some(next) => {
                let n = next.len().min(key.len());
                key[..n].copy_from_slice(&next.as_bytes()[..n]);
                cursor.next += 1;
                (true, next.len() as u32)
            }
            None => (false, 0),
        }
    }

    /// How far a cursor has got, through a 64-bit handle.
    fn position(&mut self, cursor: Wide<Borrow<Cursor>>) -> Wide<u32> {
        Wide(self.table[cursor.0].next as u32)
    }

    /// Whether a cursor has passed every key, as a 64-bit `bool`.
    fn finished(&mut self, cursor: Wide<Borrow<Cursor>>) -> Wide<bool> {
        let cursor = &self.table[cursor.0];
        Wide(cursor.next >= cursor.keys.len())
    }

    /// Closes a cursor; the number of keys it had.
    fn close(&mut self, cursor: Take<Cursor>) -> u32 {
        cursor.into_inner().keys.len() as u32
    }

    /// Reads the value under `key` into `bufs`, in order; the bytes read.
    fn read_into(&mut self, key: &str, bufs: &mut [IoSliceMut<'_>]) -> Result<u32, KvError> {
        let mut value = self.value(key)?;
        let mut read = 0;
        for buf in bufs.iter_mut() {
            let n = buf.len().min(value.len());
            buf[..n].copy_from_slice(&value[..n]);
            value = &value[n..];
            read += n as u32;
        }
        Ok(read)
    }

    /// Stores the concatenation of `parts` under `key`; its length.
    fn put_gathered(&mut self, key: &str, parts: &[IoSlice<'_>]) -> Result<u32, KvError> {
        let value: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        let len = value.len() as u32;
        self.insert(key, value).map(|()| len)
    }

    /// The sum of `words`.
    fn checksum(&self, words: &[u32]) -> u64 {
        words.iter().map(|&w| u64::from(w)).sum()
    }

    /// Multiplies every point by `factor` in place; how many it scaled.
    fn scale(&mut self, points: &mut [Point], factor: i8) -> i16 {
        for p in points.iter_mut() {
            p.x *= i32::from(factor);
            p.y *= i32::from(factor);
        }
        points.len() as i16
    }

    /// Adds `by.x + by.y` to `counter`; the new value halved.
    fn bump(&mut self, counter: &mut u64, by: &Point) -> f64 {
        *counter = counter.wrapping_add((by.x + by.y) as u64);
        *counter as f64 / 2.0
    }

    /// The bytes `span` of the value under `key`.
    fn slice(&mut self, key: &str, span: Span) -> Result<Vec<u8>, KvError> {
        let value = self.value(key)?;
        let end = (span.end as usize).min(value.len());
        let start = (span.start as usize).min(end);
        Ok(value[start..end].to_vec())
    }

    /// Mixed scalars: `c` upper-cased, shifted by `small + medium`, if
    /// `scale` is positive.
    fn classify(&self, c: char, small: u8, medium: u16, scale: f32, wide: i64) -> (char, u8, i64) {
        let shifted =
            char::from_u32(c.to_ascii_uppercase() as u32 + u32::from(small) + u32::from(medium))
                .unwrap_or('?');
        let out = if scale > 0.0 { shifted } else { c };
        (out, small.wrapping_mul(2), wide.wrapping_neg())
    }

    /// The length of the value under `key`; a missing key traps.
    fn must_len(&mut self, key: &str) -> Result<u64, Trap> {
        self.value(key)
            .map(|v| v.len() as u64)
            .map_err(|_| Trap::new(format!("no key `{key}`")))
    }

    /// A cursor over every key, and whether the store is empty.
    fn open_all(&mut self) -> Result<(Handle<Cursor>, bool), KvError> {
        let empty = self.entries.is_empty();
        self.scan("").map(|cursor| (cursor, empty))
    }

    /// `put`, after the host has waited `delay_ms`.
    async fn put_later(&mut self, delay_ms: u32, key: &str, value: &[u8]) -> Result<u32, KvError> {
        tokio::time::sleep(Duration::from_millis(delay_ms.into())).await;
        self.insert(key, value.to_vec())
            .map(|()| value.len() as u32)
    }

    /// The value under `key` copied into `out` after a yield; its length.
    async fn fetch(&mut self, key: &str, out: &mut [u8]) -> Result<u32, KvError> {
        tokio::task::yield_now().await;
        let value = self.value(key)?;
        let n = value.len().min(out.len());
        out[..n].copy_from_slice(&value[..n]);
        Ok(value.len() as u32)
    }

    /// A record per entry, after a yield: its length twice and its first
    /// byte.
    async fn all_stats(&mut self) -> Vec<Stats> {
        tokio::task::yield_now().await;
        self.entries
            .values()
            .map(|v| Stats {
                entries: 1,
                bytes: v.len() as u32,
                largest: v.first().copied().unwrap_or(0).into(),
            })
            .collect()
    }
}

/// A later version of the host, for the test that a changed signature is
/// never silent: `checksum` now takes `&[i32]` — the same wasm signature,
/// so the engines would link a guest built against the old one.
pub mod v2 {
    /// The changed part of the store.
    pub struct KvV2;

    #[funk::host_functions(namespace = "kv")]
    impl KvV2 {
        /// The sum of `words`, now signed.
        fn checksum(&self, words: &[i32]) -> u64 {
            words.iter().map(|&w| w as u64).sum()
        }
    }

    /// The interface of the store with `checksum` changed as above.
    pub fn interface() -> funk::describe::Interface {
        let changed = funk::describe::Interface::of::<KvV2>();
        let mut interface = funk::describe::Interface::of::<super::Kv>();
        for function in &mut interface.functions {
            if let Some(new) = changed.function(function.namespace, function.name) {
                *function = new.clone();
            }
        }
        interface
    }
}
