//! Resources the host owns on a guest's behalf, named by typed handles.
//!
//! A [`ResourceTable`] holds any `Send + 'static` values. Inserting one gives
//! a [`Handle<T>`], a `u32` the guest can hold. The id carries a generation,
//! so a handle that outlived its resource (or was made up) is detected rather
//! than silently naming whatever reuses the slot, and the table remembers
//! each entry's type, so a handle of one type passed where another is
//! expected is refused too.
//!
//! Host functions take handles in one of three ways:
//! - [`Handle<T>`]: the raw typed id, not checked; the method decides what an
//!   unknown handle means (a WASI `EBADF`, say).
//! - [`Borrow<T>`]: checked before the method runs; the resource stays in
//!   the table and the method reaches it with `table[borrow]`.
//! - [`Take<T>`]: removed from the table and handed to the method by value.
//!
//! A bad `Borrow` or `Take` argument traps with the function and argument
//! named.

use std::any::{Any, TypeId, type_name};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut, Index, IndexMut};
use std::sync::atomic::{AtomicU64, Ordering};

const INDEX_BITS: u32 = 20;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
const MAX_GENERATION: u32 = (1 << (32 - INDEX_BITS)) - 1;

/// A raw handle id's slot index and generation.
#[inline]
fn split_id(id: u32) -> (usize, u32) {
    ((id & INDEX_MASK) as usize, id >> INDEX_BITS)
}

/// Why a handle does not name a usable resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// No resource was ever stored under this id.
    #[error("handle {id:#x} does not name a resource")]
    Invalid {
        /// The id.
        id: u32,
    },
    /// The resource this id named was closed or taken.
    #[error("handle {id:#x} is stale: its resource was closed or taken")]
    Stale {
        /// The id.
        id: u32,
    },
    /// The id names a resource of another type.
    #[error("handle {id:#x} names a `{found}`, expected a `{expected}`")]
    WrongType {
        /// The id.
        id: u32,
        /// The type the function expects.
        expected: &'static str,
        /// The type stored under the id.
        found: &'static str,
    },
    /// The table holds as many resources as handle ids can name.
    #[error("the resource table is full")]
    TableFull,
}

/// A typed id of a resource in a [`ResourceTable`].
///
/// As a parameter it is passed through unchecked (as a `u32`); as a result it
/// is returned to the guest as a `u32`.
pub struct Handle<T> {
    id: u32,
    _type: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    /// A handle from its raw id, as the guest passed it.
    pub const fn from_raw(id: u32) -> Self {
        Handle {
            id,
            _type: PhantomData,
        }
    }

    /// The raw id, as the guest sees it.
    pub const fn raw(self) -> u32 {
        self.id
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Handle<T> {}
impl<T> PartialEq for Handle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<T> Eq for Handle<T> {}
impl<T> std::hash::Hash for Handle<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}
impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle<{}>({:#x})", short_type_name::<T>(), self.id)
    }
}

/// A handle checked, when the call started, to name a live `T`.
///
/// Reach the resource with `table[borrow]` (or [`ResourceTable::get`]). It
/// stays in the table; the method may still close it, after which indexing
/// with this borrow panics (and the panic becomes a trap).
///
/// The borrow remembers the table's *stamp* at the check, a number that is
/// unique to the table and changes whenever a resource leaves it. While the
/// stamp is unchanged, `table[borrow]` is one comparison: the checked slot
/// still holds the checked `T`, so it is not looked up again. After any
/// removal, indexing checks the handle in full.
pub struct Borrow<T> {
    handle: Handle<T>,
    /// The table's `stamp` when the handle was checked.
    stamp: u64,
}

impl<T> Borrow<T> {
    /// Checks `handle` against `table`.
    pub fn check(table: &ResourceTable, handle: Handle<T>) -> Result<Self, HandleError>
    where
        T: Any,
    {
        table.get(handle)?;
        Ok(Borrow {
            handle,
            stamp: table.stamp,
        })
    }

    /// The handle.
    pub fn handle(&self) -> Handle<T> {
        self.handle
    }

    /// The slot index of the checked handle.
    fn index(&self) -> usize {
        split_id(self.handle.raw()).0
    }
}

impl<T> Clone for Borrow<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Borrow<T> {}
impl<T> fmt::Debug for Borrow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Borrow({:?})", self.handle)
    }
}

/// A resource removed from the table for the method to own.
pub struct Take<T> {
    value: T,
    handle: Handle<T>,
}

