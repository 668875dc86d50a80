//! Scratch space for host-side arrays built while lifting (the `IoSlice`
//! list of an iovec argument), living as long as the call's view.
//!
//! The first few hundred bytes come from an inline, uninitialised buffer, so
//! a typical call allocates nothing; larger requests spill to a bump arena.

use std::cell::{Cell, OnceCell, UnsafeCell};
use std::mem::{MaybeUninit, align_of, size_of};

const INLINE_BYTES: usize = 256;
const INLINE_ALIGN: usize = 8;

#[repr(C, align(8))]
struct Inline([MaybeUninit<u8>; INLINE_BYTES]);

/// A bump allocator over an inline buffer, with an arena for overflow.
///
/// Destructors of allocated values never run; it is meant for types without
/// drop glue (`IoSlice`, `IoSliceMut`), for which that is exactly right.
pub(crate) struct Scratch {
    inline: UnsafeCell<Inline>,
    used: Cell<usize>,
    overflow: OnceCell<bumpalo::Bump>,
}

impl Scratch {
    #[inline(always)]
    pub(crate) const fn new() -> Self {
        Scratch {
            inline: UnsafeCell::new(Inline([MaybeUninit::uninit(); INLINE_BYTES])),
            used: Cell::new(0),
            overflow: OnceCell::new(),
        }
    }

    /// A slice of `len` values made by `fill`, valid while `self` is borrowed.
    #[allow(clippy::mut_from_ref)] // every allocation is a fresh, disjoint region
    pub(crate) fn alloc_slice<T>(&self, len: usize, mut fill: impl FnMut(usize) -> T) -> &mut [T] {
        let start = self.used.get().next_multiple_of(align_of::<T>());
        let end = len
            .checked_mul(size_of::<T>())
            .and_then(|bytes| start.checked_add(bytes));
        match end {
            Some(end) if end <= INLINE_BYTES && align_of::<T>() <= INLINE_ALIGN => {
                // Reserve before `fill` runs, so nothing else can be given
                // these bytes even if `fill` allocates again.
                self.used.set(end);
                let base = self.inline.get().cast::<u8>();
                // SAFETY: `start..end` lies inside the inline buffer (checked
                // above); the buffer is 8-aligned and `start` is a multiple of
                // `align_of::<T>() <= 8`, so `slot` is aligned for `T`. `used`
                // only grows, so this range is disjoint from every slice
                // handed out before, and writing through the `UnsafeCell`
                // while `&self` is shared is allowed. Each element is written
                // before the slice is formed, and the slice borrows `self`, so
                // the buffer cannot move or be reused while it lives.
                unsafe {
                    let slot = base.add(start).cast::<T>();
                    for i in 0..len {
                        slot.add(i).write(fill(i));
                    }
                    std::slice::from_raw_parts_mut(slot, len)
                }
            }
            _ => self
                .overflow
                .get_or_init(bumpalo::Bump::new)
                .alloc_slice_fill_with(len, fill),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_disjoint_aligned_and_spill_when_full() {
        let scratch = Scratch::new();
        let a = scratch.alloc_slice(3, |i| i as u8);
        let b = scratch.alloc_slice(2, |i| (i as u64) << 40);
        assert_eq!(b.as_ptr() as usize % 8, 0);
        let big = scratch.alloc_slice(100, |i| i as u32); // 400 bytes: spills
        let c = scratch.alloc_slice(4, |i| [i as u16; 3]);
        a[0] = 9;
        assert_eq!(
            (a, &*b, big.len(), big[99]),
            (&mut [9, 1, 2][..], &[0, 1 << 40][..], 100, 99)
        );
        assert_eq!(c[3], [3; 3]);
    }
}
