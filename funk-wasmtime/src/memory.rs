//! Finding the guest memory for a call, and caching it per store.

use funk_core::__private::Call;
use funk_core::{GuestMemory, MemoryUnavailable};
use wasmtime::{AsContextMut, Caller, Extern, Instance, Memory};

/// The guest memory cached for a store by [`bind_memory`].
#[derive(Debug, Default, Clone, Copy)]
pub struct MemorySlot {
    memory: Option<Memory>,
}

impl MemorySlot {
    /// An empty slot.
    pub const fn new() -> Self {
        MemorySlot { memory: None }
    }

    /// The bound memory, if any.
    pub fn get(&self) -> Option<Memory> {
        self.memory
    }

    /// Binds `memory`; host calls in this store will use it.
    pub fn set(&mut self, memory: Memory) {
        self.memory = Some(memory);
    }

    /// Forgets the bound memory.
    pub fn clear(&mut self) {
        self.memory = None;
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

/// Caches `instance`'s exported `memory` in the store's [`MemorySlot`], so
/// host calls find it without a lookup. Call it once after instantiation.
pub fn bind_memory<T: HasMemory>(
    mut store: impl AsContextMut<Data = T>,
    instance: &Instance,
) -> Result<Memory, BindError> {
    let mut store = store.as_context_mut();
    let memory = match instance.get_export(&mut store, "memory") {
        Some(Extern::Memory(memory)) => memory,
        Some(Extern::SharedMemory(_)) => return Err(MemoryUnavailable::Shared.into()),
        _ => return Err(MemoryUnavailable::NotExported.into()),
    };
    store.data_mut().memory_slot().set(memory);
    Ok(memory)
}

fn lookup<T>(caller: &mut Caller<'_, T>) -> Result<Memory, MemoryUnavailable> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        Some(Extern::SharedMemory(_)) => Err(MemoryUnavailable::Shared),
        _ => Err(MemoryUnavailable::NotExported),
    }
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
    let memory = match caller.data_mut().memory_slot().get() {
        Some(memory) => Ok(memory),
        None => lookup(caller),
    };
    match memory {
        Ok(memory) => {
            let (bytes, data) = memory.data_and_store_mut(caller);
            Call::new(GuestMemory::new(bytes), get(data))
        }
        Err(why) => Call::new(GuestMemory::unavailable(why), get(caller.data_mut())),
    }
}
