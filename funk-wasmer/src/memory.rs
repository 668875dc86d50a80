//! The guest memory a store's host calls use, bound after instantiation.

use funk_core::__private::Call;
use funk_core::{GuestMemory, MemoryUnavailable};
use wasmer::{AsStoreMut, Exports, FunctionEnv, FunctionEnvMut, Instance, Memory};

/// The guest memory bound to an environment by [`bind_memory`].
#[derive(Debug, Default, Clone)]
pub struct MemorySlot {
    memory: Option<Memory>,
    /// The instance's exports, for host functions that call back into the
    /// guest.
    exports: Option<Exports>,
}

impl MemorySlot {
    /// An empty slot.
    pub const fn new() -> Self {
        MemorySlot {
            memory: None,
            exports: None,
        }
    }

    /// The bound memory, if any.
    pub fn get(&self) -> Option<&Memory> {
        self.memory.as_ref()
    }

    /// The bound instance's exports, if any.
    pub fn exports(&self) -> Option<&Exports> {
        self.exports.as_ref()
    }

    /// Forgets the bound memory and exports.
    pub fn clear(&mut self) {
        self.memory = None;
        self.exports = None;
    }
}

/// Environment data that keeps a [`MemorySlot`] for funk's host functions.
pub trait HasMemory: Send + 'static {
    /// The slot.
    fn memory_slot(&mut self) -> &mut MemorySlot;
}

/// Ready-made environment data: your host state plus the memory slot.
#[derive(Debug, Default)]
pub struct Host<S> {
    /// Your host state.
    pub state: S,
    /// Where [`bind_memory`] keeps the guest memory.
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

impl<S: Send + 'static> HasMemory for Host<S> {
    fn memory_slot(&mut self) -> &mut MemorySlot {
        &mut self.memory
    }
}

/// Why [`bind_memory`] could not bind the instance's memory.
#[derive(Debug, thiserror::Error)]
#[error("cannot bind guest memory: {0}")]
pub struct BindError(#[from] MemoryUnavailable);

/// Binds `instance`'s exported `memory` (and its exports, for host
/// functions that call back into the guest) to `env`, for the host calls
/// of this store. Call it once after instantiation.
///
/// Every call through functions linked with `env` uses this memory: Wasmer
/// tells a host function its environment, not its calling instance. So an
/// environment serves one instance: binding a second instance's memory to
/// it fails with [`MemoryUnavailable::AnotherInstance`] (binding the same
/// instance again is allowed). Give each instance its own
/// [`FunctionEnv`] and `Imports`, and do not instantiate further modules
/// with imports already bound (or [`MemorySlot::clear`] the slot first
/// once the old instance is gone).
pub fn bind_memory<T: HasMemory>(
    store: &mut impl AsStoreMut,
    env: &FunctionEnv<T>,
    instance: &Instance,
) -> Result<Memory, BindError> {
    let memory = instance
        .exports
        .get_memory("memory")
        .map_err(|_| MemoryUnavailable::NotExported)?
        .clone();
    if memory.ty(store).shared {
        return Err(MemoryUnavailable::Shared.into());
    }
    let slot = env.as_mut(store).memory_slot();
    if slot.memory.as_ref().is_some_and(|bound| *bound != memory) {
        return Err(MemoryUnavailable::AnotherInstance.into());
    }
    slot.memory = Some(memory.clone());
    slot.exports = Some(instance.exports.clone());
    Ok(memory)
}

/// Runs `body` with the shim's [`Call`]: guest memory (when the function
/// needs it) and the host state reached through `get`.
#[inline(always)]
pub(crate) fn enter<T: HasMemory, S, R>(
    env: &mut FunctionEnvMut<'_, T>,
    get: impl Fn(&mut T) -> &mut S,
    needs_memory: bool,
    body: impl FnOnce(Call<'_, S>) -> R,
) -> R {
    body(split(env, get, needs_memory))
}

/// The shim's [`Call`] for `env`: guest memory (when the function needs it)
/// and the host state reached through `get`, both borrowing `env`.
#[inline(always)]
pub(crate) fn split<'c, T: HasMemory, S>(
    env: &'c mut FunctionEnvMut<'_, T>,
    get: impl Fn(&mut T) -> &mut S,
    needs_memory: bool,
) -> Call<'c, S> {
    let (data, store) = env.data_and_store_mut();
    let memory = match needs_memory {
        true => data.memory_slot().get().cloned(),
        false => None,
    };
    let Some(memory) = memory else {
        let why = match needs_memory {
            true => MemoryUnavailable::NotBound,
            false => MemoryUnavailable::NotRequested,
        };
        return Call::new(GuestMemory::unavailable(why), get(data));
    };
    let view = memory.view(&store);
    // SAFETY: Wasmer requires that, while this slice lives, guest memory is
    // neither accessed some other way nor resized. The slice is returned
    // with lifetime `'c`, for which `env` (and through it the store) stays
    // mutably borrowed by the returned `Call`; the `Call` holds the slice and
    // the host state `data` (disjoint from the store and its memories) but
    // not the store. So until the `Call` is dropped, no wasm can run, nothing
    // can grow the memory, and this thread cannot reach the store. `view`
    // only measures the memory; the slice does not borrow it.
    let bytes: &'c mut [u8] = unsafe {
        let bytes = view.data_unchecked_mut();
        std::slice::from_raw_parts_mut(bytes.as_mut_ptr(), bytes.len())
    };
    Call::new(GuestMemory::new(bytes), get(data))
}
