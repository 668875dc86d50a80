//! Scatter/gather buffers in the WASI iovec layout.
//!
//! The guest passes `(iovs_ptr, iovs_count)`: `iovs_count` entries of
//! [`GuestIoVec`] (8 bytes each). Each entry's buffer is checked and lent in
//! place; the host receives `&[std::io::IoSlice]` or
//! `&mut [std::io::IoSliceMut]`, ready for `write_vectored`/`read_vectored`.
//! Mutable buffers may not overlap each other, the iovec array, or any other
//! region of the call.
//!
//! `async` host functions get the same types, lent from copies
//! ([`CopiedIoSlices`], [`CopiedIoSlicesMut`]) made with the same checks
//! before the method starts; mutable ones are written back when it ends.

use std::io::{IoSlice, IoSliceMut};
use std::ops::Range;

use crate::describe::ParamType;
use crate::error::GuestError;
use crate::lift::Lift;
use crate::lift_async::LiftAsync;
use crate::memory::{GuestMemory, GuestView};
use crate::plain::Plain;
use crate::scratch::Filling;

/// Most entries one iovec argument may have (POSIX `IOV_MAX` on Linux). It
/// bounds the host work a single call can ask for.
pub const MAX_IOVECS: u32 = 1024;

/// One iovec entry as it sits in guest memory: `{ buf: u32, buf_len: u32 }`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuestIoVec {
    /// Guest address of the buffer.
    pub buf: u32,
    /// Length of the buffer in bytes.
    pub buf_len: u32,
}

// SAFETY: two `u32`s under `repr(C)`: no padding, every bit pattern valid.
unsafe impl bytemuck::Zeroable for GuestIoVec {}
// SAFETY: as above; the type is `Copy` and `'static`.
unsafe impl bytemuck::Pod for GuestIoVec {}
impl Plain for GuestIoVec {}

/// The entries of the iovec array `(ptr, count)`, read straight from its
/// bytes: the count limit, the array's alignment (4, as WASI requires) and
/// its bounds are checked once, and `region` lends the array as a shared
/// region (so no mutable buffer of the call may overlap it).
#[inline(always)]
fn entries<'a>(
    region: impl FnOnce(u64, u64) -> Result<&'a [u8], GuestError>,
    ptr: u32,
    count: u32,
) -> Result<&'a [[u8; 8]], GuestError> {
    if count > MAX_IOVECS {
        return Err(GuestError::TooMany {
            what: "iovec count",
            count: count.into(),
            limit: MAX_IOVECS.into(),
        });
    }
    const ALIGN: u32 = std::mem::align_of::<GuestIoVec>() as u32;
    if !ptr.is_multiple_of(ALIGN) {
        return Err(GuestError::Misaligned {
            ptr: ptr.into(),
            align: ALIGN.into(),
        });
    }
    // At most 1024 entries of 8 bytes: no overflow.
    const ENTRY: u64 = std::mem::size_of::<GuestIoVec>() as u64;
    let bytes = region(ptr.into(), u64::from(count) * ENTRY)?;
    // Fixed-size chunks: reading an entry needs no bounds checks, and the
    // callers' loops over a slice inline.
    Ok(bytes.as_chunks::<8>().0)
}

/// One entry of the array, little-endian.
#[inline(always)]
fn entry(raw: &[u8; 8]) -> GuestIoVec {
    let [a, b, c, d, e, f, g, h] = *raw;
    GuestIoVec {
        buf: u32::from_le_bytes([a, b, c, d]),
        buf_len: u32::from_le_bytes([e, f, g, h]),
    }
}

fn in_entry(index: usize) -> impl FnOnce(GuestError) -> GuestError {
    move |error| GuestError::Iovec {
        index: index as u32,
        error: Box::new(error),
    }
}

/// Lends each entry's buffer with `lend`, in order, into `slices`; an
/// error names the entry.
#[inline(always)]
fn lend_each<'a, T>(
    entries: &[[u8; 8]],
    slices: Filling<'a, T>,
    lend: impl Fn(GuestIoVec) -> Result<T, GuestError>,
) -> Result<&'a mut [T], GuestError> {
    slices.fill(entries, |index, raw| {
        lend(entry(raw)).map_err(in_entry(index))
    })
}

