//! Guest linear memory as the host sees it during one call.
//!
//! A backend hands the shim a [`GuestMemory`]: the guest's bytes borrowed
//! mutably for the duration of the call (the guest cannot run while its host
//! function does). Arguments are lifted through a [`GuestView`], which lends
//! out several regions at once and refuses any mutable region that overlaps
//! another; results are written back through the `GuestMemory` after the view,
//! and with it every lent region, is gone. The compiler proves the second part.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::mem::{align_of, size_of};
use std::ops::Range;

use crate::error::{GuestError, MemoryUnavailable};
use crate::plain::{Plain, assert_not_zero_sized};
use crate::scratch::{Filling, Scratch};

/// Computes the byte range `ptr..ptr + len` inside a memory of `memory`
/// bytes, with every step checked. This is the one bounds check in funk.
#[inline]
pub fn region(ptr: u64, len: u64, memory: usize) -> Result<Range<usize>, GuestError> {
    // `let else`, not `ok_or`: the error has drop glue, and building it
    // eagerly costs every successful call an out-of-line drop.
    let Some(end) = ptr.checked_add(len) else {
        return Err(GuestError::AddressOverflow { ptr, len });
    };
    let size = memory as u64;
    if end > size {
        return Err(GuestError::OutOfBounds {
            start: ptr,
            end,
            memory: size,
        });
    }
    // Both fit in `memory`, which is a `usize`.
    Ok(ptr as usize..end as usize)
}

/// Byte length of `count` elements of `T`, checked.
#[inline]
pub fn array_len<T>(count: u64) -> Result<u64, GuestError> {
    let size = size_of::<T>() as u64;
    match count.checked_mul(size) {
        Some(bytes) => Ok(bytes),
        None => Err(GuestError::CountOverflow { count, size }),
    }
}

#[inline]
fn check_align<T>(ptr: u64) -> Result<(), GuestError> {
    let align = align_of::<T>() as u64;
    if !ptr.is_multiple_of(align) {
        return Err(GuestError::Misaligned { ptr, align });
    }
    Ok(())
}

/// The guest memory of one call, or the reason it is unavailable.
#[derive(Debug)]
pub struct GuestMemory<'m> {
    bytes: Result<&'m mut [u8], MemoryUnavailable>,
}

impl<'m> GuestMemory<'m> {
    /// Wraps the guest's memory bytes.
    pub fn new(bytes: &'m mut [u8]) -> Self {
        GuestMemory { bytes: Ok(bytes) }
    }

    /// A memory that cannot be reached; every access fails with `why`.
    pub fn unavailable(why: MemoryUnavailable) -> Self {
        GuestMemory { bytes: Err(why) }
    }

    /// The whole memory.
    pub fn bytes(&self) -> Result<&[u8], MemoryUnavailable> {
        self.bytes.as_deref().map_err(|e| *e)
    }

    /// The whole memory, mutably.
    pub fn bytes_mut(&mut self) -> Result<&mut [u8], MemoryUnavailable> {
        self.bytes.as_deref_mut().map_err(|e| *e)
    }

    /// Starts lending out regions for argument lifting.
    ///
    /// With `lends_mutably: false` the view only lends shared regions, which
    /// can never alias unsoundly, so it skips the alias bookkeeping; a
    /// mutable request then fails with [`GuestError::UndeclaredMutableBorrow`].
    /// The generated shims pass `true` exactly when some parameter's
    /// [`Lift::MUTABLE`](crate::Lift::MUTABLE) says so.
    #[inline(always)]
    pub fn view(&mut self, lends_mutably: bool) -> GuestView<'_> {
        let (base, len, unavailable) = match &mut self.bytes {
            Ok(bytes) => (bytes.as_mut_ptr(), bytes.len(), None),
            Err(why) => (std::ptr::null_mut(), 0, Some(*why)),
        };
        GuestView {
            base,
            len,
            unavailable,
            borrows: lends_mutably.then(|| RefCell::new(BorrowSet::default())),
            scratch: Scratch::new(),
            _memory: PhantomData,
        }
    }

    /// Copies `data` to guest address `ptr`.
    pub fn write_bytes(&mut self, ptr: u64, data: &[u8]) -> Result<(), GuestError> {
        let bytes = self.bytes_mut()?;
        let range = region(ptr, data.len() as u64, bytes.len())?;
        bytes[range].copy_from_slice(data);
        Ok(())
    }

    /// Writes `value` to the guest address `ptr`, which must be aligned for `T`.
    pub fn write<T: Plain>(&mut self, ptr: u64, value: T) -> Result<(), GuestError> {
        assert_not_zero_sized::<T>();
        check_align::<T>(ptr)?;
        self.write_bytes(ptr, bytemuck::bytes_of(&value))
    }

    /// Reads a `T` from the guest address `ptr`, which must be aligned for `T`.
    pub fn read<T: Plain>(&self, ptr: u64) -> Result<T, GuestError> {
        assert_not_zero_sized::<T>();
        check_align::<T>(ptr)?;
        let bytes = self.bytes()?;
        let range = region(ptr, size_of::<T>() as u64, bytes.len())?;
        Ok(bytemuck::pod_read_unaligned(&bytes[range]))
    }
}

