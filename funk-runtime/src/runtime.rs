//! The embedding API: build a runtime, compile modules, spawn processes and
//! await their exit.
//!
//! ```no_run
//! use funk_runtime::{EngineKind, ProcessConfig, Runtime};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::builder().engine(EngineKind::Wasmtime).build()?;
//! let module = runtime.compile(&std::fs::read("app.wasm")?)?;
//! let process = runtime.spawn(&module, "_start", ProcessConfig::privileged())?;
//! let exit = process.wait().await;
//! println!("process {} {}", exit.id, exit.status);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::config::ProcessConfig;
use crate::engine::{CompileError, Engine, EngineKind, EntryValue, Preemption};
use crate::extension::{ExtensionSet, Linkable};
use crate::lifecycle::{self, SpawnError, SpawnRequest};
use crate::node::Node;
use crate::outcome::{ExitStatus, Failure, ProcessExit};
use crate::process::{Process, ProcessId};
use crate::scheduler::{Executor, Scheduler};
use crate::state::Stdio;

/// Runtime-wide settings every process shares.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The engine.
    pub engine: EngineKind,
    /// Most processes alive at once on one node; spawning more is an error
    /// the guest sees.
    pub max_processes: usize,
    /// Largest message a guest may build, in bytes.
    pub max_message_size: u64,
    /// Wasmtime: keep slots for this many processes in a pool, reused from
    /// one to the next (the default: 1000, then on-demand allocation for
    /// more; see [`Pooling`]); `None`: allocate every process on demand.
    /// Wasmer ignores it.
    pub pooling: Option<Pooling>,
    /// Wasmtime: address space reserved for each process's linear memory,
    /// in bytes, and the room left for it to grow before it is moved
    /// (`None`: Wasmtime's default of 4 GiB plus guard regions). The
    /// default lets compiled code skip bounds checks, but a 47-bit user
    /// address space holds only about 31k such reservations, so it caps a
    /// node near 31k live processes. A smaller reservation (e.g. 64 MiB)
    /// raises that ceiling to millions at the price of a bounds check per
    /// memory access and a copy when a memory outgrows it; `max_memory`
    /// is enforced either way. Wasmer ignores it (each process is an OS
    /// thread, which is the lower ceiling there).
    pub memory_reservation: Option<u64>,
    /// How a process that computes without waiting gives way to others,
    /// stops when killed and is held to its `max_fuel`; `None`: the
    /// engine's default ([`Preemption::default_for`]). Building the runtime
    /// fails if the engine lacks the mechanism (Wasmer has no fuel or
    /// epochs).
    pub preemption: Option<Preemption>,
    /// Wasmtime: zero a process's fiber stack before it runs on it, when
    /// the stack is one an ended process used (Wasmtime's
    /// `Config::async_stack_zeroing`). Off by default, as in Wasmtime:
    /// compiled code and host functions never read a stack slot they did
    /// not write, so a guest cannot see what an earlier process left on a
    /// reused stack. On, it is defense in depth against a compiler bug, at
    /// the price of a system call per spawn (`MADV_DONTNEED`, which also
    /// interrupts every executor thread to flush its TLB). Wasmer ignores
    /// it: it runs wasm on stacks from a pool of its own, reused as they
    /// are.
    pub stack_zeroing: bool,
    /// Where processes run: tasks of the tokio runtime (the default) or
    /// funk's own workers, which keep processes that wake one another on
    /// one thread ([`Scheduler`]).
    pub scheduler: Scheduler,
}

