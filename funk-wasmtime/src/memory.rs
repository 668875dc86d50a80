//! Finding the calling instance's guest memory for a call: by name, by a
//! bound export index, or pinned for a one-instance store.

use funk_core::__private::Call;
use funk_core::{GuestMemory, MemoryUnavailable};
use wasmtime::{AsContextMut, Caller, Extern, Instance, Memory, ModuleExport};

/// How a store's host calls find the calling instance's guest memory; set
/// by [`bind_memory`] or [`pin_memory`].
///
/// - Empty: each call looks the calling instance's `memory` export up by
///   name.
/// - Bound ([`bind_memory`]): each call resolves the export's precomputed
///   index against the *calling* instance (a name lookup only for an
///   instance of another module): right with any number of instances in
///   the store.
/// - Pinned ([`pin_memory`], [`MemorySlot::set`]): every call uses one
///   memory, with no lookup at all (what hand-written glue does). Only for
///   a store that holds exactly one instance: a call from a second
///   instance would read and write the first one's memory.
#[derive(Default, Clone, Copy)]
pub struct MemorySlot {
    pinned: Option<Memory>,
    export: Option<ModuleExport>,
}

impl std::fmt::Debug for MemorySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemorySlot")
            .field("pinned", &self.pinned)
            .field("bound", &self.export.is_some())
            .finish()
    }
}

impl MemorySlot {
    /// An empty slot.
    pub const fn new() -> Self {
        MemorySlot {
            pinned: None,
            export: None,
        }
    }

    /// The pinned memory, if any.
    pub fn get(&self) -> Option<Memory> {
        self.pinned
    }

    /// Pins `memory`: every host call in this store uses it. Only for a
    /// store with one instance; see [`pin_memory`].
    pub fn set(&mut self, memory: Memory) {
        self.pinned = Some(memory);
    }

    /// Forgets the pinned memory and the bound export: calls look the
    /// memory up by name again.
    pub fn clear(&mut self) {
        *self = MemorySlot::new();
    }
}

/// Store data that keeps a [`MemorySlot`] for funk's host functions.
pub trait HasMemory: 'static {
    /// The slot.
    fn memory_slot(&mut self) -> &mut MemorySlot;
}

/// Ready-made store data: your host state plus the memory slot.
#[derive(Debug, Default)]
pub struct Host<S> {
    /// Your host state.
    pub state: S,
    /// Where [`bind_memory`] caches the guest memory.
    pub memory: MemorySlot,
}

impl<S> Host<S> {
    /// Wraps `state` with an empty memory slot.
    pub fn new(state: S) -> Self {
        Host {
            state,
            memory: MemorySlot::new(),
        }
    }
}

impl<S: 'static> HasMemory for Host<S> {
    fn memory_slot(&mut self) -> &mut MemorySlot {
        &mut self.memory
    }
}

/// Why [`bind_memory`] could not bind the instance's memory.
#[derive(Debug, thiserror::Error)]
#[error("cannot bind guest memory: {0}")]
pub struct BindError(#[from] MemoryUnavailable);

/// `instance`'s exported `memory`, refused when it is missing or shared.
fn exported_memory(
    store: &mut wasmtime::StoreContextMut<'_, impl HasMemory>,
    instance: &Instance,
) -> Result<Memory, BindError> {
    Ok(memory_of(instance.get_export(&mut *store, "memory"))?)
}

/// Makes host calls in this store find the calling instance's `memory`
/// through its export index instead of by name. Call it after
/// instantiating; it is right with any number of instances in the store
/// (each call uses its own instance's memory). For a store that holds one
/// instance, [`pin_memory`] saves the remaining lookup.
pub fn bind_memory<T: HasMemory>(
    mut store: impl AsContextMut<Data = T>,
    instance: &Instance,
) -> Result<Memory, BindError> {
    let mut store = store.as_context_mut();
    let memory = exported_memory(&mut store, instance)?;
    let export = instance.module(&store).get_export_index("memory");
    let slot = store.data_mut().memory_slot();
    slot.pinned = None;
    slot.export = export;
    Ok(memory)
}

/// Pins `instance`'s exported `memory` in the store's [`MemorySlot`]: host
/// calls use it with no lookup, the cost of hand-written glue that keeps
/// the memory in its store data.
///
/// Only for a store that holds exactly this one instance (funk's runtime
/// gives every process its own store). A call from any other instance in
/// the store would read and write *this* instance's memory; use
/// [`bind_memory`] for stores with several instances.
pub fn pin_memory<T: HasMemory>(
    mut store: impl AsContextMut<Data = T>,
    instance: &Instance,
) -> Result<Memory, BindError> {
    let mut store = store.as_context_mut();
    let memory = exported_memory(&mut store, instance)?;
    store.data_mut().memory_slot().set(memory);
    Ok(memory)
}

/// The memory an instance exports as `memory`, or why it has none funk can
/// use.
fn memory_of(export: Option<Extern>) -> Result<Memory, MemoryUnavailable> {
    match export {
        Some(Extern::Memory(memory)) => Ok(memory),
        Some(Extern::SharedMemory(_)) => Err(MemoryUnavailable::Shared),
        _ => Err(MemoryUnavailable::NotExported),
    }
}

/// The calling instance's memory: pinned, through the bound export index,
/// or by name.
#[inline(always)]
fn caller_memory<T: HasMemory>(caller: &mut Caller<'_, T>) -> Result<Memory, MemoryUnavailable> {
    let slot = caller.data_mut().memory_slot();
    if let Some(memory) = slot.pinned {
        return Ok(memory);
    }
    if let Some(export) = slot.export
        && let Some(Extern::Memory(memory)) = caller.get_module_export(&export)
    {
        return Ok(memory);
    }
    memory_of(caller.get_export("memory"))
}

/// Splits a caller into the shim's [`Call`]: guest memory (when the function
/// needs it) and the host state reached through `get`.
#[inline(always)]
pub(crate) fn enter<'c, T: HasMemory, S>(
    caller: &'c mut Caller<'_, T>,
    get: impl Fn(&mut T) -> &mut S,
    needs_memory: bool,
) -> Call<'c, S> {
    if !needs_memory {
        let memory = GuestMemory::unavailable(MemoryUnavailable::NotRequested);
        return Call::new(memory, get(caller.data_mut()));
    }
    match caller_memory(caller) {
        Ok(memory) => {
            let (bytes, data) = memory.data_and_store_mut(caller);
            Call::new(GuestMemory::new(bytes), get(data))
        }
        Err(why) => Call::new(GuestMemory::unavailable(why), get(caller.data_mut())),
    }
}