/// Regions of guest memory lent out during one call.
///
/// Lifting takes `&GuestView`, so many arguments can hold regions at once.
/// Shared regions may overlap each other; a mutable region may overlap
/// nothing, which the view checks before it lends one out.
// `repr(C)` with the scratch buffer last; see `Scratch` for why.
#[repr(C)]
pub struct GuestView<'v> {
    base: *mut u8,
    len: usize,
    unavailable: Option<MemoryUnavailable>,
    /// `None` when the view lends only shared regions.
    borrows: Option<RefCell<BorrowSet>>,
    _memory: PhantomData<&'v mut [u8]>,
    scratch: Scratch,
}

impl std::fmt::Debug for GuestView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestView")
            .field("len", &self.len)
            .field("unavailable", &self.unavailable)
            .field("borrows", &self.borrows.as_ref().map(|b| b.borrow().len()))
            .finish()
    }
}

impl GuestView<'_> {
    /// Size of guest memory in bytes.
    #[inline]
    pub fn memory_size(&self) -> Result<usize, GuestError> {
        self.available()?;
        Ok(self.len)
    }

    #[inline]
    fn available(&self) -> Result<(), GuestError> {
        match self.unavailable {
            Some(why) => Err(why.into()),
            None => Ok(()),
        }
    }

    #[inline(always)]
    fn claim(&self, ptr: u64, len: u64, mutable: bool) -> Result<Range<usize>, GuestError> {
        self.available()?;
        self.claim_available(ptr, len, mutable)
    }

    /// [`claim`](Self::claim) without the availability check, for a view
    /// that is known to have memory: another claim on it succeeded (the
    /// iovec lifts claim their entry array first, then each buffer).
    #[inline(always)]
    fn claim_available(
        &self,
        ptr: u64,
        len: u64,
        mutable: bool,
    ) -> Result<Range<usize>, GuestError> {
        debug_assert!(self.unavailable.is_none());
        let range = region(ptr, len, self.len)?;
        match &self.borrows {
            Some(borrows) => {
                borrows
                    .borrow_mut()
                    .claim(range.start as u64, range.end as u64, mutable)?;
            }
            None if mutable => return Err(GuestError::UndeclaredMutableBorrow),
            // Shared regions never conflict with each other.
            None => {}
        }
        Ok(range)
    }

    /// Lends `len` bytes at `ptr`.
    #[inline(always)]
    pub fn bytes(&self, ptr: u64, len: u64) -> Result<&[u8], GuestError> {
        let range = self.claim(ptr, len, false)?;
        // SAFETY: `range` lies inside the `len` bytes at `base`, which the
        // view borrows mutably from `GuestMemory` for its whole life, so the
        // bytes are valid and nothing outside this view touches them. No
        // mutable region lent by this view overlaps `range`: either the
        // borrow set checked it, or (without one) the view lends no mutable
        // regions at all. Regions live no longer than `&self`.
        Ok(unsafe { std::slice::from_raw_parts(self.base.add(range.start), range.len()) })
    }

    /// [`bytes`](Self::bytes) on a view known to have memory (see
    /// `claim_available`).
    #[inline(always)]
    pub(crate) fn bytes_of_available(&self, ptr: u64, len: u64) -> Result<&[u8], GuestError> {
        let range = self.claim_available(ptr, len, false)?;
        // SAFETY: as in `bytes`: the view has memory (the caller's earlier
        // claim succeeded, so `base` is the memory's start) and `range`
        // lies inside it, with no mutable region overlapping.
        Ok(unsafe { std::slice::from_raw_parts(self.base.add(range.start), range.len()) })
    }

    /// [`bytes_mut`](Self::bytes_mut) on a view known to have memory (see
    /// `claim_available`).
    #[allow(clippy::mut_from_ref)] // exclusivity is checked by the borrow set
    #[inline(always)]
    pub(crate) fn bytes_mut_of_available(
        &self,
        ptr: u64,
        len: u64,
    ) -> Result<&mut [u8], GuestError> {
        let range = self.claim_available(ptr, len, true)?;
        // SAFETY: as in `bytes_mut`, on a view that has memory.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.base.add(range.start), range.len()) })
    }

    /// Lends `len` bytes at `ptr` mutably.
    #[allow(clippy::mut_from_ref)] // exclusivity is checked by the borrow set
    #[inline]
    pub fn bytes_mut(&self, ptr: u64, len: u64) -> Result<&mut [u8], GuestError> {
        let range = self.claim(ptr, len, true)?;
        // SAFETY: as in `bytes`; `claim` only grants a mutable region when
        // the borrow set exists and found no other region (shared or
        // mutable) overlapping `range`, so this is the only reference to
        // these bytes.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.base.add(range.start), range.len()) })
    }

    /// Lends `count` values of `T` at `ptr`, which must be aligned for `T`.
    #[inline]
    pub fn slice<T: Plain>(&self, ptr: u64, count: u64) -> Result<&[T], GuestError> {
        assert_not_zero_sized::<T>();
        check_align::<T>(ptr)?;
        let bytes = self.bytes(ptr, array_len::<T>(count)?)?;
        bytemuck::try_cast_slice(bytes).map_err(|_| GuestError::Misaligned {
            ptr,
            align: align_of::<T>() as u64,
        })
    }

    /// Lends `count` values of `T` at `ptr` mutably.
    #[allow(clippy::mut_from_ref)] // exclusivity is checked by the borrow set
    #[inline]
    pub fn slice_mut<T: Plain>(&self, ptr: u64, count: u64) -> Result<&mut [T], GuestError> {
        assert_not_zero_sized::<T>();
        check_align::<T>(ptr)?;
        let bytes = self.bytes_mut(ptr, array_len::<T>(count)?)?;
        bytemuck::try_cast_slice_mut(bytes).map_err(|_| GuestError::Misaligned {
            ptr,
            align: align_of::<T>() as u64,
        })
    }

    /// Lends the UTF-8 string of `len` bytes at `ptr`.
    #[inline]
    pub fn str(&self, ptr: u64, len: u64) -> Result<&str, GuestError> {
        let bytes = self.bytes(ptr, len)?;
        std::str::from_utf8(bytes).map_err(|e| GuestError::InvalidUtf8 {
            valid_up_to: e.valid_up_to(),
        })
    }

    /// Copies the `T` at `ptr` out of guest memory. It must not overlap a
    /// region lent mutably.
    #[inline]
    pub fn read<T: Plain>(&self, ptr: u64) -> Result<T, GuestError> {
        let value: &T = self.slice(ptr, 1).map(|s| &s[0])?;
        Ok(*value)
    }

    /// The view's memory for lending shared regions only, when that needs
    /// no claims: the view has memory and lends nothing mutably.
    #[inline(always)]
    pub(crate) fn shared_only(&self) -> Option<SharedOnly<'_>> {
        if self.unavailable.is_some() || self.borrows.is_some() {
            return None;
        }
        Some(SharedOnly {
            base: self.base,
            len: self.len,
            _view: PhantomData,
        })
    }

    /// Room for a host-side array that lives as long as the view (such as
    /// the `IoSlice` list of an iovec argument).
    #[inline(always)]
    pub(crate) fn filling<T>(&self, capacity: usize) -> Filling<'_, T> {
        self.scratch.filling(capacity)
    }
}