/// Wasmtime's pooling allocator: slots for a number of processes' memories,
/// tables, instances and fiber stacks, reserved when the runtime is built
/// and reused from one process to the next, so a spawn maps and unmaps
/// nothing, and a freed slot is reset in place (up to 64 KiB of the pages
/// its process dirtied are written back; only more is given back to the
/// kernel): spawn + join takes about a quarter of its on-demand time.
///
/// Each slot reserves `memory_reservation` of address space (4 GiB by
/// default), so a pool of `instances` slots takes `instances` times that
/// when the runtime is built (4 TiB for the default 1000; a 47-bit user
/// address space has 128 TiB, so about 31 such runtimes fit in one host
/// process). A pooled memory cannot move, so it grows at most to its slot.
/// The pool holds two fiber stacks per slot (a process's own and one for a
/// `trap::catch`); a pooled process that nests `catch` deeper while the
/// pool's stacks are all taken fails. A reused pool stack keeps the pages
/// its last fiber touched (a few KiB for most processes). If the pool
/// cannot be reserved (a smaller address space) and spawns beyond it run
/// on demand, the runtime is built without it, with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pooling {
    /// Processes the pool holds at once.
    pub instances: u32,
    /// The most linear memory a pooled process may have, in bytes, at most
    /// `memory_reservation`. `None` (the default): 4 GiB, as far as any
    /// wasm32 memory grows, so that pooled and on-demand processes have the
    /// same ceiling; then the pool is used only if `memory_reservation`
    /// leaves room for it (it is `None` or at least 4 GiB) and is skipped
    /// otherwise, so that a small reservation (for very many processes)
    /// keeps its on-demand growth.
    pub memory_per_instance: Option<u64>,
    /// When every slot is taken, spawn the process with on-demand
    /// allocation (`true`, the default) or fail the spawn
    /// ([`SpawnError::Instantiate`](crate::SpawnError)). A module the pool
    /// cannot hold (more memories or tables, or a larger table, than a
    /// slot has room for) also runs on demand, or fails to compile.
    pub on_demand_when_full: bool,
}

/// The default pool's slot count.
const DEFAULT_POOL_INSTANCES: u32 = 1000;

impl Default for Pooling {
    fn default() -> Self {
        Pooling {
            instances: DEFAULT_POOL_INSTANCES,
            memory_per_instance: None,
            on_demand_when_full: true,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            engine: EngineKind::Wasmtime,
            max_processes: 1 << 20,
            max_message_size: 256 << 20,
            pooling: Some(Pooling::default()),
            memory_reservation: None,
            preemption: None,
            stack_zeroing: false,
            scheduler: Scheduler::Tokio,
        }
    }
}

/// What every process of a runtime shares.
pub(crate) struct Shared {
    pub(crate) engine: Box<dyn Engine>,
    pub(crate) handle: Handle,
    pub(crate) executor: Executor,
    pub(crate) settings: Settings,
    pub(crate) extensions: ExtensionSet,
}

impl Shared {
    /// The preemption the settings ask for, or the engine's default.
    pub(crate) fn preemption(&self) -> Preemption {
        self.settings
            .preemption
            .unwrap_or(Preemption::default_for(self.settings.engine))
    }
}

/// Builds a [`Runtime`].
#[derive(Default)]
pub struct RuntimeBuilder {
    settings: Settings,
    extensions: ExtensionSet,
    handle: Option<Handle>,
}

/// Why a runtime could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The engine was not compiled into this build of funk-runtime.
    #[error("funk-runtime was built without the `{0}` feature")]
    EngineNotBuilt(EngineKind),
    /// The engine refused its configuration.
    #[error("cannot configure {engine}: {message}")]
    Engine {
        /// The engine.
        engine: EngineKind,
        /// Its error.
        message: String,
    },
    /// Not inside a tokio runtime, and none was given.
    #[error("no tokio runtime: build the runtime inside one or pass its handle")]
    NoExecutor,
    /// The worker threads of [`Scheduler::Local`] could not be started.
    #[error("cannot start the runtime's worker threads: {0}")]
    Workers(#[source] std::io::Error),
}

impl RuntimeBuilder {
    /// The engine to run guests on (default: Wasmtime).
    pub fn engine(mut self, engine: EngineKind) -> Self {
        self.settings.engine = engine;
        self
    }

    /// How running processes are preempted (default: the engine's choice,
    /// [`Preemption::default_for`]).
    pub fn preemption(mut self, preemption: Preemption) -> Self {
        self.settings.preemption = Some(preemption);
        self
    }

    /// All settings at once.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// The tokio runtime processes run on (default: the current one).
    pub fn executor(mut self, handle: Handle) -> Self {
        self.handle = Some(handle);
        self
    }

    /// Adds the `#[funk::host_functions]` block of `S` to every process;
    /// each process gets its own `S` from `factory` (given the process id).
    ///
    /// ```
    /// use funk_runtime::Runtime;
    ///
    /// struct Greeter {
    ///     process: u64,
    /// }
    ///
    /// #[funk::host_functions(namespace = "app")]
    /// impl Greeter {
    ///     /// Guest: `app.whoami() -> i64`.
    ///     fn whoami(&self) -> u64 {
    ///         self.process
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let runtime = Runtime::builder()
    ///     .host_functions(|process| Greeter { process })
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn host_functions<S: Linkable>(
        mut self,
        factory: impl Fn(ProcessId) -> S + Send + Sync + 'static,
    ) -> Self {
        self.extensions.add(factory);
        self
    }