impl<'a, S> Lift<'a, S> for &'a [IoSlice<'a>] {
    type Abi = (u32, u32);
    #[inline(always)]
    fn lift(
        view: &'a GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<Self, GuestError> {
        match view.shared_only() {
            // Nothing in the call is lent mutably: only bounds to check,
            // with the memory's base and length in registers.
            Some(memory) => {
                let entries = entries(|ptr, len| memory.bytes(ptr, len), ptr, count)?;
                let lent = lend_each(entries, view.filling(entries.len()), |entry| {
                    memory
                        .bytes(entry.buf.into(), entry.buf_len.into())
                        .map(IoSlice::new)
                })?;
                Ok(lent)
            }
            None => {
                let entries = entries(|ptr, len| view.bytes(ptr, len), ptr, count)?;
                // `entries` claimed the array: the view has memory.
                let lent = lend_each(entries, view.filling(entries.len()), |entry| {
                    view.bytes_of_available(entry.buf.into(), entry.buf_len.into())
                        .map(IoSlice::new)
                })?;
                Ok(lent)
            }
        }
    }
    fn describe() -> ParamType {
        ParamType::IoVecs { mutable: false }
    }
}

impl<'a, S> Lift<'a, S> for &'a mut [IoSliceMut<'a>] {
    type Abi = (u32, u32);
    const MUTABLE: bool = true;
    #[inline(always)]
    fn lift(
        view: &'a GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<Self, GuestError> {
        let entries = entries(|ptr, len| view.bytes(ptr, len), ptr, count)?;
        // `entries` claimed the array: the view has memory.
        lend_each(entries, view.filling(entries.len()), |entry| {
            view.bytes_mut_of_available(entry.buf.into(), entry.buf_len.into())
                .map(IoSliceMut::new)
        })
    }
    fn describe() -> ParamType {
        ParamType::IoVecs { mutable: true }
    }
}

/// The copy an async host function's `&[IoSlice]` argument borrows.
///
/// Buffers are copied with the checks of the synchronous lift (the entry
/// array, each entry, the count limit). Entries that overlap share one copy
/// of their bytes, so an argument never copies more than the guest memory
/// holds, however many entries name the same bytes.
pub struct CopiedIoSlices {
    /// The bytes of every buffer: each maximal run of overlapping entries
    /// once, runs back to back.
    data: Vec<u8>,
    /// Where each entry's bytes are in `data`, in the guest's order.
    spans: Vec<Range<usize>>,
    /// Room for the slices `lend` hands out; see [`LendSlot`].
    slot: LendSlot<IoSlice<'static>>,
}

/// The copy an async host function's `&mut [IoSliceMut]` argument borrows,
/// with the guest address of each buffer, for the write-back.
///
/// Buffers are checked as in the synchronous lift, including aliasing: they
/// may overlap nothing else the call borrows, so the copies never exceed the
/// guest memory either.
pub struct CopiedIoSlicesMut {
    /// The bytes of every buffer, back to back in the guest's order.
    data: Vec<u8>,
    /// Guest address and length of each buffer.
    entries: Vec<(u64, usize)>,
    /// Room for the slices `lend` hands out; see [`LendSlot`].
    slot: LendSlot<IoSliceMut<'static>>,
}

impl std::fmt::Debug for CopiedIoSlices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopiedIoSlices")
            .field("bytes", &self.data.len())
            .field("spans", &self.spans)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for CopiedIoSlicesMut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopiedIoSlicesMut")
            .field("bytes", &self.data.len())
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

/// Reusable storage for the `IoSlice`/`IoSliceMut` array lent to a method.
///
/// The method wants `&'a [IoSlice<'a>]`: an array that outlives the call to
/// `lend`, so it has to live in the held value, next to the bytes it points
/// into. Its element type cannot name `'a` (the held value's type is fixed
/// before the borrow starts, and naming it would borrow the held value for
/// as long as it exists, forbidding the write-back), so the slot stores its
/// elements as `'static` and [`LendSlot::fill`] is the one place that gives
/// them a real lifetime. The invariant that makes this sound: **the slot's
/// elements are never read except through the reference `fill` returns.**
/// `fill` clears them without reading them first, nothing else in this
/// module looks at them (no `Debug`, no accessor), and dropping the slot
/// only frees its allocation (`IoSlice`/`IoSliceMut` have no drop glue).
/// So a stale element, left behind once the lent borrow has ended, is never
/// used.
struct LendSlot<T>(Vec<T>);

impl<T> LendSlot<T> {
    fn with_capacity(capacity: usize) -> Self {
        LendSlot(Vec::with_capacity(capacity))
    }
}

