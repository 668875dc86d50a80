//! The Wasmer engine: each process on a guest thread of its own.
//!
//! A Wasmer store cannot leave the thread that made it, and Wasmer's own
//! async support crashes when suspended calls resume out of order (see
//! `funk::wasmer::GuestThread`). So a process's store is built, and its
//! guest runs, on a `GuestThread`; the task driving the process awaits the
//! guest call and polls the host futures the guest waits on.
//!
//! Wasmer has no pre-linked instances: a module is compiled once, and each
//! spawn creates the host functions for the new store (only those the
//! module imports). `max_memory` is enforced by the engine's tunables,
//! which cap each memory the guest thread creates at the process's limit.
//!
//! Wasmer has no resumable metering, so modules are instrumented with the
//! injected reduction counter when they are compiled (see
//! [`super::preemption`]): its `funk::yield` stops a killed process and
//! enforces `max_fuel`; the kernel preempts the guest threads.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::ptr::NonNull;
use std::sync::Arc;

use funk::LinkError;
use funk::wasmer::{GuestThread, Host};
use futures::future::BoxFuture;
use ref_cast::RefCast;
use wasmer::sys::vm::{VMMemory, VMMemoryDefinition, VMTable, VMTableDefinition};
use wasmer::sys::{BaseTunables, NativeEngineExt, Tunables};
use wasmer::{
    ExternType, Function, FunctionEnv, Imports, Instance, MemoryError, MemoryStyle, MemoryType,
    Pages, RuntimeError, Store, TableStyle, TableType, Type, Value,
};

use super::imports::{ImportPlan, Resolution};
use super::limits::MAX_TABLE_ELEMENTS;
use super::{CompileError, EntryValue, FunctionType, Preemption, ValueType, next_module_id};
use crate::api::preemption::PreemptionApi;
use crate::extension::ExtensionSet;
use crate::outcome::{Failure, Outcome, exit_code};
use crate::runtime::{BuildError, Settings};
use crate::state::ProcessState;

type Data = Host<ProcessState>;

use funk::wasmer::Keep;

/// Links one embedder block into a new store's imports.
pub(crate) type LinkFn =
    fn(&mut Store, &FunctionEnv<Data>, &mut Imports, Keep<'_>) -> Result<(), LinkError>;

type ExtensionGetter<S> = fn(&mut Data) -> &mut S;

/// A `#[funk::host_functions]` state type that links into a process's
/// Wasmer imports. Implemented for every such type.
pub trait WasmerLinkable: Sized + 'static {
    /// Links the functions of `Self`'s block that `keep` accepts, reaching
    /// the state through the process state.
    fn link(
        store: &mut Store,
        env: &FunctionEnv<Data>,
        imports: &mut Imports,
        keep: Keep<'_>,
    ) -> Result<(), LinkError>;
}

impl<S> WasmerLinkable for S
where
    S: Send + 'static,
    S: for<'l> funk::__private::HostFunctions<
            funk::wasmer::Linking<'l, Data, S, ExtensionGetter<S>, Store>,
        >,
{
    fn link(
        store: &mut Store,
        env: &FunctionEnv<Data>,
        imports: &mut Imports,
        keep: Keep<'_>,
    ) -> Result<(), LinkError> {
        let get: ExtensionGetter<S> = |host| {
            host.state
                .extensions
                .get_mut::<S>()
                .expect("every process holds a value of each registered block")
        };
        funk::wasmer::link_filtered(store, env, imports, get, keep)
    }
}

pub(crate) fn link_extension<S: WasmerLinkable>(
    store: &mut Store,
    env: &FunctionEnv<Data>,
    imports: &mut Imports,
    keep: Keep<'_>,
) -> Result<(), LinkError> {
    S::link(store, env, imports, keep)
}

/// The runtime's Wasmer engine.
pub(crate) struct WasmerEngine {
    shared: Arc<EngineShared>,
}

struct EngineShared {
    engine: wasmer::Engine,
    plan: ImportPlan,
    extensions: Vec<LinkFn>,
    preemption: Preemption,
}