    /// Builds the runtime.
    pub fn build(mut self) -> Result<Runtime, BuildError> {
        self.settings.preemption = Some(Preemption::resolve(
            self.settings.preemption,
            self.settings.engine,
        )?);
        let handle = match self.handle {
            Some(handle) => handle,
            None => Handle::try_current().map_err(|_| BuildError::NoExecutor)?,
        };
        let engine = crate::engine::build(&self.settings, &self.extensions)?;
        let executor =
            Executor::new(self.settings.scheduler, &handle).map_err(BuildError::Workers)?;
        let node = Node::new(self.settings.max_processes);
        Ok(Runtime {
            shared: Arc::new(Shared {
                engine,
                handle,
                executor,
                settings: self.settings,
                extensions: self.extensions,
            }),
            node,
        })
    }
}

/// A runtime: an engine, an executor and a node of processes.
#[derive(Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
    node: Node,
}

/// A compiled module, ready to spawn processes from.
#[derive(Clone)]
pub struct Module {
    inner: Arc<dyn crate::engine::Module>,
}

impl Module {
    /// The names of the functions it exports.
    pub fn function_names(&self) -> Vec<String> {
        self.inner.function_names()
    }

    /// The signature of the exported function `name`.
    pub fn function(&self, name: &str) -> Option<crate::engine::FunctionType> {
        self.inner.function(name)
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("id", &self.inner.id())
            .finish()
    }
}

/// A process spawned from the host.
#[derive(Debug)]
pub struct ProcessHandle {
    process: Arc<Process>,
    exit: oneshot::Receiver<ProcessExit>,
}

impl ProcessHandle {
    /// The process id.
    pub fn id(&self) -> ProcessId {
        self.process.id()
    }

    /// Stops the process at its next suspension point.
    pub fn kill(&self) {
        self.process.kill();
    }

    /// The shared half of the process: send it messages, check it is alive.
    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }

    /// Waits for the process to end.
    pub async fn wait(self) -> ProcessExit {
        let id = self.process.id();
        self.exit.await.unwrap_or_else(|_| ProcessExit {
            id,
            status: ExitStatus::Failed(Failure::new("the runtime dropped the process")),
        })
    }
}

/// Options of a process spawned from the host.
pub struct Spawn<'a> {
    /// The module.
    pub module: &'a Module,
    /// The exported function to run.
    pub entry: &'a str,
    /// Its arguments.
    pub args: Vec<EntryValue>,
    /// Limits and permissions.
    pub config: ProcessConfig,
    /// Standard streams.
    pub stdio: Stdio,
    /// The node to run on (default: the runtime's own).
    pub node: Option<&'a Node>,
}

impl Runtime {
    /// A builder with default settings.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// The engine guests run on.
    pub fn engine(&self) -> EngineKind {
        self.shared.settings.engine
    }

    /// How its processes are preempted.
    pub fn preemption(&self) -> Preemption {
        self.shared.preemption()
    }

    /// The runtime's node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// A new, empty node on this runtime: its processes and names are
    /// separate from every other node's.
    pub fn new_node(&self) -> Node {
        Node::new(self.shared.settings.max_processes)
    }

    /// Compiles (and pre-links) a module.
    pub fn compile(&self, wasm: &[u8]) -> Result<Module, CompileError> {
        Ok(Module {
            inner: self.shared.engine.compile(wasm)?,
        })
    }

    /// Spawns `entry` of `module` with no arguments and the host's stdio.
    pub fn spawn(
        &self,
        module: &Module,
        entry: &str,
        config: ProcessConfig,
    ) -> Result<ProcessHandle, SpawnError> {
        self.spawn_with(Spawn {
            module,
            entry,
            args: Vec::new(),
            config,
            stdio: Stdio::inherit(),
            node: None,
        })
    }

    /// Spawns a process with every option.
    pub fn spawn_with(&self, spawn: Spawn<'_>) -> Result<ProcessHandle, SpawnError> {
        let (tx, rx) = oneshot::channel();
        let node = spawn.node.unwrap_or(&self.node);
        let process = lifecycle::spawn(
            &self.shared,
            node,
            SpawnRequest {
                module: spawn.module.inner.clone(),
                config: Arc::new(spawn.config),
                entry: spawn.entry.to_owned(),
                args: spawn.args,
                stdio: spawn.stdio,
                link: None,
                exit: Some(tx),
            },
        )?;
        Ok(ProcessHandle { process, exit: rx })
    }
}