impl<T> Take<T> {
    /// Removes the resource named by `handle` from `table`.
    pub fn from_table(table: &mut ResourceTable, handle: Handle<T>) -> Result<Self, HandleError>
    where
        T: Any + Send,
    {
        let value = table.remove(handle)?;
        Ok(Take { value, handle })
    }

    /// The owned resource.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The handle it was taken from (now stale).
    pub fn handle(&self) -> Handle<T> {
        self.handle
    }
}

impl<T> Deref for Take<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}
impl<T> DerefMut for Take<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}
impl<T: fmt::Debug> fmt::Debug for Take<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Take")
            .field("handle", &self.handle)
            .field("value", &self.value)
            .finish()
    }
}

struct Entry {
    value: Box<dyn Any + Send>,
    /// The value's type, recorded once so lookups compare it without a
    /// virtual call.
    type_id: TypeId,
    type_name: &'static str,
}

impl Entry {
    /// The value as a `T`, or a wrong-type error.
    #[inline]
    fn downcast_ref<T: Any>(&self, id: u32) -> Result<&T, HandleError> {
        self.check::<T>(id)?;
        // SAFETY: `check` found the entry holding a `T`.
        Ok(unsafe { self.downcast_ref_unchecked() })
    }

    /// The value as a `T`, mutably, or a wrong-type error.
    #[inline]
    fn downcast_mut<T: Any>(&mut self, id: u32) -> Result<&mut T, HandleError> {
        self.check::<T>(id)?;
        // SAFETY: `check` found the entry holding a `T`.
        Ok(unsafe { self.downcast_mut_unchecked() })
    }

    /// The value as a `T`, without looking at its type.
    ///
    /// # Safety
    /// The entry must hold a `T` (`self.type_id == TypeId::of::<T>()`).
    #[inline]
    unsafe fn downcast_ref_unchecked<T: Any>(&self) -> &T {
        debug_assert_eq!(self.type_id, TypeId::of::<T>());
        let ptr: *const (dyn Any + Send) = &*self.value;
        // SAFETY: `type_id` was taken from the type the box was created
        // from, and the caller promises it is `T`: the box's data pointer
        // points to a valid `T`, borrowed for as long as `&self`.
        unsafe { &*ptr.cast::<T>() }
    }

    /// The value as a `T`, mutably, without looking at its type.
    ///
    /// # Safety
    /// The entry must hold a `T` (`self.type_id == TypeId::of::<T>()`).
    #[inline]
    unsafe fn downcast_mut_unchecked<T: Any>(&mut self) -> &mut T {
        debug_assert_eq!(self.type_id, TypeId::of::<T>());
        let ptr: *mut (dyn Any + Send) = &mut *self.value;
        // SAFETY: as in `downcast_ref_unchecked`; the pointer comes from a
        // unique borrow of the box that lasts as long as `&mut self`.
        unsafe { &mut *ptr.cast::<T>() }
    }

    #[inline]
    fn check<T: Any>(&self, id: u32) -> Result<(), HandleError> {
        if self.type_id == TypeId::of::<T>() {
            Ok(())
        } else {
            Err(HandleError::WrongType {
                id,
                expected: type_name::<T>(),
                found: self.type_name,
            })
        }
    }
}

#[derive(Default)]
struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

/// Per-instance storage of host resources, addressed by generation-checked
/// handles.
///
/// ```
/// use funk_core::{ResourceTable, HandleError};
/// let mut table = ResourceTable::new();
/// let file = table.insert(String::from("notes.txt")).unwrap();
/// assert_eq!(table.get(file).unwrap(), "notes.txt");
/// let name = table.remove(file).unwrap();
/// assert_eq!(name, "notes.txt");
/// assert!(matches!(table.get(file), Err(HandleError::Stale { .. })));
/// ```
pub struct ResourceTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    /// A `fresh_stamp`, taken when the table is made and again whenever a
    /// resource leaves it. Entries change only when one leaves (`insert`
    /// fills empty slots only), and no other table ever has the same stamp,
    /// so a [`Borrow`] with this stamp was checked here against the entry
    /// its slot still holds.
    stamp: u64,
}

impl Default for ResourceTable {
    fn default() -> Self {
        ResourceTable {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            stamp: fresh_stamp(),
        }
    }
}