impl WasmerEngine {
    pub(crate) fn new(settings: &Settings, extensions: &ExtensionSet) -> Result<Self, BuildError> {
        let preemption = settings
            .preemption
            .unwrap_or(Preemption::default_for(super::EngineKind::Wasmer));
        let mut engine = wasmer::Engine::default();
        engine.set_tunables(LimitedTunables {
            base: BaseTunables::new(),
        });
        let mut plan = crate::api::import_plan();
        plan.extend(extensions.provided.iter().copied());
        if let Preemption::Injected { .. } = preemption {
            plan.extend(crate::api::preemption::provided());
        }
        Ok(WasmerEngine {
            shared: Arc::new(EngineShared {
                engine,
                plan,
                extensions: extensions.wasmer.clone(),
                preemption,
            }),
        })
    }
}

/// An import the module declares that a trapping stub satisfies.
struct Stub {
    namespace: String,
    name: String,
    ty: wasmer::FunctionType,
    message: Arc<str>,
}

impl super::Engine for WasmerEngine {
    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn super::Module>, CompileError> {
        let wasm = self.shared.preemption.prepare(wasm)?;
        let module = wasmer::Module::new(&self.shared.engine, &*wasm)
            .map_err(|e| CompileError(e.to_string()))?;
        let mut stubs = Vec::new();
        let mut imported: HashMap<String, HashSet<String>> = HashMap::new();
        for import in module.imports() {
            imported
                .entry(import.module().to_owned())
                .or_default()
                .insert(import.name().to_owned());
            let ExternType::Function(ty) = import.ty() else {
                return Err(CompileError(format!(
                    "the module imports `{}::{}`, which is not a function; funk-runtime provides functions only",
                    import.module(),
                    import.name()
                )));
            };
            match self.shared.plan.resolve(import.module(), import.name()) {
                Resolution::Provided => {}
                Resolution::Stub(message) => stubs.push(Stub {
                    namespace: import.module().to_owned(),
                    name: import.name().to_owned(),
                    ty: ty.clone(),
                    message: message.into(),
                }),
                Resolution::Missing(message) => return Err(CompileError(message)),
            }
        }
        Ok(Arc::new(WasmerModule {
            id: next_module_id(),
            module,
            imports: imported,
            stubs,
            shared: self.shared.clone(),
        }))
    }
}

struct WasmerModule {
    id: u64,
    module: wasmer::Module,
    /// The function imports, by namespace: a spawn creates host functions
    /// for these only.
    imports: HashMap<String, HashSet<String>>,
    stubs: Vec<Stub>,
    shared: Arc<EngineShared>,
}

/// What a guest thread owns for one process.
struct Guest {
    store: Store,
    instance: Instance,
}

impl super::Module for WasmerModule {
    fn id(&self) -> u64 {
        self.id
    }

    fn function(&self, name: &str) -> Option<FunctionType> {
        let export = self.module.exports().find(|e| e.name() == name)?;
        match export.ty() {
            ExternType::Function(ty) => Some(FunctionType {
                params: ty.params().iter().map(value_type).collect(),
                results: ty.results().iter().map(value_type).collect(),
            }),
            _ => None,
        }
    }

    fn function_names(&self) -> Vec<String> {
        self.module
            .exports()
            .filter(|e| matches!(e.ty(), ExternType::Function(_)))
            .map(|e| e.name().to_owned())
            .collect()
    }

    fn start(
        self: Arc<Self>,
        state: ProcessState,
        entry: String,
        args: Vec<EntryValue>,
    ) -> Result<BoxFuture<'static, Outcome>, String> {
        // One hand-over to a guest thread for the whole life of the
        // process: instantiate, call, drop the store there. The spawner
        // waits for the instantiation only, so that its failure (a memory
        // limit, a start function that traps) is the spawner's error.
        let (ready, instantiated) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
        let call = GuestThread::try_once(move || match self.instantiate(state) {
            Ok(mut guest) => {
                let _ = ready.send(Ok(()));
                guest.call(&entry, &args)
            }
            Err(failure) => {
                let _ = ready.send(Err(failure.message.clone()));
                Outcome::Failed(failure)
            }
        })
        .map_err(|e| format!("cannot start a guest thread: {e}"))?;
        match instantiated.recv() {
            Ok(Err(message)) => Err(message),
            // Instantiated; or the closure panicked before it could say,
            // which the call reports as the process's failure.
            Ok(Ok(())) | Err(_) => Ok(Box::pin(call)),
        }
    }
}

