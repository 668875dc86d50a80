//! The oracle of the lowering fuzz target (funk-core/fuzz) and of its
//! stable replay test: an input's bytes become a guest memory and a list
//! of operations (lifting every parameter kind, writing every out-value
//! kind) with arbitrary wasm arguments. Each operation goes through funk
//! and through a naive model written here from the ABI rules; funk must
//! return what the model predicts, or an error where the model predicts
//! one, and leave guest memory exactly as the model does. Any difference,
//! or a panic, is a finding.

use std::io::{IoSlice, IoSliceMut};

use funk_core::__private::bytemuck;
use funk_core::{Borrow, GuestMemory, Lift, LowerCx, OutValue, Plain, ResourceTable, Take};

/// A plain record: three fields, 8 bytes, align 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Rec {
    a: u32,
    b: u16,
    c: u16,
}

// SAFETY: `repr(C)`, fields 4 + 2 + 2 bytes at offsets 0, 4, 6: no padding,
// and every bit pattern of the integers is a value.
unsafe impl bytemuck::Zeroable for Rec {}
// SAFETY: as above; `Copy` and `'static`.
unsafe impl bytemuck::Pod for Rec {}
impl Plain for Rec {}

/// One resource type and another, to forge handles across types.
pub struct Res(u32);
pub struct Other;

/// Reads the input; past its end, zeros.
struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((first, rest)) => {
                self.data = rest;
                *first
            }
            None => 0,
        }
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn exhausted(&self) -> bool {
        self.data.is_empty()
    }

    /// An address or length: mostly small (inside or just past a small
    /// memory), sometimes near the top of the 32-bit range, sometimes any.
    fn addr(&mut self, memory: usize) -> u32 {
        match self.u8() % 8 {
            0..=4 => u32::from(self.u8()) % (memory as u32 + 24),
            5 => u32::MAX - u32::from(self.u8()),
            6 => u32::from(self.u8()),
            _ => self.u32(),
        }
    }
}

/// The model's guest memory and the claims of the current call.
struct Model {
    bytes: Vec<u8>,
    claims: Vec<(u64, u64, bool)>,
}

impl Model {
    /// `ptr..ptr + len`, if it lies inside memory.
    fn range(&self, ptr: u64, len: u64) -> Option<(usize, usize)> {
        let end = ptr.checked_add(len)?;
        (end <= self.bytes.len() as u64).then_some((ptr as usize, end as usize))
    }

    /// Claims `ptr..ptr + len` for the current call as funk does: empty
    /// regions alias nothing; a mutable region may overlap nothing.
    fn claim(&mut self, ptr: u64, len: u64, mutable: bool) -> Option<(usize, usize)> {
        let (start, end) = self.range(ptr, len)?;
        if start == end {
            return Some((start, end));
        }
        let (s, e) = (start as u64, end as u64);
        let conflict = self
            .claims
            .iter()
            .any(|&(os, oe, om)| s < oe && os < e && (mutable || om));
        if conflict {
            return None;
        }
        self.claims.push((s, e, mutable));
        Some((start, end))
    }

    fn aligned(ptr: u32, align: u32) -> bool {
        ptr.is_multiple_of(align)
    }

    /// A shared claim of `len` elements of `size` bytes at `ptr`, which must
    /// be `align`-aligned: the model of a typed slice.
    fn claim_elements(
        &mut self,
        ptr: u32,
        len: u32,
        size: u64,
        align: u32,
    ) -> Option<(usize, usize)> {
        if !Self::aligned(ptr, align) {
            return None;
        }
        let bytes = u64::from(len).checked_mul(size)?;
        self.claim(ptr.into(), bytes, false)
    }
}

fn compare<T: PartialEq + std::fmt::Debug, E: std::fmt::Debug>(
    what: &str,
    funk: Result<T, E>,
    model: Option<T>,
) -> Result<(), String> {
    match (funk, model) {
        (Ok(got), Some(want)) if got == want => Ok(()),
        (Err(_), None) => Ok(()),
        (got, want) => Err(format!("{what}: funk gave {got:?}, the model {want:?}")),
    }
}

