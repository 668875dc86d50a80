//! Fiber stacks for Wasmtime processes, kept for the next process.
//!
//! Each Wasmtime process runs on a fiber whose stack, with Wasmtime's
//! on-demand allocator, is a fresh `mmap`, an `mprotect` for its guard
//! page, page faults as the guest first touches it, and a `munmap` when the
//! process ends: a large part of what a spawn costs. [`StackCache`] (the
//! engine's [`StackCreator`]) keeps up to [`KEEP`] stacks of processes that
//! ended and hands them to the next ones, already mapped, guarded and with
//! their pages resident (the system calls and the page faults saved). A
//! stack is reused only once the fiber that ran on it is gone (Wasmtime
//! drops a stack only then), never shared.
//!
//! A reused stack still holds the bytes the last process's fiber left on
//! it, as a stack of Wasmtime's pooling allocator does by default: compiled
//! code and host functions never read a stack slot they did not write, so
//! no guest can see them. When Wasmtime asks for zeroed stacks
//! (`Config::async_stack_zeroing`, set by `Settings::stack_zeroing`) a
//! reused stack's pages are given back to the kernel first
//! (`MADV_DONTNEED`), so the process finds it zero-filled, as a fresh
//! mapping would be; that costs a system call (and a TLB shootdown across
//! the executor's threads) per spawn.

use std::ops::Range;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, PoisonError};

use rustix::mm::{
    Advice, MapFlags, MprotectFlags, ProtFlags, madvise, mmap_anonymous, mprotect, munmap,
};
use wasmtime::{StackCreator, StackMemory};

/// Most stacks kept for reuse: enough for the spawns of a busy node. A kept
/// stack holds the pages its last fiber touched (a few for most processes;
/// at worst the whole stack, 2 MiB by default, so 128 MiB for all of them).
pub(crate) const KEEP: usize = 64;

/// The engine's fiber stacks: new ones mapped on demand, those of ended
/// processes kept for the next.
#[derive(Debug)]
pub(crate) struct StackCache {
    free: Arc<FreeStacks>,
}

/// The stacks kept, shared by the cache and every stack it handed out.
#[derive(Debug)]
struct FreeStacks(Mutex<Vec<Mapping>>);

impl StackCache {
    pub(crate) fn new() -> Self {
        StackCache {
            free: Arc::new(FreeStacks(Mutex::new(Vec::with_capacity(KEEP)))),
        }
    }
}

impl FreeStacks {
    /// A kept stack made for `size` bytes, if there is one.
    fn take(&self, size: usize) -> Option<Mapping> {
        let mut free = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match free.pop() {
            Some(mapping) if mapping.requested == size => Some(mapping),
            // Another size: the engine's stack size is fixed, so this cannot
            // happen; such a stack is dropped (unmapped) after the unlock.
            Some(other) => {
                drop(free);
                drop(other);
                None
            }
            None => None,
        }
    }

    /// Keeps `mapping` for the next stack, as it is, or unmaps it (after
    /// the unlock) if enough are kept.
    fn give_back(&self, mapping: Mapping) {
        let mut free = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < KEEP {
            free.push(mapping);
        }
    }
}

// SAFETY: `new_stack` returns stacks that satisfy `StackMemory`'s contract
// (see `CachedStack`): page-aligned, a whole number of pages, a guard page
// below, each owned by one stack at a time. A reused stack is not
// zero-filled unless `zeroed` asks for it: Wasmtime asks exactly when
// `async_stack_zeroing` is on, and its own pooled stacks are reused as they
// are otherwise (no code reads a stack slot it did not write).
unsafe impl StackCreator for StackCache {
    fn new_stack(&self, size: usize, zeroed: bool) -> wasmtime::Result<Box<dyn StackMemory>> {
        // A fresh mapping is zero-filled; a kept one only once cleared (one
        // that cannot be is unmapped, and a fresh one made).
        let reused = self
            .free
            .take(size)
            .filter(|mapping| !zeroed || mapping.clear().is_ok());
        let mapping = match reused {
            Some(mapping) => mapping,
            None => Mapping::new(size)
                .map_err(|e| wasmtime::Error::msg(format!("cannot map a fiber stack: {e}")))?,
        };
        Ok(Box::new(CachedStack {
            mapping: Some(mapping),
            free: self.free.clone(),
        }))
    }
}

/// One anonymous mapping: a guard page, then `size` bytes of stack (the
/// `requested` size rounded up to whole pages, at least one).
#[derive(Debug)]
struct Mapping {
    base: NonNull<u8>,
    guard: usize,
    size: usize,
    requested: usize,
}

// SAFETY: a `Mapping` is memory that only its owner uses; moving or
// sharing the owner between threads moves nothing else.
unsafe impl Send for Mapping {}
// SAFETY: as for `Send`: `&Mapping` only reads its address and sizes.
unsafe impl Sync for Mapping {}

