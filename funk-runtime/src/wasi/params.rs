//! Parameters of the file-system functions: iovecs shaped for blocking
//! work done off the executor, and paths.
//!
//! funk's own `&mut [IoSliceMut]` and `&[IoSlice]` parameters of an async
//! host function lend the method a copy of the guest's buffers. For a
//! read, that copy is made before the read and thrown away (the read
//! overwrites it), and neither copy can move to a blocking thread (it is
//! borrowed). [`ReadBufs`] and [`WriteBufs`] are the same ABI, checked the
//! same way (the iovec count limit, bounds, and for reads, no overlap with
//! anything else the call borrows), but hold what blocking work needs:
//!
//! - [`ReadBufs`] copies nothing in. It records where the guest's buffers
//!   are; the method hands it the bytes it read (an owned `Vec`, filled on
//!   whatever thread did the read), and funk copies them into the guest's
//!   buffers, in order, when the method returns.
//! - [`WriteBufs`] copies the guest's bytes once, into one owned `Vec` the
//!   method can move to a blocking thread.
//!
//! One call moves at most [`MAX_IO`] bytes: a larger read or write is a
//! short one, as POSIX allows (callers loop, as `read_exact` and
//! `write_all` do). That bounds the host memory a call can take, however
//! many buffers name the same guest bytes.
//!
//! [`GuestPath`] is a path: `(ptr, len)` of UTF-8 (preview 1's paths are
//! strings). Bounds are checked as usual (a trap); bytes that are not
//! UTF-8 are the errno `ilseq`, reported after the descriptor's checks.

use std::io::{IoSlice, IoSliceMut};

use funk::iovec::MAX_IOVECS;
use funk::{GuestError, GuestIoVec, GuestMemory, GuestView, Lift, LiftAsync};

use super::Errno;

/// The most bytes one read or write moves.
pub const MAX_IO: usize = 4 << 20;

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

/// `(iovs_ptr, iovs_count)` of `fd_read`, `fd_pread`, `sock_recv`: where
/// the bytes read go.
#[derive(Debug)]
pub enum ReadBufs<'a> {
    /// A synchronous call: the guest's buffers themselves.
    Direct(&'a mut [IoSliceMut<'a>]),
    /// An async call: where they are, and the bytes to copy there.
    Held(&'a mut HeldRead),
}

/// The guest's read buffers of an async call (see [`ReadBufs`]).
#[derive(Debug, Default)]
pub struct HeldRead {
    /// Guest address and length of each buffer, in order.
    regions: Vec<(u64, usize)>,
    /// Their total length, capped at [`MAX_IO`].
    capacity: usize,
    /// What the method read.
    data: Vec<u8>,
}

impl ReadBufs<'_> {
    /// How many bytes the buffers take, at most [`MAX_IO`].
    pub fn capacity(&self) -> usize {
        match self {
            ReadBufs::Direct(bufs) => bufs.iter().map(|b| b.len()).sum::<usize>().min(MAX_IO),
            ReadBufs::Held(held) => held.capacity,
        }
    }

    /// Hands over the bytes read (at most [`capacity`](Self::capacity);
    /// any more are dropped). Returns how many the guest gets.
    pub fn fill(&mut self, mut data: Vec<u8>) -> usize {
        data.truncate(self.capacity());
        let n = data.len();
        match self {
            ReadBufs::Direct(bufs) => {
                let mut rest = &data[..];
                for buf in bufs.iter_mut() {
                    let n = buf.len().min(rest.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    rest = &rest[n..];
                }
            }
            ReadBufs::Held(held) => held.data = data,
        }
        n
    }
}

impl<'a, S> Lift<'a, S> for ReadBufs<'a> {
    type Abi = (u32, u32);
    const MUTABLE: bool = true;
    fn lift(view: &'a GuestView<'_>, state: &mut S, abi: (u32, u32)) -> Result<Self, GuestError> {
        <&'a mut [IoSliceMut<'a>] as Lift<'a, S>>::lift(view, state, abi).map(ReadBufs::Direct)
    }
}