/// Runs every operation the input describes; the first disagreement
/// between funk and the model, if any.
pub fn check(data: &[u8]) -> Result<(), String> {
    let mut input = Input { data };
    let size = 8 * (usize::from(input.u8() % 32) + 1);
    let mut words = vec![0u64; size / 8];
    let memory_bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
    for byte in memory_bytes.iter_mut() {
        *byte = input.u8();
    }
    let mut model = Model {
        bytes: memory_bytes.to_vec(),
        claims: Vec::new(),
    };
    let mut table = ResourceTable::new();
    let mut live: Vec<u32> = Vec::new();
    for i in 0..4 {
        live.push(table.insert(Res(i)).map_err(|e| format!("{e}"))?.raw());
    }
    let other = table.insert(Other).map_err(|e| format!("{e}"))?.raw();
    let mut ops = 0;
    while !input.exhausted() && ops < 16 {
        ops += 1;
        let op = input.u8() % 8;
        let mut memory = GuestMemory::new(&mut *memory_bytes);
        model.claims.clear();
        let result = match op {
            0..=2 => lift(&mut input, &mut memory, &mut model, &mut table),
            3 => handle(&mut input, &mut memory, &mut table, &mut live, other),
            _ => write(op, &mut input, &mut memory, &mut model, &mut table),
        };
        result.map_err(|e| format!("operation {ops} (kind {op}): {e}"))?;
        let bytes = memory.bytes().map_err(|e| e.to_string())?;
        if bytes != model.bytes.as_slice() {
            let at = bytes
                .iter()
                .zip(&model.bytes)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(format!(
                "operation {ops} (kind {op}): guest memory differs from the model at byte {at}"
            ));
        }
    }
    Ok(())
}

/// Two arguments of any kinds lifted from one view (so aliasing between
/// them counts); mutable ones are then written with a pattern.
fn lift(
    input: &mut Input<'_>,
    memory: &mut GuestMemory<'_>,
    model: &mut Model,
    table: &mut ResourceTable,
) -> Result<(), String> {
    let size = model.bytes.len();
    let view = memory.view(true);
    for _ in 0..2 {
        let kind = input.u8() % 8;
        let (ptr, len) = (input.addr(size), input.addr(size));
        let pattern = input.u8();
        match kind {
            0 => {
                let want = model.claim(ptr.into(), len.into(), false);
                let want = want.map(|(s, e)| model.bytes[s..e].to_vec());
                let got = <&[u8] as Lift<'_, ResourceTable>>::lift(&view, table, (ptr, len));
                compare("&[u8]", got.map(<[u8]>::to_vec), want)?;
            }
            1 => {
                let want = model
                    .claim(ptr.into(), len.into(), false)
                    .and_then(|(s, e)| {
                        std::str::from_utf8(&model.bytes[s..e])
                            .ok()
                            .map(str::to_owned)
                    });
                let got = <&str as Lift<'_, ResourceTable>>::lift(&view, table, (ptr, len));
                compare("&str", got.map(str::to_owned), want)?;
            }
            2 => {
                let want = model
                    .claim_elements(ptr, len, 4, 4)
                    .map(|(s, e)| words32(&model.bytes[s..e]));
                let got = <&[u32] as Lift<'_, ResourceTable>>::lift(&view, table, (ptr, len));
                compare("&[u32]", got.map(<[u32]>::to_vec), want)?;
            }
            3 => {
                let want = model
                    .claim_elements(ptr, len, 8, 4)
                    .map(|(s, e)| records(&model.bytes[s..e]));
                let got = <&[Rec] as Lift<'_, ResourceTable>>::lift(&view, table, (ptr, len));
                compare("&[Rec]", got.map(<[Rec]>::to_vec), want)?;
            }
            4 => {
                // `&mut [u8]`: claimed mutably, then filled.
                let want = model.claim(ptr.into(), len.into(), true);
                let got = <&mut [u8] as Lift<'_, ResourceTable>>::lift(&view, table, (ptr, len));
                match (got, want) {
                    (Ok(slice), Some((s, e))) if slice.len() == e - s => {
                        slice.fill(pattern);
                        model.bytes[s..e].fill(pattern);
                    }
                    (Err(_), None) => {}
                    (got, want) => {
                        return Err(format!(
                            "&mut [u8]: funk gave {:?}, the model {want:?}",
                            got.map(|s| s.len())
                        ));
                    }
                }
            }
            5 => {
                // `&mut u64`: aligned, claimed mutably, incremented.
                let want = Model::aligned(ptr, 8)
                    .then(|| model.claim(ptr.into(), 8, true))
                    .flatten();
                let got = <&mut u64 as Lift<'_, ResourceTable>>::lift(&view, table, ptr);
                match (got, want) {
                    (Ok(value), Some((s, e))) => {
                        let old = u64::from_le_bytes(model.bytes[s..e].try_into().unwrap());
                        if *value != old {
                            return Err(format!("&mut u64: funk read {value}, the model {old}"));
                        }
                        *value = value.wrapping_add(u64::from(pattern));
                        model.bytes[s..e].copy_from_slice(&value.to_le_bytes());
                    }
                    (Err(_), None) => {}
                    (got, want) => {
                        return Err(format!(
                            "&mut u64: funk gave {:?}, the model {want:?}",
                            got.map(|v| *v)
                        ));
                    }
                }
            }
            6 => iovecs(false, ptr, len, &view, model, table, pattern)?,
            _ => iovecs(true, ptr, len, &view, model, table, pattern)?,
        }
    }
    Ok(())
}