impl Mapping {
    fn new(requested: usize) -> std::io::Result<Mapping> {
        let page = rustix::param::page_size();
        let size = requested
            .max(1)
            .checked_next_multiple_of(page)
            .ok_or(std::io::ErrorKind::InvalidInput)?;
        let len = size
            .checked_add(page)
            .ok_or(std::io::ErrorKind::InvalidInput)?;
        // SAFETY: a new private anonymous mapping at an address the kernel
        // chooses: it overlaps nothing, and nothing else refers to it.
        let base = unsafe {
            mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }?;
        // A successful mmap never returns null; the check keeps the type.
        let Some(base) = NonNull::new(base.cast::<u8>()) else {
            return Err(std::io::ErrorKind::Other.into());
        };
        let mapping = Mapping {
            base,
            guard: page,
            size,
            requested,
        };
        // SAFETY: `base..base + page` is the first page of the mapping just
        // made, which nothing uses yet; it becomes the guard. On failure,
        // dropping `mapping` unmaps the whole of it.
        unsafe { mprotect(mapping.base.as_ptr().cast(), page, MprotectFlags::empty()) }?;
        Ok(mapping)
    }

    fn start(&self) -> usize {
        self.base.as_ptr() as usize
    }

    /// Gives the stack's pages back to the kernel: the next touch of each
    /// finds a zero-filled page.
    fn clear(&self) -> std::io::Result<()> {
        let stack = self.base.as_ptr().wrapping_add(self.guard);
        // SAFETY: the stack part of this mapping, which no fiber uses any
        // more (the stack that used it was dropped); `MADV_DONTNEED` on a
        // private anonymous mapping only replaces its pages with zero ones.
        unsafe { madvise(stack.cast(), self.size, Advice::LinuxDontNeed) }?;
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, whole; a `Mapping` is dropped
        // only when no stack uses it (see `CachedStack`).
        let _ = unsafe { munmap(self.base.as_ptr().cast(), self.guard + self.size) };
    }
}

/// A stack handed to Wasmtime; dropped when its fiber is gone, which gives
/// the mapping back to the cache.
struct CachedStack {
    mapping: Option<Mapping>,
    free: Arc<FreeStacks>,
}

impl CachedStack {
    fn mapping(&self) -> &Mapping {
        self.mapping.as_ref().expect("present until dropped")
    }
}

// SAFETY: `top`, `range` and `guard_range` describe the owned mapping: a
// page-aligned guard page, then a whole number of pages of stack that no
// one else uses while this stack lives.
unsafe impl StackMemory for CachedStack {
    fn top(&self) -> *mut u8 {
        let mapping = self.mapping();
        mapping
            .base
            .as_ptr()
            .wrapping_add(mapping.guard + mapping.size)
    }

    fn range(&self) -> Range<usize> {
        let mapping = self.mapping();
        let bottom = mapping.start() + mapping.guard;
        bottom..bottom + mapping.size
    }

    fn guard_range(&self) -> Range<*mut u8> {
        let mapping = self.mapping();
        mapping.base.as_ptr()..mapping.base.as_ptr().wrapping_add(mapping.guard)
    }
}

impl Drop for CachedStack {
    fn drop(&mut self) {
        if let Some(mapping) = self.mapping.take() {
            self.free.give_back(mapping);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills a live stack's whole range with `byte`.
    fn scribble(stack: &dyn StackMemory, byte: u8) {
        let range = stack.range();
        // SAFETY: the range is this live stack's own writable memory, and
        // nothing else uses it.
        unsafe { std::ptr::write_bytes(range.start as *mut u8, byte, range.len()) };
    }

    /// A live stack's bytes.
    fn bytes(stack: &dyn StackMemory) -> &[u8] {
        let range = stack.range();
        // SAFETY: as in `scribble`; the slice lives no longer than `stack`.
        unsafe { std::slice::from_raw_parts(range.start as *const u8, range.len()) }
    }

    #[test]
    fn a_stack_is_reused_only_after_it_was_dropped() {
        let cache = StackCache::new();
        let size = 64 * 1024;
        let first = cache.new_stack(size, false).unwrap();
        let second = cache.new_stack(size, false).unwrap();
        assert_ne!(first.top(), second.top());
        let top = first.top();
        assert_eq!(first.range().len(), size);
        assert_eq!(first.range().end, top as usize);
        assert_eq!(first.guard_range().end as usize, first.range().start);
        assert!(bytes(&*first).iter().all(|b| *b == 0), "a fresh stack");
        scribble(&*first, 0xa5);
        drop(first);
        // The next stack is the same one, as the last process left it.
        let third = cache.new_stack(size, false).unwrap();
        assert_eq!(third.top(), top, "the dropped stack comes back");
        assert!(bytes(&*third).iter().all(|b| *b == 0xa5));
        drop((second, third));
        // Both stacks (the first came back as the third) are kept.
        assert_eq!(cache.free.0.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_zeroed_stack_is_cleared_before_it_is_reused() {
        let cache = StackCache::new();
        let size = 64 * 1024;
        let first = cache.new_stack(size, true).unwrap();
        let top = first.top();
        scribble(&*first, 0x5a);
        drop(first);
        let again = cache.new_stack(size, true).unwrap();
        assert_eq!(again.top(), top, "the dropped stack comes back");
        assert!(bytes(&*again).iter().all(|b| *b == 0));
    }
}
