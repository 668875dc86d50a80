//! The Wasmtime engine: processes as async calls on fibers.
//!
//! One [`wasmtime::Engine`] and one [`Linker`] (every host-function block,
//! linked once) serve the whole runtime. Compiling a module pre-links it
//! into an [`InstancePre`], so a spawn only creates a store and
//! instantiates. Each process's store runs its guest with `call_async` on
//! a fiber, which suspends whenever a host function waits and whenever the
//! preemption mechanism says (see [`super::preemption`]): at the injected
//! counter's `funk::yield`, every slice of fuel, or at epoch ticks. So a
//! process never holds an executor thread for long, and the same mechanism
//! enforces `max_fuel`; the store's resource limiter enforces
//! `max_memory`.

use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use funk::LinkError;
use funk::wasmtime::Host;
use futures::future::BoxFuture;
use ref_cast::RefCast;
use wasmtime::{
    Config, Extern, ExternType, FuncType, Instance, InstanceAllocationStrategy, InstancePre,
    Linker, PoolConcurrencyLimitError, PoolingAllocationConfig, Store, Val, ValType, WasmBacktrace,
};

use super::epoch::{self, RunClock};
use super::imports::{ImportPlan, Resolution};
use super::limits::MAX_TABLE_ELEMENTS;
use super::preemption::limit_reached;
use super::{
    CompileError, EntryValue, FunctionType, MemoryLimit, Preemption, ValueType, next_module_id,
};
use crate::api::preemption::PreemptionApi;
use crate::outcome::{Failure, Outcome, exit_code};
use crate::preempt::DEFAULT_BUDGET_EXPORT;
use crate::runtime::{BuildError, Settings};
use crate::state::ProcessState;

type Data = Host<ProcessState>;

/// Links one embedder block into the runtime's linker.
pub(crate) type LinkFn = fn(&mut Linker<Data>) -> Result<(), LinkError>;

/// A `#[funk::host_functions]` state type that links into the runtime's
/// Wasmtime linker. Implemented for every such type.
pub trait WasmtimeLinkable: Sized + 'static {
    /// Links `Self`'s block, reaching the state through the process state.
    fn link(linker: &mut Linker<Data>) -> Result<(), LinkError>;
}

type ExtensionGetter<S> = fn(&mut Data) -> &mut S;

impl<S> WasmtimeLinkable for S
where
    S: Send + 'static,
    S: for<'l> funk::__private::HostFunctions<
            funk::wasmtime::Linking<'l, Data, S, ExtensionGetter<S>>,
        >,
{
    fn link(linker: &mut Linker<Data>) -> Result<(), LinkError> {
        let get: ExtensionGetter<S> = |host| {
            host.state
                .extensions
                .get_mut::<S>()
                .expect("every process holds a value of each registered block")
        };
        funk::wasmtime::link(linker, get)
    }
}

pub(crate) fn link_extension<S: WasmtimeLinkable>(
    linker: &mut Linker<Data>,
) -> Result<(), LinkError> {
    S::link(linker)
}

/// The runtime's Wasmtime engine.
pub(crate) struct WasmtimeEngine {
    /// Where modules are compiled, and where a process goes that the pool
    /// has no slot for: on-demand allocation, or the pool itself when
    /// spawns beyond it fail.
    home: Tier,
    /// The pool tried first, when spawns beyond it run on demand.
    pool: Option<Tier>,
    plan: ImportPlan,
    preemption: Preemption,
}

/// One Wasmtime engine (one allocation strategy) and its linker.
struct Tier {
    engine: wasmtime::Engine,
    linker: Linker<Data>,
}

/// wasm32's largest memory: a pool slot of this size grows as far as an
/// on-demand memory can.
const WASM32_MAX_MEMORY: u64 = 4 << 30;

/// The bytes of a free pool slot's memory and of its table kept resident
/// (reset in place, not given back): a short-lived `lunatic`-crate process
/// dirties a few pages. At most 1000 x 2 x 64 KiB = 125 MiB stay resident
/// for the default pool once every slot was used.
const KEEP_RESIDENT: usize = 64 << 10;