impl<'a, S> LiftAsync<'a, S> for ReadBufs<'a> {
    type Held = HeldRead;

    fn hold(
        view: &GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<HeldRead, GuestError> {
        let entries = entries(view, ptr, count)?;
        let mut held = HeldRead {
            regions: Vec::with_capacity(entries.len()),
            ..HeldRead::default()
        };
        for (index, entry) in entries.iter().enumerate() {
            // Claims the region, so the mutable buffers may not overlap
            // each other or anything else of the call; nothing is copied.
            let bytes = view
                .bytes_mut(entry.buf.into(), entry.buf_len.into())
                .map_err(in_entry(index))?;
            held.capacity = held.capacity.saturating_add(bytes.len()).min(MAX_IO);
            held.regions.push((entry.buf.into(), bytes.len()));
        }
        Ok(held)
    }

    fn lend(held: &'a mut HeldRead) -> Self {
        ReadBufs::Held(held)
    }

    fn write_back(held: HeldRead, memory: &mut GuestMemory<'_>) -> Result<(), GuestError> {
        let mut rest = &held.data[..];
        for (index, (at, len)) in held.regions.into_iter().enumerate() {
            if rest.is_empty() {
                break;
            }
            let n = len.min(rest.len());
            memory
                .write_bytes(at, &rest[..n])
                .map_err(in_entry(index))?;
            rest = &rest[n..];
        }
        Ok(())
    }
}

/// `(iovs_ptr, iovs_count)` of `fd_write`, `fd_pwrite`, `sock_send`: the
/// bytes to write.
#[derive(Debug)]
pub enum WriteBufs<'a> {
    /// A synchronous call: the guest's buffers themselves.
    Direct(&'a [IoSlice<'a>]),
    /// An async call: a copy of their bytes, back to back.
    Held(&'a mut Vec<u8>),
}

impl WriteBufs<'_> {
    /// The bytes to write, at most [`MAX_IO`], as one owned buffer (taken
    /// from an async call's copy without copying again).
    pub fn take(&mut self) -> Vec<u8> {
        match self {
            WriteBufs::Direct(bufs) => {
                let mut data = Vec::new();
                for buf in bufs.iter() {
                    let n = buf.len().min(MAX_IO - data.len());
                    data.extend_from_slice(&buf[..n]);
                }
                data
            }
            WriteBufs::Held(data) => std::mem::take(*data),
        }
    }
}

impl<'a, S> Lift<'a, S> for WriteBufs<'a> {
    type Abi = (u32, u32);
    fn lift(view: &'a GuestView<'_>, state: &mut S, abi: (u32, u32)) -> Result<Self, GuestError> {
        <&'a [IoSlice<'a>] as Lift<'a, S>>::lift(view, state, abi).map(WriteBufs::Direct)
    }
}

impl<'a, S> LiftAsync<'a, S> for WriteBufs<'a> {
    type Held = Vec<u8>;

    fn hold(
        view: &GuestView<'_>,
        _: &mut S,
        (ptr, count): (u32, u32),
    ) -> Result<Vec<u8>, GuestError> {
        let entries = entries(view, ptr, count)?;
        let mut slices = Vec::with_capacity(entries.len());
        let mut total = 0usize;
        for (index, entry) in entries.iter().enumerate() {
            let bytes = view
                .bytes(entry.buf.into(), entry.buf_len.into())
                .map_err(in_entry(index))?;
            total = total.saturating_add(bytes.len());
            slices.push(bytes);
        }
        let mut data = Vec::with_capacity(total.min(MAX_IO));
        for bytes in slices {
            let n = bytes.len().min(MAX_IO - data.len());
            data.extend_from_slice(&bytes[..n]);
        }
        Ok(data)
    }

    fn lend(held: &'a mut Vec<u8>) -> Self {
        WriteBufs::Held(held)
    }
}