/// A view's memory where shared regions need only a bounds check (see
/// [`GuestView::shared_only`]).
///
/// It copies the view's base and length, so a loop lending many regions
/// keeps them in registers: through `&GuestView` (which holds a `RefCell`)
/// the compiler must reload them after every store the loop makes, such
/// as each `IoSlice` written to the view's own scratch.
#[derive(Clone, Copy)]
pub(crate) struct SharedOnly<'v> {
    base: *const u8,
    len: usize,
    _view: PhantomData<&'v [u8]>,
}

impl<'v> SharedOnly<'v> {
    /// Lends `len` bytes at `ptr`, as [`GuestView::bytes`] does.
    #[inline(always)]
    pub(crate) fn bytes(self, ptr: u64, len: u64) -> Result<&'v [u8], GuestError> {
        let range = region(ptr, len, self.len)?;
        // SAFETY: `base` and `len` are those of a view that has memory and
        // lends no mutable region (`shared_only`), and `'v` is a borrow of
        // that view: the bytes are valid for `'v`, `range` lies inside them,
        // and no mutable region can overlap it.
        Ok(unsafe { std::slice::from_raw_parts(self.base.add(range.start), range.len()) })
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Claim {
    start: u64,
    end: u64,
    mutable: bool,
}

const INLINE_CLAIMS: usize = 8;

/// The regions lent so far. Few calls lend more than a handful, so the first
/// ones are kept inline.
#[derive(Default)]
struct BorrowSet {
    inline: [Claim; INLINE_CLAIMS],
    inline_len: usize,
    spill: Vec<Claim>,
}

impl BorrowSet {
    fn len(&self) -> usize {
        self.inline_len + self.spill.len()
    }