/// Fiber stacks in the pool per process slot: a process's own and one for
/// a `trap::catch`. Nesting deeper in many pooled processes at once can
/// exhaust them; a process that finds no stack fails (see
/// `api::trap::catch`), it is never a caught panic.
const STACKS_PER_SLOT: u32 = 2;

impl WasmtimeEngine {
    pub(crate) fn new(
        settings: &Settings,
        extensions: &crate::extension::ExtensionSet,
    ) -> Result<Self, BuildError> {
        let preemption = settings
            .preemption
            .unwrap_or(Preemption::default_for(super::EngineKind::Wasmtime));
        let mut config = Config::new();
        config.async_stack_zeroing(settings.stack_zeroing);
        match preemption {
            Preemption::Fuel { .. } => {
                config.consume_fuel(true);
            }
            Preemption::Epoch { .. } => {
                config.epoch_interruption(true);
            }
            Preemption::Injected { .. } | Preemption::Off => {}
        }
        if let Some(bytes) = settings.memory_reservation {
            config
                .memory_reservation(bytes)
                .memory_reservation_for_growth(bytes);
        }
        let mut plan = crate::api::import_plan();
        plan.extend(extensions.provided.iter().copied());
        if let Preemption::Injected { .. } = preemption {
            plan.extend(crate::api::preemption::provided());
        }
        let tier = |config: &Config| Tier::new(config, extensions, preemption);
        let pool = match pool_of(settings)? {
            Some((pool, on_demand_when_full)) => {
                let mut pooled = config.clone();
                // The pool has stacks of its own.
                pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
                match tier(&pooled) {
                    Ok(pooled) => Some((pooled, on_demand_when_full)),
                    // E.g. a 39-bit address space cannot hold the pool's
                    // reservation; every process can still run on demand.
                    Err(error) if on_demand_when_full => {
                        tracing::warn!("no pool, every process runs on demand: {error}");
                        None
                    }
                    Err(error) => return Err(error),
                }
            }
            None => None,
        };
        let (home, pool) = match pool {
            Some((pooled, false)) => (pooled, None),
            pool => {
                #[cfg(any(target_os = "linux", target_os = "android"))]
                config.with_host_stack(Arc::new(super::stacks::StackCache::new()));
                (tier(&config)?, pool.map(|(pooled, _)| pooled))
            }
        };
        Ok(WasmtimeEngine {
            home,
            pool,
            plan,
            preemption,
        })
    }
}

/// The pooling allocator `settings` ask for, if it is used, and whether
/// spawns beyond it run on demand; a memory per slot larger than the
/// reservation is an error (a pooled memory never moves out of its slot).
fn pool_of(settings: &Settings) -> Result<Option<(PoolingAllocationConfig, bool)>, BuildError> {
    let Some(pooling) = settings.pooling else {
        return Ok(None);
    };
    let reservation = settings.memory_reservation.unwrap_or(WASM32_MAX_MEMORY);
    let memory = match pooling.memory_per_instance {
        Some(bytes) if bytes > reservation => {
            return Err(BuildError::Engine {
                engine: super::EngineKind::Wasmtime,
                message: format!(
                    "Pooling::memory_per_instance ({bytes} bytes) is larger than the memory reservation ({reservation} bytes)"
                ),
            });
        }
        Some(bytes) => bytes,
        // A smaller reservation would cap pooled memories below what the
        // same process could grow to on demand.
        None if reservation >= WASM32_MAX_MEMORY => WASM32_MAX_MEMORY,
        None => return Ok(None),
    };
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(pooling.instances)
        .total_memories(pooling.instances)
        .total_tables(pooling.instances)
        // A process inside `trap::catch` runs a second fiber, and its store
        // keeps that fiber's stack once the call returned (every lunatic
        // `AbstractProcess` catches around its `init`).
        .total_stacks(pooling.instances.saturating_mul(STACKS_PER_SLOT))
        // The same table ceiling as on demand (Wasmtime's pool default
        // is 20 000 elements).
        .table_elements(MAX_TABLE_ELEMENTS)
        .max_memory_size(usize::try_from(memory).unwrap_or(usize::MAX));
    // A slot is reset by writing back the pages its process dirtied (found
    // with one PAGEMAP_SCAN ioctl on Linux 6.7+, else the lowest ones), up
    // to this much, and `madvise` only for the rest: an `madvise` makes the
    // kernel interrupt every executor thread to flush its TLB, which cost
    // more than half of a pooled spawn.
    pool.linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT)
        .pagemap_scan(wasmtime::Enabled::Auto);
    Ok(Some((pool, pooling.on_demand_when_full)))
}