impl LendSlot<IoSlice<'static>> {
    /// Replaces the slot's contents with `slices` and lends them for `'a`.
    fn fill<'a>(&'a mut self, slices: impl Iterator<Item = IoSlice<'a>>) -> &'a [IoSlice<'a>] {
        // SAFETY: `Vec<IoSlice<'static>>` and `Vec<IoSlice<'a>>` differ only
        // in a lifetime, so they have the same layout. Viewing the slot as
        // holding `'a` elements lets us store slices that borrow data for
        // `'a` (`&'a mut self` keeps the slot itself borrowed that long).
        // Once `'a` ends those elements dangle as far as the type says
        // `'static`; by the slot's invariant (see the type) they are never
        // read again: the next `fill` clears them unread, and drop only
        // frees the buffer.
        let slot = unsafe { &mut *(&raw mut self.0).cast::<Vec<IoSlice<'a>>>() };
        slot.clear();
        slot.extend(slices);
        slot
    }
}

impl LendSlot<IoSliceMut<'static>> {
    /// Replaces the slot's contents with `slices` and lends them for `'a`.
    fn fill<'a>(
        &'a mut self,
        slices: impl Iterator<Item = IoSliceMut<'a>>,
    ) -> &'a mut [IoSliceMut<'a>] {
        // SAFETY: as for `IoSlice` above. The method may also store other
        // `IoSliceMut<'a>` values into the lent array (it is `&mut`); they
        // are elements like any other, never read once `'a` has ended.
        let slot = unsafe { &mut *(&raw mut self.0).cast::<Vec<IoSliceMut<'a>>>() };
        slot.clear();
        slot.extend(slices);
        slot
    }
}

/// `(iovs_ptr, iovs_count)`: copies of the buffers, checked as in [`Lift`].
impl<'a, S> LiftAsync<'a, S> for &'a [IoSlice<'a>] {
    type Held = CopiedIoSlices;

    fn hold(
        view: &GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<CopiedIoSlices, GuestError> {
        let entries = entries(|ptr, len| view.bytes(ptr, len), ptr, count)?;
        let mut buffers = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().map(entry).enumerate() {
            // `entries` claimed the array: the view has memory.
            let bytes = view.bytes_of_available(entry.buf.into(), entry.buf_len.into());
            buffers.push((u64::from(entry.buf), bytes.map_err(in_entry(index))?));
        }
        let (data, spans) = copy_merged(&buffers);
        Ok(CopiedIoSlices {
            slot: LendSlot::with_capacity(spans.len()),
            data,
            spans,
        })
    }

    fn lend(held: &'a mut CopiedIoSlices) -> Self {
        let CopiedIoSlices { data, spans, slot } = held;
        let data: &'a [u8] = data;
        slot.fill(spans.iter().map(|span| IoSlice::new(&data[span.clone()])))
    }
}

/// Copies guest buffers `(address, bytes)`, each maximal run of overlapping
/// ones once. Returns the copy and where each buffer is in it.
fn copy_merged(buffers: &[(u64, &[u8])]) -> (Vec<u8>, Vec<Range<usize>>) {
    let mut order: Vec<usize> = (0..buffers.len()).collect();
    order.sort_unstable_by_key(|&i| buffers[i].0);
    let mut data = Vec::new();
    let mut spans = vec![0..0; buffers.len()];
    // The run being copied: its guest start and end, and where it starts in
    // `data`. Runs are contiguous in `data`, so it ends at `data.len()`.
    let mut run: Option<(u64, u64, usize)> = None;
    for i in order {
        let (start, bytes) = buffers[i];
        // In bounds of guest memory, so neither overflows.
        let end = start + bytes.len() as u64;
        let (run_start, run_end, at) = match run {
            Some((run_start, run_end, at)) if start <= run_end => {
                if end > run_end {
                    data.extend_from_slice(&bytes[(run_end - start) as usize..]);
                }
                (run_start, run_end.max(end), at)
            }
            _ => {
                let at = data.len();
                data.extend_from_slice(bytes);
                (start, end, at)
            }
        };
        let offset = at + (start - run_start) as usize;
        spans[i] = offset..offset + bytes.len();
        run = Some((run_start, run_end, at));
    }
    (data, spans)
}

/// `(iovs_ptr, iovs_count)`: copies of the buffers, checked as in [`Lift`]
/// (mutable buffers overlap nothing), written back to the guest when the
/// method finishes, whether it succeeds or fails.
impl<'a, S> LiftAsync<'a, S> for &'a mut [IoSliceMut<'a>] {
    type Held = CopiedIoSlicesMut;