    fn claim(&mut self, start: u64, end: u64, mutable: bool) -> Result<(), GuestError> {
        if start == end {
            // An empty region aliases nothing.
            return Ok(());
        }
        let existing = self.inline[..self.inline_len].iter().chain(&self.spill);
        for other in existing {
            let overlaps = start < other.end && other.start < end;
            if overlaps && (mutable || other.mutable) {
                return Err(GuestError::Overlap {
                    start,
                    end,
                    other_start: other.start,
                    other_end: other.end,
                    mutable,
                });
            }
        }
        let new = Claim {
            start,
            end,
            mutable,
        };
        if self.inline_len < INLINE_CLAIMS {
            self.inline[self.inline_len] = new;
            self.inline_len += 1;
        } else {
            self.spill.push(new);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(len: usize) -> Vec<u64> {
        vec![0; len / 8]
    }

    #[test]
    fn region_checks_end_and_overflow() {
        assert_eq!(region(0, 16, 16), Ok(0..16));
        assert_eq!(region(16, 0, 16), Ok(16..16));
        assert_eq!(
            region(0xfff0, 0x20, 0x10000),
            Err(GuestError::OutOfBounds {
                start: 0xfff0,
                end: 0x10010,
                memory: 0x10000
            })
        );
        assert!(matches!(
            region(u64::MAX, 1, 16),
            Err(GuestError::AddressOverflow { .. })
        ));
    }

    #[test]
    fn mutable_regions_must_not_overlap_anything() {
        let mut words = memory(64);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        let a = view.bytes(0, 8).unwrap();
        let b = view.bytes(4, 8).unwrap(); // shared + shared may overlap
        assert!(matches!(
            view.bytes_mut(6, 4),
            Err(GuestError::Overlap { mutable: true, .. })
        ));
        let c = view.bytes_mut(12, 4).unwrap();
        assert!(matches!(
            view.bytes(15, 1),
            Err(GuestError::Overlap { mutable: false, .. })
        ));
        c[0] = 1;
        assert_eq!(a.len() + b.len(), 16);
    }

    #[test]
    fn many_disjoint_claims_spill_past_the_inline_set() {
        let mut words = memory(128);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        let claims = INLINE_CLAIMS as u64 + 4;
        let parts: Vec<_> = (0..claims)
            .map(|i| view.bytes_mut(i * 8, 8).unwrap())
            .collect();
        // Overlaps both an inline claim and a spilled one.
        assert!(view.bytes_mut(60, 1).is_err());
        assert!(view.bytes(claims * 8 - 1, 1).is_err());
        assert_eq!(view.borrows.as_ref().unwrap().borrow().spill.len(), 4);
        assert_eq!(parts.len() as u64, claims);
    }

    #[test]
    fn typed_slices_check_alignment_and_count() {
        let mut words = memory(64);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(true);
        assert!(matches!(
            view.slice::<u32>(2, 1),
            Err(GuestError::Misaligned { ptr: 2, align: 4 })
        ));
        assert!(matches!(
            view.slice::<u64>(0, u64::MAX / 4),
            Err(GuestError::CountOverflow { .. })
        ));
        assert_eq!(view.slice::<u32>(4, 3).unwrap().len(), 3);
    }

    #[test]
    fn a_shared_only_view_refuses_mutable_regions() {
        let mut words = memory(16);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        let view = mem.view(false);
        assert_eq!(view.bytes(0, 8).unwrap().len(), 8);
        assert_eq!(view.bytes(4, 8).unwrap().len(), 8);
        assert_eq!(
            view.bytes_mut(8, 1),
            Err(GuestError::UndeclaredMutableBorrow)
        );
    }

    #[test]
    fn unavailable_memory_fails_every_access() {
        let mut mem = GuestMemory::unavailable(MemoryUnavailable::NotExported);
        let view = mem.view(true);
        assert_eq!(
            view.bytes(0, 0),
            Err(GuestError::Memory(MemoryUnavailable::NotExported))
        );
    }

    #[test]
    fn writes_and_reads_round_trip_with_alignment() {
        let mut words = memory(16);
        let mut mem = GuestMemory::new(bytemuck::cast_slice_mut(&mut words));
        mem.write(8, 0xdead_beef_u32).unwrap();
        assert_eq!(mem.read::<u32>(8).unwrap(), 0xdead_beef);
        assert!(matches!(
            mem.write(3, 1u32),
            Err(GuestError::Misaligned { .. })
        ));
        assert!(matches!(
            mem.write(16, 1u8),
            Err(GuestError::OutOfBounds { .. })
        ));
    }
}