impl Tier {
    /// An engine built from `config`, every host function linked.
    fn new(
        config: &Config,
        extensions: &crate::extension::ExtensionSet,
        preemption: Preemption,
    ) -> Result<Tier, BuildError> {
        let fail = |message: String| BuildError::Engine {
            engine: super::EngineKind::Wasmtime,
            message,
        };
        let engine = wasmtime::Engine::new(config).map_err(|e| fail(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        link_runtime(&mut linker).map_err(|e| fail(e.to_string()))?;
        for link in &extensions.wasmtime {
            link(&mut linker).map_err(|e| fail(e.to_string()))?;
        }
        match preemption {
            Preemption::Injected { .. } => {
                funk::wasmtime::link(&mut linker, |host: &mut Data| {
                    PreemptionApi::ref_cast_mut(&mut host.state)
                })
                .map_err(|e| fail(e.to_string()))?;
            }
            Preemption::Epoch { tick } => epoch::start_ticker(&engine, tick).map_err(fail)?,
            Preemption::Fuel { .. } | Preemption::Off => {}
        }
        Ok(Tier { engine, linker })
    }
}

/// Links every built-in block.
fn link_runtime(linker: &mut Linker<Data>) -> Result<(), LinkError> {
    macro_rules! link_view {
        ($view:ty) => {
            funk::wasmtime::link(linker, |host: &mut Data| {
                <$view>::ref_cast_mut(&mut host.state)
            })?;
        };
    }
    crate::api::for_each_block!(link_view);
    funk::wasmtime::link(linker, |host: &mut Data| &mut host.state.wasi)?;
    Ok(())
}

impl super::Engine for WasmtimeEngine {
    fn compile(&self, wasm: &[u8]) -> Result<Arc<dyn super::Module>, CompileError> {
        let wasm = self.preemption.prepare(wasm)?;
        let module = wasmtime::Module::new(&self.home.engine, &wasm)
            .map_err(|e| CompileError(format!("{e:#}")))?;
        let pre = self.link_module(&self.home, &module)?;
        let pooled = self.pool.as_ref().and_then(|pool| {
            self.pooled_copy(pool, &module)
                .inspect_err(|error| tracing::debug!("the module runs on demand only: {}", error.0))
                .ok()
        });
        Ok(Arc::new(WasmtimeModule {
            id: next_module_id(),
            module,
            pre,
            pooled,
            preemption: self.preemption,
        }))
    }
}

impl WasmtimeEngine {
    /// Pre-links `module` into `tier`'s linker, with a trapping stub for
    /// each import the runtime knows but does not provide.
    fn link_module(
        &self,
        tier: &Tier,
        module: &wasmtime::Module,
    ) -> Result<InstancePre<Data>, CompileError> {
        let mut stubs = Vec::new();
        for import in module.imports() {
            let ExternType::Func(ty) = import.ty() else {
                return Err(CompileError(format!(
                    "the module imports `{}::{}`, which is not a function; funk-runtime provides functions only",
                    import.module(),
                    import.name()
                )));
            };
            match self.plan.resolve(import.module(), import.name()) {
                Resolution::Provided => {}
                Resolution::Stub(message) => stubs.push((
                    import.module().to_owned(),
                    import.name().to_owned(),
                    ty,
                    message,
                )),
                Resolution::Missing(message) => return Err(CompileError(message)),
            }
        }
        if stubs.is_empty() {
            tier.linker.instantiate_pre(module)
        } else {
            let mut linker = tier.linker.clone();
            for (namespace, name, ty, message) in stubs {
                define_stub(&mut linker, &namespace, &name, ty, message)?;
            }
            linker.instantiate_pre(module)
        }
        .map_err(|e| CompileError(format!("{e:#}")))
    }

    /// `module`, compiled for the home engine, loaded into the pool's
    /// engine (the code is the same: the two engines differ only in how
    /// they allocate) and pre-linked there. Fails for a module the pool's
    /// slots cannot hold.
    fn pooled_copy(
        &self,
        pool: &Tier,
        module: &wasmtime::Module,
    ) -> Result<InstancePre<Data>, CompileError> {
        let fail = |e: wasmtime::Error| CompileError(format!("{e:#}"));
        let bytes = module.serialize().map_err(fail)?;
        // SAFETY: `bytes` is what `Module::serialize` just produced, with an
        // engine whose configuration differs from the pool's only in its
        // allocation strategy and its fiber-stack creator, neither of which
        // is in compiled code (Wasmtime checks target, flags, tunables and
        // features on load); nothing else could have changed the bytes in
        // between.
        let copy = unsafe { wasmtime::Module::deserialize(&pool.engine, bytes) }.map_err(fail)?;
        self.link_module(pool, &copy)
    }
}

fn define_stub(
    linker: &mut Linker<Data>,
    namespace: &str,
    name: &str,
    ty: FuncType,
    message: String,
) -> Result<(), CompileError> {
    linker
        .func_new(namespace, name, ty, move |_, _, _| {
            Err(wasmtime::Error::new(funk::Trap::new(message.clone())))
        })
        .map(drop)
        .map_err(|e| CompileError(format!("{e:#}")))
}

struct WasmtimeModule {
    id: u64,
    module: wasmtime::Module,
    /// Pre-linked for the home engine.
    pre: InstancePre<Data>,
    /// Pre-linked for the pool tried first, if there is one and it can
    /// hold the module.
    pooled: Option<InstancePre<Data>>,
    preemption: Preemption,
}

/// A store and what instantiating in it gave.
type Instantiated = (Store<Data>, wasmtime::Result<Instance>);

/// An instantiation past its first poll.
enum Begun {
    Done(Store<Data>, Instance),
    /// A start function waits; the rest runs in the process's task.
    Pending(BoxFuture<'static, Instantiated>),
}

/// Why an instantiation did not begin.
enum Refused {
    /// The pool has no free slot: the state comes back for another try.
    PoolFull(Box<ProcessState>, String),
    Failed(String),
}

impl super::Module for WasmtimeModule {
    fn id(&self) -> u64 {
        self.id
    }

    fn function(&self, name: &str) -> Option<FunctionType> {
        match self.module.get_export(name)? {
            ExternType::Func(ty) => Some(FunctionType {
                params: ty.params().map(|t| value_type(&t)).collect(),
                results: ty.results().map(|t| value_type(&t)).collect(),
            }),
            _ => None,
        }
    }

    fn function_names(&self) -> Vec<String> {
        self.module
            .exports()
            .filter(|e| matches!(e.ty(), ExternType::Func(_)))
            .map(|e| e.name().to_owned())
            .collect()
    }

    fn start(
        self: Arc<Self>,
        state: ProcessState,
        entry: String,
        args: Vec<EntryValue>,
    ) -> Result<BoxFuture<'static, Outcome>, String> {
        let max_fuel = state.config.max_fuel;
        // Only epoch preemption's compute limit reads the clock.
        let clock = RunClock::new(
            max_fuel.is_some() && matches!(self.preemption, Preemption::Epoch { .. }),
        );
        let begun = match &self.pooled {
            Some(pooled) => match self.begin(pooled, state, &clock) {
                Err(Refused::PoolFull(state, _)) => self.begin(&self.pre, *state, &clock),
                begun => begun,
            },
            None => self.begin(&self.pre, state, &clock),
        }
        .map_err(|refused| match refused {
            Refused::PoolFull(_, message) | Refused::Failed(message) => message,
        })?;
        Ok(Box::pin(async move {
            let (store, instance) = match begun {
                Begun::Done(store, instance) => (store, Ok(instance)),
                Begun::Pending(instantiating) => instantiating.await,
            };
            match instance {
                Ok(instance) => {
                    self.finish(store, instance, &entry, &args, &clock, max_fuel)
                        .await
                }
                Err(error) => outcome_of(error, max_fuel),
            }
        }))
    }
}

/// Whether `error` says the pool has no free slot: the allocator's own
/// error, not a trap of guest code (which has a backtrace) that may have
/// changed the state already.
fn pool_full(error: &wasmtime::Error) -> bool {
    error.downcast_ref::<PoolConcurrencyLimitError>().is_some()
        && error.downcast_ref::<WasmBacktrace>().is_none()
}

/// The message of a failed instantiation, for the spawner.
fn instantiation_error(error: &wasmtime::Error) -> String {
    format!("cannot instantiate: {}", failure_of(error).message)
}

impl WasmtimeModule {
    /// Instantiates a process with `pre`, as far as a first poll goes.
    ///
    /// Instantiating allocates the store's memories and tables (its fiber
    /// stack comes with the entry call), and runs no guest code unless the
    /// module needs a start function (or its data initialised by code):
    /// then it runs on a fiber and may wait. So a first poll, here, usually
    /// finishes it, and a resource limit becomes the spawner's error
    /// instead of a process that dies after its id was handed out.
    fn begin(
        &self,
        pre: &InstancePre<Data>,
        state: ProcessState,
        clock: &RunClock,
    ) -> Result<Begun, Refused> {
        let store = self
            .new_store(pre, state, clock)
            .map_err(|error| Refused::Failed(failure_of(&error).message))?;
        let pre = pre.clone();
        let timing = clock.clone();
        let mut instantiating: BoxFuture<'static, Instantiated> = Box::pin(async move {
            let mut store = store;
            let instance = timing.time(pre.instantiate_async(&mut store)).await;
            (store, instance)
        });
        match instantiating
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready((store, Err(error))) if pool_full(&error) => Err(Refused::PoolFull(
                Box::new(store.into_data().state),
                instantiation_error(&error),
            )),
            Poll::Ready((_, Err(error))) => Err(Refused::Failed(instantiation_error(&error))),
            Poll::Ready((store, Ok(instance))) => Ok(Begun::Done(store, instance)),
            Poll::Pending => Ok(Begun::Pending(instantiating)),
        }
    }

    /// A store for one process, its limits and preemption set up.
    fn new_store(
        &self,
        pre: &InstancePre<Data>,
        state: ProcessState,
        clock: &RunClock,
    ) -> wasmtime::Result<Store<Data>> {
        let max_fuel = state.config.max_fuel;
        let mut store = Store::new(pre.module().engine(), Host::new(state));
        store.limiter(|host| &mut host.state.memory_limit);
        match self.preemption {
            Preemption::Fuel { slice } => {
                let fuel = max_fuel.map_or(u64::MAX, |units| {
                    units.saturating_mul(crate::config::INSTRUCTIONS_PER_FUEL_UNIT)
                });
                store.set_fuel(fuel)?;
                store.fuel_async_yield_interval(Some(slice))?;
            }
            Preemption::Epoch { .. } => epoch::preempt(&mut store, max_fuel, clock),
            Preemption::Injected { .. } | Preemption::Off => {}
        }
        Ok(store)
    }

    /// Runs an instantiated process to its end.
    async fn finish(
        &self,
        mut store: Store<Data>,
        instance: Instance,
        entry: &str,
        args: &[EntryValue],
        clock: &RunClock,
        max_fuel: Option<u64>,
    ) -> Outcome {
        match self
            .run_entry(&mut store, instance, entry, args, clock)
            .await
        {
            Ok(()) => Outcome::Returned,
            Err(error) => outcome_of(error, max_fuel),
        }
    }

    async fn run_entry(
        &self,
        store: &mut Store<Data>,
        instance: Instance,
        entry: &str,
        args: &[EntryValue],
        clock: &RunClock,
    ) -> wasmtime::Result<()> {
        if let Preemption::Injected { .. } = self.preemption {
            start_first_slice(store, &instance)?;
        }
        // A module without memory can still run; its host calls that need
        // memory trap.
        if instance.get_export(&mut *store, "memory").is_some() {
            funk::wasmtime::pin_memory(&mut *store, &instance)?;
        }
        let Some(Extern::Func(func)) = instance.get_export(&mut *store, entry) else {
            return Err(wasmtime::Error::msg(format!(
                "the module exports no function `{entry}`"
            )));
        };
        let params: Vec<Val> = args.iter().map(to_val).collect();
        clock
            .time(func.call_async(&mut *store, &params, &mut []))
            .await
    }
}

