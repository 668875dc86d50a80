//! Scatter/gather buffers in the WASI iovec layout, lifted without copying.
//!
//! The guest passes `(iovs_ptr, iovs_count)`: `iovs_count` entries of
//! [`GuestIoVec`] (8 bytes each). Each entry's buffer is checked and lent in
//! place; the host receives `&[std::io::IoSlice]` or
//! `&mut [std::io::IoSliceMut]`, ready for `write_vectored`/`read_vectored`.
//! Mutable buffers may not overlap each other, the iovec array, or any other
//! region of the call.

use std::io::{IoSlice, IoSliceMut};

use crate::error::GuestError;
use crate::lift::Lift;
use crate::memory::GuestView;
use crate::plain::Plain;

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

#[inline]
fn entries<'a>(
    view: &'a GuestView<'_>,
    ptr: u32,
    count: u32,
) -> Result<&'a [GuestIoVec], GuestError> {
    if count > MAX_IOVECS {
        return Err(GuestError::TooMany {
            what: "iovec count",
            count: count.into(),
            limit: MAX_IOVECS.into(),
        });
    }
    view.slice(ptr.into(), count.into())
}

fn in_entry(index: usize) -> impl FnOnce(GuestError) -> GuestError {
    move |error| GuestError::Iovec {
        index: index as u32,
        error: Box::new(error),
    }
}

impl<'a, S> Lift<'a, S> for &'a [IoSlice<'a>] {
    type Abi = (u32, u32);
    #[inline]
    fn lift(
        view: &'a GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<Self, GuestError> {
        let entries = entries(view, ptr, count)?;
        let mut slices = view.filling(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let bytes = view.bytes(entry.buf.into(), entry.buf_len.into());
            slices.push(IoSlice::new(bytes.map_err(in_entry(index))?));
        }
        Ok(slices.finish())
    }
}

impl<'a, S> Lift<'a, S> for &'a mut [IoSliceMut<'a>] {
    type Abi = (u32, u32);
    const MUTABLE: bool = true;
    #[inline]
    fn lift(
        view: &'a GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<Self, GuestError> {
        let entries = entries(view, ptr, count)?;
        let mut slices = view.filling(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            let bytes = view.bytes_mut(entry.buf.into(), entry.buf_len.into());
            slices.push(IoSliceMut::new(bytes.map_err(in_entry(index))?));
        }
        Ok(slices.finish())
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