/// A path argument: the guest's string, or `ilseq` if it is not UTF-8.
#[derive(Debug)]
pub struct GuestPath(Result<String, Errno>);

impl GuestPath {
    /// The path, or `ilseq`.
    pub fn get(self) -> Result<String, Errno> {
        self.0
    }
}

impl<'a, S> Lift<'a, S> for GuestPath {
    type Abi = (u32, u32);
    fn lift(
        view: &'a GuestView<'_>,
        _: &mut S,
        (ptr, len): (u32, u32),
    ) -> Result<Self, GuestError> {
        let bytes = view.bytes(ptr.into(), len.into())?;
        Ok(GuestPath(
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| Errno::IlSeq),
        ))
    }
}

impl<'a, S> LiftAsync<'a, S> for GuestPath {
    type Held = GuestPath;
    fn hold(view: &GuestView<'_>, state: &mut S, abi: (u32, u32)) -> Result<GuestPath, GuestError> {
        <GuestPath as Lift<'_, S>>::lift(view, state, abi)
    }
    fn lend(held: &'a mut GuestPath) -> GuestPath {
        std::mem::replace(held, GuestPath(Err(Errno::Inval)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory_with_iovecs(words: &mut [u64], iovecs: &[(u32, u32)], at: usize) {
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(words);
        for (i, (buf, len)) in iovecs.iter().enumerate() {
            bytes[at + 8 * i..at + 8 * i + 4].copy_from_slice(&buf.to_le_bytes());
            bytes[at + 8 * i + 4..at + 8 * i + 8].copy_from_slice(&len.to_le_bytes());
        }
    }

    #[test]
    fn reads_copy_nothing_in_and_scatter_what_was_read() {
        let mut words = vec![u64::MAX; 32];
        memory_with_iovecs(&mut words, &[(64, 3), (80, 4)], 0);
        let mut memory = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let mut held = {
            let view = memory.view(true);
            <ReadBufs<'_> as LiftAsync<'_, ()>>::hold(&view, &mut (), (0, 2)).unwrap()
        };
        let mut bufs = <ReadBufs<'_> as LiftAsync<'_, ()>>::lend(&mut held);
        assert_eq!(bufs.capacity(), 7);
        assert_eq!(bufs.fill(b"abcdefghij".to_vec()), 7);
        <ReadBufs<'_> as LiftAsync<'_, ()>>::write_back(held, &mut memory).unwrap();
        let bytes = memory.bytes().unwrap();
        assert_eq!(&bytes[64..68], b"abc\xff");
        assert_eq!(&bytes[80..85], b"defg\xff");
    }

    #[test]
    fn overlapping_read_buffers_are_refused() {
        let mut words = vec![0u64; 32];
        memory_with_iovecs(&mut words, &[(64, 8), (68, 8)], 0);
        let mut memory = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = memory.view(true);
        let err = <ReadBufs<'_> as LiftAsync<'_, ()>>::hold(&view, &mut (), (0, 2)).unwrap_err();
        assert!(err.to_string().starts_with("iovec 1: region"), "{err}");
        let err = <ReadBufs<'_> as LiftAsync<'_, ()>>::hold(&view, &mut (), (0, 1025)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "iovec count 1025 exceeds the limit of 1024"
        );
    }

    #[test]
    fn writes_are_one_copy_capped_at_max_io() {
        let mut words = vec![0u64; 32];
        memory_with_iovecs(&mut words, &[(64, 2), (64, 3)], 0);
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words);
        bytes[64..67].copy_from_slice(b"xyz");
        let mut memory = GuestMemory::new(bytes);
        let view = memory.view(false);
        let mut held = <WriteBufs<'_> as LiftAsync<'_, ()>>::hold(&view, &mut (), (0, 2)).unwrap();
        let mut bufs = <WriteBufs<'_> as LiftAsync<'_, ()>>::lend(&mut held);
        assert_eq!(bufs.take(), b"xyxyz");
    }
}