/// An iovec array `(ptr, count)`: shared (read) or mutable (filled).
fn iovecs(
    mutable: bool,
    ptr: u32,
    count: u32,
    view: &funk_core::GuestView<'_>,
    model: &mut Model,
    table: &mut ResourceTable,
    pattern: u8,
) -> Result<(), String> {
    // The count is often large: keep it near the limit, small or any.
    let count = match count % 4 {
        0 => count % 8,
        1 => 1020 + count % 8,
        _ => count,
    };
    let entries = (count <= 1024 && Model::aligned(ptr, 4))
        .then(|| model.claim(ptr.into(), u64::from(count) * 8, false))
        .flatten()
        .map(|(s, e)| {
            model.bytes[s..e]
                .chunks_exact(8)
                .map(|c| {
                    let w = |i: usize| u32::from_le_bytes(c[i..i + 4].try_into().unwrap());
                    (w(0), w(4))
                })
                .collect::<Vec<_>>()
        });
    let want: Option<Vec<(usize, usize)>> = entries.and_then(|entries| {
        entries
            .into_iter()
            .map(|(buf, len)| model.claim(buf.into(), len.into(), mutable))
            .collect()
    });
    if mutable {
        let got =
            <&mut [IoSliceMut<'_>] as Lift<'_, ResourceTable>>::lift(view, table, (ptr, count));
        match (got, want) {
            (Ok(bufs), Some(ranges)) if bufs.len() == ranges.len() => {
                for (buf, (s, e)) in bufs.iter_mut().zip(ranges) {
                    if buf.len() != e - s {
                        return Err("&mut [IoSliceMut]: a buffer's length differs".into());
                    }
                    buf.fill(pattern);
                    model.bytes[s..e].fill(pattern);
                }
                Ok(())
            }
            (Err(_), None) => Ok(()),
            (got, want) => Err(format!(
                "&mut [IoSliceMut]: funk gave {:?}, the model {want:?}",
                got.map(|b| b.len())
            )),
        }
    } else {
        let got = <&[IoSlice<'_>] as Lift<'_, ResourceTable>>::lift(view, table, (ptr, count));
        let want = want.map(|ranges| {
            ranges
                .into_iter()
                .map(|(s, e)| model.bytes[s..e].to_vec())
                .collect::<Vec<_>>()
        });
        let got = got.map(|bufs| bufs.iter().map(|b| b.to_vec()).collect::<Vec<_>>());
        compare("&[IoSlice]", got, want)
    }
}

/// Borrowing and taking handles: real, stale, forged and of another type.
fn handle(
    input: &mut Input<'_>,
    memory: &mut GuestMemory<'_>,
    table: &mut ResourceTable,
    live: &mut Vec<u32>,
    other: u32,
) -> Result<(), String> {
    let view = memory.view(false);
    let raw = match input.u8() % 4 {
        0 | 1 => live.get(usize::from(input.u8()) % 4).copied().unwrap_or(1),
        2 => other,
        _ => input.u32(),
    };
    let take = input.u8().is_multiple_of(3);
    let expected = live.contains(&raw);
    if take {
        let got = <Take<Res> as Lift<'_, ResourceTable>>::lift(&view, table, raw);
        match (got, expected) {
            (Ok(res), true) => {
                live.retain(|r| *r != raw);
                let _ = res.into_inner().0;
                // A fresh resource takes the slot, with a new generation.
                let fresh = table.insert(Res(99)).map_err(|e| format!("{e}"))?.raw();
                if fresh == raw {
                    return Err(format!("the handle {raw:#x} came back after being taken"));
                }
                live.push(fresh);
                Ok(())
            }
            (Err(_), false) => Ok(()),
            (got, want) => Err(format!(
                "Take {raw:#x}: funk gave {:?}, the model {want}",
                got.map(|r| r.0)
            )),
        }
    } else {
        let got = <Borrow<Res> as Lift<'_, ResourceTable>>::lift(&view, table, raw);
        match (got, expected) {
            (Ok(b), true) if b.handle().raw() == raw => Ok(()),
            (Err(_), false) => Ok(()),
            (got, want) => Err(format!(
                "Borrow {raw:#x}: funk gave {got:?}, the model {want}"
            )),
        }
    }
}

/// Out-values: a `u32`, a `bool`, a record, and `Vec`/`String` results
/// into a guest buffer. Nothing may be written when funk refuses.
fn write(
    op: u8,
    input: &mut Input<'_>,
    memory: &mut GuestMemory<'_>,
    model: &mut Model,
    table: &mut ResourceTable,
) -> Result<(), String> {
    let size = model.bytes.len();
    let ptr = input.addr(size);
    let mut cx = LowerCx::new(memory, table, "fuzz::write");
    match op {
        4 => {
            let value = input.u32();
            let got = OutValue::write(value, &mut cx, (ptr, ()));
            let want = Model::aligned(ptr, 4)
                .then(|| model.range(ptr.into(), 4))
                .flatten();
            if let (Ok(()), Some((s, e))) = (&got, want) {
                model.bytes[s..e].copy_from_slice(&value.to_le_bytes());
            }
            compare("u32 out-value", got, want.map(|_| ()))
        }
        5 => {
            let value = input.u8() % 2 == 1;
            let got = OutValue::write(value, &mut cx, (ptr, ()));
            let want = model.range(ptr.into(), 1);
            if let (Ok(()), Some((s, _))) = (&got, want) {
                model.bytes[s] = u8::from(value);
            }
            compare("bool out-value", got, want.map(|_| ()))
        }
        6 => {
            let value = Rec {
                a: input.u32(),
                b: input.u8().into(),
                c: input.u8().into(),
            };
            let got = OutValue::write(value, &mut cx, (ptr, ()));
            let want = Model::aligned(ptr, 4)
                .then(|| model.range(ptr.into(), 8))
                .flatten();
            if let (Ok(()), Some((s, e))) = (&got, want) {
                model.bytes[s..e].copy_from_slice(bytemuck::bytes_of(&value));
            }
            compare("Rec out-value", got, want.map(|_| ()))
        }
        _ => {
            // A `Vec<u32>` or a `String` of up to 40 elements.
            let words = input.u8().is_multiple_of(2);
            let n = usize::from(input.u8() % 41);
            let (capacity, len_ptr) = (input.addr(size) % 64, input.addr(size));
            let (data, elem): (Vec<u8>, u64) = if words {
                let v: Vec<u32> = (0..n).map(|_| input.u32()).collect();
                (bytemuck::cast_slice(&v).to_vec(), 4)
            } else {
                ((0..n).map(|i| b'a' + (i % 26) as u8).collect(), 1)
            };
            let ptrs = (ptr, (capacity, (len_ptr, ())));
            let got = if words {
                let v: Vec<u32> = words32(&data);
                OutValue::write(v, &mut cx, ptrs)
            } else {
                OutValue::write(String::from_utf8(data.clone()).unwrap(), &mut cx, ptrs)
            };
            let buffer_ok = (elem == 1 || Model::aligned(ptr, 4))
                .then(|| model.range(ptr.into(), u64::from(capacity) * elem))
                .flatten();
            let len_ok = Model::aligned(len_ptr, 4)
                .then(|| model.range(len_ptr.into(), 4))
                .flatten();
            let want = buffer_ok.zip(len_ok);
            if let (Ok(()), Some(((s, _), (ls, le)))) = (&got, want) {
                let fits = (n.min(capacity as usize)) * elem as usize;
                model.bytes[s..s + fits].copy_from_slice(&data[..fits]);
                model.bytes[ls..le].copy_from_slice(&(n as u32).to_le_bytes());
            }
            compare("Vec/String result", got, want.map(|_| ()))
        }
    }
}

fn words32(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn records(bytes: &[u8]) -> Vec<Rec> {
    bytes
        .chunks_exact(8)
        .map(|c| Rec {
            a: u32::from_le_bytes(c[0..4].try_into().unwrap()),
            b: u16::from_le_bytes(c[4..6].try_into().unwrap()),
            c: u16::from_le_bytes(c[6..8].try_into().unwrap()),
        })
        .collect()
}
