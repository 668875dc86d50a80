//! Scratch space for host-side arrays built while lifting (the `IoSlice`
//! list of an iovec argument), living as long as the call's view.
//!
//! The first few hundred bytes come from an inline, uninitialised buffer, so
//! a typical call allocates nothing; larger requests spill to a bump arena.

use std::cell::{Cell, OnceCell, UnsafeCell};
use std::marker::PhantomData;
use std::mem::{MaybeUninit, align_of, size_of};

const INLINE_BYTES: usize = 256;
const INLINE_ALIGN: usize = 8;

/// 8-aligned words, left uninitialised.
type Inline = MaybeUninit<[u64; INLINE_BYTES / 8]>;

/// A bump allocator over an inline buffer, with an arena for overflow.
///
/// Destructors of allocated values never run; it is meant for types without
/// drop glue (`IoSlice`, `IoSliceMut`), for which that is exactly right.
// `repr(C)`, buffer last: a zero-initialised field right next to the
// uninitialised buffer lets LLVM widen its store into a `memset` of the whole
// buffer on every call (seen in the profile). `left` is never zero at first.
#[repr(C)]
pub(crate) struct Scratch {
    overflow: OnceCell<bumpalo::Bump>,
    /// Bytes of the inline buffer not yet handed out.
    left: Cell<usize>,
    inline: UnsafeCell<Inline>,
}

impl Scratch {
    // Not a `const fn`: a constant would carry the buffer as zeroed bytes
    // and every call would `memset` it; `uninit()` at run time writes nothing.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Scratch {
            inline: UnsafeCell::new(Inline::uninit()),
            left: Cell::new(INLINE_BYTES),
            overflow: OnceCell::new(),
        }
    }

    /// Room for up to `capacity` values of `T`, filled in order with
    /// [`Filling::push`] and handed out by [`Filling::finish`].
    #[inline(always)]
    pub(crate) fn filling<T>(&self, capacity: usize) -> Filling<'_, T> {
        let start = (INLINE_BYTES - self.left.get()).next_multiple_of(align_of::<T>());
        let end = capacity
            .checked_mul(size_of::<T>())
            .and_then(|bytes| start.checked_add(bytes));
        match end {
            Some(end) if end <= INLINE_BYTES && align_of::<T>() <= INLINE_ALIGN => {
                // Reserve the whole range now: `left` only shrinks, so these
                // bytes are never given out again while `self` lives.
                self.left.set(INLINE_BYTES - end);
                // SAFETY: `start..end` lies inside the inline buffer, so the
                // offset stays in bounds of one allocation.
                let at = unsafe { self.inline.get().cast::<u8>().add(start) };
                Filling {
                    at: at.cast(),
                    capacity,
                    len: 0,
                    _scratch: PhantomData,
                }
            }
            _ => {
                let arena = self.overflow.get_or_init(bumpalo::Bump::new);
                // Callers ask for at most a few thousand small values (the
                // iovec count is limited), far below any layout limit.
                let layout = std::alloc::Layout::array::<T>(capacity)
                    .expect("scratch request within the layout limit");
                Filling {
                    at: arena.alloc_layout(layout).as_ptr().cast(),
                    capacity,
                    len: 0,
                    _scratch: PhantomData,
                }
            }
        }
    }
}

/// A slice being filled in the scratch: `len` of `capacity` slots at `at`
/// are written. The slots are in the inline buffer or in the overflow
/// arena; either way they belong to this filling alone for `'s`, so a push
/// is the same few instructions wherever they are.
pub(crate) struct Filling<'s, T> {
    at: *mut T,
    capacity: usize,
    len: usize,
    _scratch: PhantomData<&'s mut [T]>,
}

impl<'s, T> Filling<'s, T> {
    /// Appends `make(index, item)` for each of `items`, in order, and hands
    /// out everything pushed; stops at the first error. The capacity is
    /// checked once, before the loop, so each value is one store.
    ///
    /// # Panics
    /// If `items` holds more values than the capacity left (a bug in funk).
    #[inline(always)]
    pub(crate) fn fill<I, E>(
        mut self,
        items: &[I],
        mut make: impl FnMut(usize, &I) -> Result<T, E>,
    ) -> Result<&'s mut [T], E> {
        assert!(
            items.len() <= self.capacity - self.len,
            "scratch slice overfilled"
        );
        for (index, item) in items.iter().enumerate() {
            let value = make(index, item)?;
            // SAFETY: `len + index < len + items.len() <= capacity`, so the
            // slot lies in the range reserved for this filling (inline:
            // aligned and disjoint from every other allocation of the
            // scratch, written through the `UnsafeCell`'s pointer; spilled:
            // an arena allocation of `capacity` values of `T`, aligned for
            // it).
            unsafe { self.at.add(self.len + index).write(value) };
        }
        self.len += items.len();
        Ok(self.finish())
    }

    /// The values filled so far, borrowed for as long as the scratch.
    #[inline(always)]
    fn finish(self) -> &'s mut [T] {
        // SAFETY: the first `len` slots were written by `push`, are aligned
        // and lie in a range reserved for this filling alone; `'s` ties the
        // slice to the borrow of the scratch (and its arena), so the memory
        // can neither move nor be reused while the slice lives.
        unsafe { std::slice::from_raw_parts_mut(self.at, self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fillings_are_disjoint_aligned_and_spill_when_full() {
        let scratch = Scratch::new();
        let fill = |capacity: usize, f: &dyn Fn(usize) -> u64| {
            let items = vec![(); capacity];
            let filled = scratch
                .filling::<u64>(capacity)
                .fill(&items, |i, _| Ok::<_, ()>(f(i)));
            filled.unwrap()
        };
        let a = fill(3, &|i| i as u64);
        let b = fill(2, &|i| (i as u64) << 40);
        assert_eq!(b.as_ptr() as usize % 8, 0);
        let big = fill(100, &|i| i as u64); // 800 bytes: spills
        let short = scratch
            .filling::<u8>(4)
            .fill(&[7u8], |_, v| Ok::<_, ()>(*v));
        let short = short.unwrap();
        a[0] = 9;
        assert_eq!(
            (&*a, &*b, big.len(), big[99]),
            (&[9, 1, 2][..], &[0, 1 << 40][..], 100, 99)
        );
        assert_eq!(short, [7]);
    }
}
