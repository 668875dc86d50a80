//! Embedders' own host functions, added to every process.
//!
//! An embedder writes a `#[funk::host_functions]` block on a state type of
//! its own and registers it with
//! [`RuntimeBuilder::host_functions`](crate::RuntimeBuilder::host_functions)
//! together with a factory. Every process then gets a fresh value from the
//! factory, stored next to the runtime's own state, and the block is linked
//! on whichever engine the runtime uses.

use std::any::Any;
use std::sync::Arc;

use funk::HostApi;

use crate::process::ProcessId;

type Factory = Arc<dyn Fn(ProcessId) -> Box<dyn Any + Send> + Send + Sync>;

/// The registered blocks of a runtime.
#[derive(Clone, Default)]
pub(crate) struct ExtensionSet {
    factories: Vec<Factory>,
    #[cfg(feature = "wasmtime")]
    pub(crate) wasmtime: Vec<crate::engine::wasmtime::LinkFn>,
    #[cfg(feature = "wasmer")]
    pub(crate) wasmer: Vec<crate::engine::wasmer::LinkFn>,
    pub(crate) provided: Vec<(&'static str, &'static str)>,
}

impl ExtensionSet {
    /// Registers block `S`, made per process by `factory`.
    pub(crate) fn add<S: Linkable>(
        &mut self,
        factory: impl Fn(ProcessId) -> S + Send + Sync + 'static,
    ) {
        self.factories
            .push(Arc::new(move |id| Box::new(factory(id))));
        #[cfg(feature = "wasmtime")]
        self.wasmtime
            .push(crate::engine::wasmtime::link_extension::<S>);
        #[cfg(feature = "wasmer")]
        self.wasmer.push(crate::engine::wasmer::link_extension::<S>);
        self.provided
            .extend(S::FUNCTIONS.iter().map(|f| (f.namespace, f.name)));
    }

    /// Fresh values of every block's state for process `id`.
    pub(crate) fn instantiate(&self, id: ProcessId) -> Extensions {
        Extensions {
            values: self.factories.iter().map(|make| make(id)).collect(),
        }
    }
}

/// The embedders' states of one process.
#[derive(Default)]
pub(crate) struct Extensions {
    values: Vec<Box<dyn Any + Send>>,
}

impl Extensions {
    /// The state of type `S`.
    pub(crate) fn get_mut<S: 'static>(&mut self) -> Option<&mut S> {
        self.values.iter_mut().find_map(|v| v.downcast_mut::<S>())
    }
}

/// A `#[funk::host_functions]` state type the runtime can link on every
/// engine it was built with. Implemented for every such type whose state is
/// `Send + 'static`.
#[cfg(all(feature = "wasmtime", feature = "wasmer"))]
pub trait Linkable:
    HostApi
    + Send
    + 'static
    + crate::engine::wasmtime::WasmtimeLinkable
    + crate::engine::wasmer::WasmerLinkable
{
}
#[cfg(all(feature = "wasmtime", feature = "wasmer"))]
impl<S> Linkable for S where
    S: HostApi
        + Send
        + 'static
        + crate::engine::wasmtime::WasmtimeLinkable
        + crate::engine::wasmer::WasmerLinkable
{
}

/// A `#[funk::host_functions]` state type the runtime can link on every
/// engine it was built with.
#[cfg(all(feature = "wasmtime", not(feature = "wasmer")))]
pub trait Linkable: HostApi + Send + 'static + crate::engine::wasmtime::WasmtimeLinkable {}
#[cfg(all(feature = "wasmtime", not(feature = "wasmer")))]
impl<S> Linkable for S where S: HostApi + Send + 'static + crate::engine::wasmtime::WasmtimeLinkable {}

/// A `#[funk::host_functions]` state type the runtime can link on every
/// engine it was built with.
#[cfg(all(feature = "wasmer", not(feature = "wasmtime")))]
pub trait Linkable: HostApi + Send + 'static + crate::engine::wasmer::WasmerLinkable {}
#[cfg(all(feature = "wasmer", not(feature = "wasmtime")))]
impl<S> Linkable for S where S: HostApi + Send + 'static + crate::engine::wasmer::WasmerLinkable {}