/// A number no earlier call in this process returned.
///
/// Each thread takes stamps from a block of its own, so a stamp costs no
/// atomic operation (tables lose resources on every thread of a runtime).
fn fresh_stamp() -> u64 {
    const BLOCK: u64 = 1 << 24;
    static NEXT_BLOCK: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        /// The next stamp of this thread's block, and the block's end.
        static BLOCK_LEFT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    BLOCK_LEFT.with(|left| {
        let (mut next, mut end) = left.get();
        if next == end {
            // 2^40 blocks: more than a process can take (one per thread at
            // the least, and 16M stamps each), so this never wraps.
            let block = NEXT_BLOCK.fetch_add(1, Ordering::Relaxed);
            next = block.wrapping_mul(BLOCK);
            end = next.wrapping_add(BLOCK);
        }
        left.set((next.wrapping_add(1), end));
        next
    })
}

impl fmt::Debug for ResourceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceTable")
            .field("live", &self.live)
            .field("slots", &self.slots.len())
            .finish()
    }
}

/// State that owns a [`ResourceTable`], which [`Borrow`] and [`Take`]
/// parameters are checked against.
pub trait HasResources {
    /// The table handles are resolved in.
    fn resources(&mut self) -> &mut ResourceTable;
}

impl HasResources for ResourceTable {
    fn resources(&mut self) -> &mut ResourceTable {
        self
    }
}

impl ResourceTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live resources.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether the table holds no resources.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Stores `value` and returns its handle.
    pub fn insert<T: Any + Send>(&mut self, value: T) -> Result<Handle<T>, HandleError> {
        let entry = Entry {
            value: Box::new(value),
            type_id: TypeId::of::<T>(),
            type_name: type_name::<T>(),
        };
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|i| *i <= INDEX_MASK)
                    .ok_or(HandleError::TableFull)?;
                self.slots.push(Slot::default());
                index
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.generation += 1;
        slot.entry = Some(entry);
        self.live += 1;
        Ok(Handle::from_raw(slot.generation << INDEX_BITS | index))
    }

    /// The slot index of a live id, or why it is not live.
    #[inline]
    fn live_index(&self, id: u32) -> Result<usize, HandleError> {
        let (index, generation) = split_id(id);
        let slot = self
            .slots
            .get(index)
            .filter(|s| generation != 0 && generation <= s.generation)
            .ok_or(HandleError::Invalid { id })?;
        match slot.entry {
            Some(_) if slot.generation == generation => Ok(index),
            _ => Err(HandleError::Stale { id }),
        }
    }

    #[inline]
    fn entry_mut(&mut self, id: u32) -> Result<&mut Entry, HandleError> {
        let index = self.live_index(id)?;
        self.slots[index]
            .entry
            .as_mut()
            .ok_or(HandleError::Stale { id })
    }

    /// The resource named by `handle`.
    #[inline]
    pub fn get<T: Any>(&self, handle: impl Into<Handle<T>>) -> Result<&T, HandleError> {
        let id = handle.into().raw();
        // The fast path: one slot load and three comparisons. A live entry's
        // generation is never 0, so a generation-0 id never matches here.
        let (index, generation) = split_id(id);
        if let Some(Slot {
            generation: current,
            entry: Some(entry),
        }) = self.slots.get(index)
            && *current == generation
            && entry.type_id == TypeId::of::<T>()
        {
            return entry.downcast_ref(id);
        }
        self.get_slow(id)
    }

    /// Why `id` does not name a live `T` (the slow path of [`get`](Self::get)).
    #[cold]
    #[inline(never)]
    fn get_slow<T: Any>(&self, id: u32) -> Result<&T, HandleError> {
        let index = self.live_index(id)?;
        match &self.slots[index].entry {
            Some(entry) => entry.downcast_ref(id),
            None => Err(HandleError::Stale { id }),
        }
    }

    /// The resource named by `handle`, mutably.
    #[inline]
    pub fn get_mut<T: Any>(&mut self, handle: impl Into<Handle<T>>) -> Result<&mut T, HandleError> {
        let id = handle.into().raw();
        let (index, generation) = split_id(id);
        let live = matches!(
            self.slots.get(index),
            Some(Slot { generation: current, entry: Some(entry) })
                if *current == generation && entry.type_id == TypeId::of::<T>()
        );
        if !live {
            return self.get_mut_slow(id);
        }
        match &mut self.slots[index].entry {
            Some(entry) => entry.downcast_mut(id),
            None => Err(HandleError::Stale { id }),
        }
    }

    /// Why `id` does not name a live `T` (the slow path of
    /// [`get_mut`](Self::get_mut)).
    #[cold]
    #[inline(never)]
    fn get_mut_slow<T: Any>(&mut self, id: u32) -> Result<&mut T, HandleError> {
        self.entry_mut(id)?.downcast_mut(id)
    }

    /// Removes the resource named by `handle` and returns it. The handle and
    /// every copy of it become stale.
    pub fn remove<T: Any + Send>(
        &mut self,
        handle: impl Into<Handle<T>>,
    ) -> Result<T, HandleError> {
        let id = handle.into().raw();
        self.entry_mut(id)?.check::<T>(id)?;
        // The free list keeps indices as the ids hold them.
        let index = id & INDEX_MASK;
        let slot = &mut self.slots[index as usize];
        let entry = slot.entry.take().ok_or(HandleError::Stale { id })?;
        self.live -= 1;
        self.stamp = fresh_stamp();
        // A slot whose generations are used up is retired, so an old handle
        // can never match a new resource.
        if slot.generation < MAX_GENERATION {
            self.free.push(index);
        }
        let value = entry
            .value
            .downcast::<T>()
            .map_err(|_| HandleError::Stale { id })?;
        Ok(*value)
    }
}