    fn hold(
        view: &GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<CopiedIoSlicesMut, GuestError> {
        let entries = entries(|ptr, len| view.bytes(ptr, len), ptr, count)?;
        let mut data = Vec::new();
        let mut copied = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().map(entry).enumerate() {
            // `entries` claimed the array: the view has memory.
            let bytes = view.bytes_mut_of_available(entry.buf.into(), entry.buf_len.into());
            let bytes = bytes.map_err(in_entry(index))?;
            data.extend_from_slice(bytes);
            copied.push((u64::from(entry.buf), bytes.len()));
        }
        Ok(CopiedIoSlicesMut {
            slot: LendSlot::with_capacity(copied.len()),
            data,
            entries: copied,
        })
    }

    fn lend(held: &'a mut CopiedIoSlicesMut) -> Self {
        let CopiedIoSlicesMut {
            data,
            entries,
            slot,
        } = held;
        let mut rest: &'a mut [u8] = data;
        let buffers = entries.iter().map(move |&(_, len)| {
            let (buffer, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            IoSliceMut::new(buffer)
        });
        slot.fill(buffers)
    }

    fn write_back(held: CopiedIoSlicesMut, memory: &mut GuestMemory<'_>) -> Result<(), GuestError> {
        let mut at = 0;
        for (index, &(ptr, len)) in held.entries.iter().enumerate() {
            memory
                .write_bytes(ptr, &held.data[at..at + len])
                .map_err(in_entry(index))?;
            at += len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::GuestMemory;

    fn memory_with(iovs: &[(u32, u32)]) -> Vec<u64> {
        let mut words = vec![0u64; 64];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        for (i, (buf, len)) in iovs.iter().enumerate() {
            let at = 8 * i;
            bytes[at..at + 4].copy_from_slice(&buf.to_le_bytes());
            bytes[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
        }
        words
    }

    #[test]
    fn count_is_in_elements_not_bytes() {
        let mut words = memory_with(&[(100, 4), (200, 8)]);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        let iovs = <&[IoSlice<'_>] as Lift<()>>::lift(&view, &mut (), (0, 2)).unwrap();
        assert_eq!(iovs.iter().map(|s| s.len()).collect::<Vec<_>>(), [4, 8]);
        // 64 entries of 8 bytes = the whole 512-byte memory; 65 is out of bounds.
        assert!(<&[IoSlice<'_>] as Lift<()>>::lift(&view, &mut (), (0, 65)).is_err());
    }

    #[test]
    fn shared_buffers_of_a_view_without_mutable_lends_are_bounds_checked() {
        let mut words = memory_with(&[(100, 4), (508, 4), (509, 4)]);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(false);
        let iovs = <&[IoSlice<'_>] as Lift<()>>::lift(&view, &mut (), (0, 2)).unwrap();
        assert_eq!(iovs.iter().map(|s| s.len()).collect::<Vec<_>>(), [4, 4]);
        assert_eq!(iovs[1].as_ptr(), view.bytes(508, 4).unwrap().as_ptr());
        let err = <&[IoSlice<'_>] as Lift<()>>::lift(&view, &mut (), (0, 3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "iovec 2: range 0x1fd..0x201 outside memory of 0x200 bytes"
        );
    }

    #[test]
    fn out_of_bounds_entry_names_its_index() {
        let mut words = memory_with(&[(100, 4), (510, 8)]);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        let err = <&mut [IoSliceMut<'_>] as Lift<()>>::lift(&view, &mut (), (0, 2)).unwrap_err();
        assert!(matches!(err, GuestError::Iovec { index: 1, .. }), "{err}");
    }

    #[test]
    fn mutable_buffers_may_not_overlap_each_other_or_the_array() {
        let mut words = memory_with(&[(100, 8), (104, 8)]);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        let err = <&mut [IoSliceMut<'_>] as Lift<()>>::lift(&view, &mut (), (0, 2)).unwrap_err();
        assert!(err.to_string().contains("overlaps"), "{err}");

        let mut words = memory_with(&[(4, 8)]);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        assert!(<&mut [IoSliceMut<'_>] as Lift<()>>::lift(&view, &mut (), (0, 1)).is_err());
    }

    #[test]
    fn too_many_entries_are_refused_before_reading() {
        let mut words = memory_with(&[]);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        let err =
            <&[IoSlice<'_>] as Lift<()>>::lift(&view, &mut (), (0, MAX_IOVECS + 1)).unwrap_err();
        assert!(matches!(err, GuestError::TooMany { .. }));
    }
}

#[cfg(test)]
mod async_tests {
    use super::*;
    use crate::memory::GuestMemory;

    type Shared<'a> = &'a [IoSlice<'a>];
    type Mutable<'a> = &'a mut [IoSliceMut<'a>];

    /// 512 bytes: iovec entries from 0, bytes `i as u8` from 256.
    fn memory_with(iovs: &[(u32, u32)]) -> Vec<u64> {
        let mut words = vec![0u64; 64];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        for (i, (buf, len)) in iovs.iter().enumerate() {
            let at = 8 * i;
            bytes[at..at + 4].copy_from_slice(&buf.to_le_bytes());
            bytes[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
        }
        for (i, b) in bytes.iter_mut().enumerate().skip(256) {
            *b = i as u8;
        }
        words
    }

    #[test]
    fn shared_copies_keep_each_entry_and_share_overlapping_bytes() {
        // Out of order, overlapping, nested, empty and disjoint entries.
        let iovs = [(300, 8), (260, 4), (302, 10), (304, 2), (400, 0), (262, 4)];
        let mut words = memory_with(&iovs);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(false);
        let mut held = <Shared<'_> as LiftAsync<()>>::hold(&view, &mut (), (0, 6)).unwrap();
        // 260..266 and 300..312, once each.
        assert_eq!(held.data.len(), 6 + 12);
        let lent = <Shared<'_> as LiftAsync<()>>::lend(&mut held);
        for (slice, &(buf, len)) in lent.iter().zip(&iovs) {
            let expected: Vec<u8> = (buf..buf + len).map(|b| b as u8).collect();
            assert_eq!(**slice, *expected, "entry at {buf}");
        }
    }

    #[test]
    fn many_entries_naming_the_same_bytes_copy_them_once() {
        let iovs = vec![(256u32, 256u32); MAX_IOVECS as usize];
        let mut words = vec![0u64; 1024 + 64];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        for (i, (buf, len)) in iovs.iter().enumerate() {
            bytes[8 * i..8 * i + 4].copy_from_slice(&buf.to_le_bytes());
            bytes[8 * i + 4..8 * i + 8].copy_from_slice(&len.to_le_bytes());
        }
        let mut mem = GuestMemory::new(bytes);
        let view = mem.view(false);
        let held = <Shared<'_> as LiftAsync<()>>::hold(&view, &mut (), (0, MAX_IOVECS)).unwrap();
        assert_eq!(held.data.len(), 256);
        assert_eq!(held.spans.len(), MAX_IOVECS as usize);
    }

    #[test]
    fn mutable_copies_are_written_back_entry_by_entry() {
        let mut words = memory_with(&[(300, 4), (260, 2), (400, 0)]);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let mut held = {
            let view = mem.view(true);
            <Mutable<'_> as LiftAsync<()>>::hold(&view, &mut (), (0, 3)).unwrap()
        };
        {
            let lent = <Mutable<'_> as LiftAsync<()>>::lend(&mut held);
            assert_eq!(lent.iter().map(|s| s.len()).collect::<Vec<_>>(), [4, 2, 0]);
            assert_eq!(*lent[1], [4, 5]);
            lent[0].copy_from_slice(b"abcd");
            lent[1].copy_from_slice(b"xy");
        }
        // Lending again gives the same copies.
        assert_eq!(
            *<Mutable<'_> as LiftAsync<()>>::lend(&mut held)[0],
            *b"abcd"
        );
        <Mutable<'_> as LiftAsync<()>>::write_back(held, &mut mem).unwrap();
        let bytes = mem.bytes().unwrap();
        assert_eq!(&bytes[300..304], b"abcd");
        assert_eq!(&bytes[260..262], b"xy");
        assert_eq!(bytes[262], 6);
    }

    #[test]
    fn async_copies_are_checked_like_the_sync_lift() {
        let mut words = memory_with(&[(100, 8), (104, 8)]);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        let err = <Mutable<'_> as LiftAsync<()>>::hold(&view, &mut (), (0, 2)).unwrap_err();
        assert!(matches!(err, GuestError::Iovec { index: 1, .. }), "{err}");
        assert!(err.to_string().contains("overlaps"), "{err}");
        let err = <Shared<'_> as LiftAsync<()>>::hold(&view, &mut (), (0, MAX_IOVECS + 1));
        assert!(matches!(err, Err(GuestError::TooMany { .. })));

        let mut words = memory_with(&[(100, 4), (510, 8)]);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(false);
        let err = <Shared<'_> as LiftAsync<()>>::hold(&view, &mut (), (0, 2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "iovec 1: range 0x1fe..0x206 outside memory of 0x200 bytes"
        );
    }
}