impl WasmerModule {
    /// Builds the process's store and instance; runs on its guest thread.
    fn instantiate(&self, state: ProcessState) -> Result<Guest, Failure> {
        let limit = state.memory_limit.pages();
        let mut store = Store::new(self.shared.engine.clone());
        let env = FunctionEnv::new(&mut store, Host::new(state));
        let mut imports = Imports::new();
        self.link(&mut store, &env, &mut imports)
            .map_err(|e| Failure::new(format!("cannot link: {e}")))?;
        let instance = {
            let _limit = MemoryLimitScope::enter(limit);
            Instance::new(&mut store, &self.module, &imports)
        }
        .map_err(|e| match e {
            wasmer::InstantiationError::Start(error) => match outcome_of(error) {
                Outcome::Failed(failure) => failure,
                other => Failure::new(format!("the start function ended the process: {other:?}")),
            },
            other => Failure::new(format!("cannot instantiate: {other}")),
        })?;
        if instance.exports.get_memory("memory").is_ok() {
            funk::wasmer::bind_memory(&mut store, &env, &instance)
                .map_err(|e| Failure::new(e.to_string()))?;
        }
        if let Preemption::Injected { .. } = self.shared.preemption {
            start_first_slice(&mut store, &env, &instance)?;
        }
        Ok(Guest { store, instance })
    }

    fn link(
        &self,
        store: &mut Store,
        env: &FunctionEnv<Data>,
        imports: &mut Imports,
    ) -> Result<(), LinkError> {
        let keep = |namespace: &str, name: &str| {
            self.imports
                .get(namespace)
                .is_some_and(|names| names.contains(name))
        };
        macro_rules! link_view {
            ($view:ty) => {
                funk::wasmer::link_filtered(
                    store,
                    env,
                    imports,
                    |host: &mut Data| <$view>::ref_cast_mut(&mut host.state),
                    &keep,
                )?;
            };
        }
        crate::api::for_each_block!(link_view);
        funk::wasmer::link_filtered(
            store,
            env,
            imports,
            |host: &mut Data| &mut host.state.wasi,
            &keep,
        )?;
        if let Preemption::Injected { .. } = self.shared.preemption {
            link_view!(PreemptionApi);
        }
        for link in &self.shared.extensions {
            link(store, env, imports, &keep)?;
        }
        for stub in &self.stubs {
            let message = stub.message.clone();
            let function = Function::new(&mut *store, &stub.ty, move |_| {
                Err(RuntimeError::user(Box::new(funk::Trap::new(&*message))))
            });
            imports.define(&stub.namespace, &stub.name, function);
        }
        Ok(())
    }
}

impl Guest {
    fn call(&mut self, entry: &str, args: &[EntryValue]) -> Outcome {
        let function = match self.instance.exports.get_function(entry) {
            Ok(function) => function.clone(),
            Err(_) => {
                return Outcome::Failed(Failure::new(format!(
                    "the module exports no function `{entry}`"
                )));
            }
        };
        let params: Vec<Value> = args.iter().map(to_value).collect();
        match function.call(&mut self.store, &params) {
            Ok(_) => Outcome::Returned,
            Err(error) => outcome_of(error),
        }
    }
}

/// Cuts the first slice of an instrumented instance to its process's limit:
/// accounts what the start function used and writes the budget the slice
/// starts with.
fn start_first_slice(
    store: &mut Store,
    env: &FunctionEnv<Data>,
    instance: &Instance,
) -> Result<(), Failure> {
    let budget = instance
        .exports
        .get_global(crate::preempt::DEFAULT_BUDGET_EXPORT)
        .map_err(|e| Failure::new(format!("the instrumented module has no budget: {e}")))?;
    let left = budget.get(&mut *store).i64().unwrap_or(0);
    let next = env
        .as_mut(&mut *store)
        .state
        .reductions
        .next_slice(left)
        .map_err(Failure::new)?;
    budget
        .set(&mut *store, Value::I64(next))
        .map_err(|e| Failure::new(format!("cannot set the budget: {e}")))
}

fn to_value(value: &EntryValue) -> Value {
    match *value {
        EntryValue::I32(v) => Value::I32(v),
        EntryValue::I64(v) => Value::I64(v),
        EntryValue::V128(v) => Value::V128(v),
    }
}

fn value_type(ty: &Type) -> ValueType {
    match ty {
        Type::I32 => ValueType::I32,
        Type::I64 => ValueType::I64,
        Type::F32 => ValueType::F32,
        Type::F64 => ValueType::F64,
        Type::V128 => ValueType::V128,
        _ => ValueType::Ref,
    }
}