impl<T> From<Borrow<T>> for Handle<T> {
    fn from(borrow: Borrow<T>) -> Self {
        borrow.handle
    }
}

impl<T: Any> Index<Borrow<T>> for ResourceTable {
    type Output = T;

    /// # Panics
    /// If the method closed the resource after the call checked the borrow.
    #[inline]
    fn index(&self, borrow: Borrow<T>) -> &T {
        if borrow.stamp != self.stamp {
            return self.index_slow(borrow);
        }
        // SAFETY: the stamp is this table's and unchanged since
        // `Borrow::check` found a live `T` at the borrow's slot, so no entry
        // has left the table since. An entry changes only by leaving:
        // `insert` writes only slots whose entry is `None`, and `get_mut`
        // lends the value, not the entry. So the slot exists and its entry
        // is still that `T`.
        unsafe {
            let slot = self.slots.get_unchecked(borrow.index());
            slot.entry
                .as_ref()
                .unwrap_unchecked()
                .downcast_ref_unchecked()
        }
    }
}

impl<T: Any> IndexMut<Borrow<T>> for ResourceTable {
    #[inline]
    fn index_mut(&mut self, borrow: Borrow<T>) -> &mut T {
        if borrow.stamp != self.stamp {
            return self.index_mut_slow(borrow);
        }
        // SAFETY: as in `index`; `&mut self` makes the borrow unique.
        unsafe {
            let slot = self.slots.get_unchecked_mut(borrow.index());
            slot.entry
                .as_mut()
                .unwrap_unchecked()
                .downcast_mut_unchecked()
        }
    }
}

impl ResourceTable {
    /// `table[borrow]` after a removal (or in another table): the full check.
    #[cold]
    #[inline(never)]
    fn index_slow<T: Any>(&self, borrow: Borrow<T>) -> &T {
        match self.get(borrow) {
            Ok(value) => value,
            Err(e) => panic!("{e}"),
        }
    }

    /// `table[borrow]`, mutably, after a removal: the full check.
    #[cold]
    #[inline(never)]
    fn index_mut_slow<T: Any>(&mut self, borrow: Borrow<T>) -> &mut T {
        match self.get_mut(borrow) {
            Ok(value) => value,
            Err(e) => panic!("{e}"),
        }
    }
}