/// Cuts the first slice of an instrumented instance to its process's limit:
/// accounts what the start function used and writes the budget the slice
/// starts with.
fn start_first_slice(store: &mut Store<Data>, instance: &Instance) -> wasmtime::Result<()> {
    let budget = instance
        .get_global(&mut *store, DEFAULT_BUDGET_EXPORT)
        .ok_or_else(|| wasmtime::Error::msg("the instrumented module exports no budget"))?;
    let left = budget.get(&mut *store).i64().unwrap_or(0);
    let next = store
        .data_mut()
        .state
        .reductions
        .next_slice(left)
        .map_err(wasmtime::Error::new)?;
    budget.set(&mut *store, Val::I64(next))
}

fn to_val(value: &EntryValue) -> Val {
    match *value {
        EntryValue::I32(v) => Val::I32(v),
        EntryValue::I64(v) => Val::I64(v),
        EntryValue::V128(v) => Val::V128(v.into()),
    }
}

fn value_type(ty: &ValType) -> ValueType {
    match ty {
        ValType::I32 => ValueType::I32,
        ValType::I64 => ValueType::I64,
        ValType::F32 => ValueType::F32,
        ValType::F64 => ValueType::F64,
        ValType::V128 => ValueType::V128,
        ValType::Ref(_) => ValueType::Ref,
    }
}

/// What a failed entry call means for a process spawned with `max_fuel`.
fn outcome_of(error: wasmtime::Error, max_fuel: Option<u64>) -> Outcome {
    if let Some(code) = error.chain().find_map(exit_code) {
        return Outcome::Exited(code);
    }
    if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::OutOfFuel) {
        let backtrace = error
            .downcast_ref::<WasmBacktrace>()
            .map(ToString::to_string);
        return Outcome::Failed(Failure {
            message: limit_reached(max_fuel),
            backtrace,
        });
    }
    Outcome::Failed(failure_of(&error))
}

/// A failure's one-line message and its wasm backtrace.
fn failure_of(error: &wasmtime::Error) -> Failure {
    let backtrace = error
        .downcast_ref::<WasmBacktrace>()
        .map(ToString::to_string);
    // The backtrace is attached as a context layer of the error; leave it
    // out of the one-line message. A funk `Trap` shows its own sources, so
    // the chain ends there (else every cause behind it would repeat).
    let mut causes = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if Some(&text) != backtrace.as_ref() {
            causes.push(text);
        }
        if cause.is::<funk::Trap>() {
            break;
        }
    }
    let message = causes.join(": ");
    Failure { message, backtrace }
}

impl wasmtime::ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.allows(desired as u64))
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