/// What a failed call means for the process.
fn outcome_of(error: RuntimeError) -> Outcome {
    if let Some(code) = error
        .downcast_ref::<funk::Trap>()
        .and_then(|t| exit_code(t))
    {
        return Outcome::Exited(code);
    }
    let message = match error.downcast_ref::<funk::Trap>() {
        Some(trap) => trap.to_string(),
        None => error.message(),
    };
    let frames = error.trace();
    let backtrace = (!frames.is_empty()).then(|| {
        frames
            .iter()
            .enumerate()
            .map(|(i, frame)| {
                let name = frame
                    .function_name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("<wasm function {}>", frame.func_index()));
                format!("  {i:>2}: {name}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Outcome::Failed(Failure { message, backtrace })
}

thread_local! {
    /// The memory limit (pages) of the process being instantiated on this
    /// thread, read by [`LimitedTunables`].
    static MEMORY_LIMIT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Sets this thread's memory limit for one instantiation.
struct MemoryLimitScope;

impl MemoryLimitScope {
    fn enter(pages: u64) -> Self {
        MEMORY_LIMIT.set(Some(pages));
        MemoryLimitScope
    }
}

impl Drop for MemoryLimitScope {
    fn drop(&mut self) {
        MEMORY_LIMIT.set(None);
    }
}

/// Wasmer's base tunables, with every memory an instance creates capped at
/// the limit of the process being instantiated on this thread, and tables
/// capped as on Wasmtime.
struct LimitedTunables {
    base: BaseTunables,
}

fn limit_memory(ty: &MemoryType) -> Result<MemoryType, MemoryError> {
    let Some(limit) = MEMORY_LIMIT.get() else {
        return Ok(*ty);
    };
    let limit = Pages(u32::try_from(limit).unwrap_or(u32::MAX));
    if ty.minimum > limit {
        return Err(MemoryError::MinimumMemoryTooLarge {
            min_requested: ty.minimum,
            max_allowed: limit,
        });
    }
    let maximum = ty.maximum.map_or(limit, |max| max.min(limit));
    Ok(MemoryType {
        maximum: Some(maximum),
        ..*ty
    })
}

fn limit_table(ty: &TableType) -> Result<TableType, String> {
    let cap = MAX_TABLE_ELEMENTS as u32;
    if ty.minimum > cap {
        return Err(format!(
            "the table needs {} elements, over the limit of {cap}",
            ty.minimum
        ));
    }
    let maximum = ty.maximum.map_or(cap, |max| max.min(cap));
    Ok(TableType {
        maximum: Some(maximum),
        ..*ty
    })
}

impl Tunables for LimitedTunables {
    fn memory_style(&self, memory: &MemoryType) -> MemoryStyle {
        self.base.memory_style(memory)
    }

    fn table_style(&self, table: &TableType) -> TableStyle {
        self.base.table_style(table)
    }

    fn create_host_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
    ) -> Result<VMMemory, MemoryError> {
        self.base.create_host_memory(&limit_memory(ty)?, style)
    }

    unsafe fn create_vm_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
        vm_definition_location: NonNull<VMMemoryDefinition>,
    ) -> Result<VMMemory, MemoryError> {
        let ty = limit_memory(ty)?;
        // SAFETY: forwards this function's own contract unchanged: the
        // caller guarantees `vm_definition_location` points to a valid,
        // owned definition; only the memory type's maximum was lowered.
        unsafe {
            self.base
                .create_vm_memory(&ty, style, vm_definition_location)
        }
    }

    fn create_host_table(&self, ty: &TableType, style: &TableStyle) -> Result<VMTable, String> {
        self.base.create_host_table(&limit_table(ty)?, style)
    }

    unsafe fn create_vm_table(
        &self,
        ty: &TableType,
        style: &TableStyle,
        vm_definition_location: NonNull<VMTableDefinition>,
    ) -> Result<VMTable, String> {
        let ty = limit_table(ty)?;
        // SAFETY: as in `create_vm_memory`: the caller's guarantee about
        // `vm_definition_location` is forwarded; only the maximum changed.
        unsafe {
            self.base
                .create_vm_table(&ty, style, vm_definition_location)
        }
    }
}