fn short_type_name<T>() -> &'static str {
    let full = type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_never_zero() {
        let mut table = ResourceTable::new();
        let h = table.insert(1u8).unwrap();
        assert_ne!(h.raw(), 0);
        assert!(matches!(
            table.get::<u8>(Handle::from_raw(0)),
            Err(HandleError::Invalid { .. })
        ));
    }

    #[test]
    fn reused_slot_makes_old_handle_stale() {
        let mut table = ResourceTable::new();
        let a = table.insert(1u32).unwrap();
        table.remove(a).unwrap();
        let b = table.insert(2u32).unwrap();
        assert_eq!(a.raw() & INDEX_MASK, b.raw() & INDEX_MASK);
        assert_eq!(table.get(a), Err(HandleError::Stale { id: a.raw() }));
        assert_eq!(*table.get(b).unwrap(), 2);
    }

    #[test]
    fn wrong_type_is_reported_with_both_names() {
        let mut table = ResourceTable::new();
        let a = table.insert(1u32).unwrap();
        let forged: Handle<String> = Handle::from_raw(a.raw());
        assert!(matches!(
            table.get(forged),
            Err(HandleError::WrongType {
                expected: "alloc::string::String",
                found: "u32",
                ..
            })
        ));
        assert!(table.remove(forged).is_err());
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn forged_ids_are_invalid() {
        let mut table = ResourceTable::new();
        table.insert(1u32).unwrap();
        for id in [0x7fff_ffff, 0x0010_0005, u32::MAX, 0x0020_0000] {
            assert!(table.get::<u32>(Handle::from_raw(id)).is_err(), "{id:#x}");
        }
    }

    #[test]
    fn exhausted_slots_are_retired() {
        let mut table = ResourceTable::new();
        let mut first = None;
        for _ in 0..MAX_GENERATION {
            let h = table.insert(0u8).unwrap();
            first.get_or_insert(h);
            table.remove(h).unwrap();
        }
        let next = table.insert(0u8).unwrap();
        assert_ne!(next.raw() & INDEX_MASK, first.unwrap().raw() & INDEX_MASK);
        assert!(table.get(first.unwrap()).is_err());
    }

    #[test]
    fn stamps_never_repeat_across_threads() {
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..100).map(|_| fresh_stamp()).collect::<Vec<_>>()))
            .collect();
        let mut all: Vec<u64> = (0..100).map(|_| fresh_stamp()).collect();
        for thread in threads {
            all.extend(thread.join().unwrap());
        }
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), count);
    }

    #[test]
    fn a_borrow_survives_inserts_that_move_the_slots() {
        let mut table = ResourceTable::new();
        let h = table.insert(String::from("x")).unwrap();
        let b = Borrow::check(&table, h).unwrap();
        // Enough inserts to reallocate the slot vector several times.
        let others: Vec<_> = (0..100u32).map(|i| table.insert(i).unwrap()).collect();
        table[b].push('y');
        assert_eq!(table[b], "xy");
        assert_eq!(*table.get(others[42]).unwrap(), 42);
    }

    #[test]
    fn a_borrow_after_another_resource_left_is_checked_again() {
        let mut table = ResourceTable::new();
        let other = table.insert(0u8).unwrap();
        let h = table.insert(String::from("x")).unwrap();
        let b = Borrow::check(&table, h).unwrap();
        table.remove(other).unwrap();
        assert_eq!(table[b], "x");
        // A new resource in the freed slot does not disturb the borrow.
        table.insert(String::from("new")).unwrap();
        table[b].push('y');
        assert_eq!(table[b], "xy");
    }

    fn index_panic(table: &mut ResourceTable, b: Borrow<String>, mutable: bool) -> String {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if mutable {
                table[b].len()
            } else {
                (&*table)[b].len()
            }
        }));
        let payload = caught.expect_err("indexing should panic");
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn a_borrow_of_a_resource_replaced_in_its_slot_is_stale() {
        for mutable in [false, true] {
            let mut table = ResourceTable::new();
            let h = table.insert(String::from("old")).unwrap();
            let b = Borrow::check(&table, h).unwrap();
            table.remove(h).unwrap();
            // The same slot, the same type: only the generation tells them apart.
            let again = table.insert(String::from("new")).unwrap();
            assert_eq!(again.raw() & INDEX_MASK, h.raw() & INDEX_MASK);
            assert!(index_panic(&mut table, b, mutable).contains("stale"));
        }
    }

    #[test]
    fn a_borrow_checked_in_another_table_is_checked_in_full() {
        for mutable in [false, true] {
            let mut first = ResourceTable::new();
            let mut second = ResourceTable::new();
            let h = first.insert(String::from("x")).unwrap();
            // The same slot and generation in `second`, holding another type.
            let there = second.insert(7u32).unwrap();
            assert_eq!(there.raw(), h.raw());
            let b = Borrow::check(&first, h).unwrap();
            let message = index_panic(&mut second, b, mutable);
            assert!(
                message.contains("expected a `alloc::string::String`"),
                "{message}"
            );
        }
    }

    #[test]
    fn take_and_borrow_check_the_table() {
        let mut table = ResourceTable::new();
        let h = table.insert(String::from("x")).unwrap();
        let b = Borrow::check(&table, h).unwrap();
        table[b].push('y');
        let taken = Take::from_table(&mut table, h).unwrap();
        assert_eq!(&*taken, "xy");
        assert!(Borrow::check(&table, h).is_err());
        assert!(Take::from_table(&mut table, h).is_err());
    }
}
