//! The host state of one process: what its host functions work on.
//!
//! Each process's store holds a [`ProcessState`]: its own [`Process`]
//! (mailbox, links), the node it lives in, the module and configuration it
//! was spawned with, its resource table (configurations, modules and errors
//! it created, named by generation-checked handles), the message being
//! built or read (the *scratch area*), its timers, its WASI view and the
//! embedder's own state. The `lunatic::*` host-function blocks in
//! the crate's `api` module are views of it, one per namespace.

use std::sync::Arc;

use funk::ResourceTable;

use crate::api::preemption::Reductions;
use crate::config::ProcessConfig;
use crate::engine::{EngineKind, MemoryLimit, Module};
use crate::extension::Extensions;
use crate::message::Message;
use crate::node::Node;
use crate::process::Process;
use crate::runtime::Shared;
use crate::timer::Timers;
use crate::wasi::{Blocking, Input, Output, PreopenDir, Wasi, WasiSetup};

/// A configuration the guest created (`create_config`).
#[derive(Debug)]
pub(crate) struct ConfigResource(pub(crate) ProcessConfig);

/// A module the guest compiled or received (`compile_module`, `take_module`).
pub(crate) struct ModuleResource(pub(crate) Arc<dyn Module>);

/// An error the runtime reported to the guest by id (`lunatic::error`).
#[derive(Debug)]
pub(crate) struct ErrorResource(pub(crate) String);

/// Where a process's standard streams go; its children inherit them.
#[derive(Clone)]
pub struct Stdio {
    /// Standard output.
    pub stdout: Output,
    /// Standard error.
    pub stderr: Output,
    /// Whether the process reads the host's standard input (otherwise it
    /// reads nothing).
    pub stdin: bool,
}

impl Stdio {
    /// The host's own streams.
    pub fn inherit() -> Self {
        Stdio {
            stdout: Output::stdout(),
            stderr: Output::stderr(),
            stdin: true,
        }
    }

    fn input(&self) -> Input {
        if self.stdin {
            Input::stdin()
        } else {
            Input::empty()
        }
    }
}

/// The host state of one process.
pub struct ProcessState {
    pub(crate) process: Arc<Process>,
    pub(crate) node: Node,
    pub(crate) runtime: Arc<Shared>,
    pub(crate) module: Arc<dyn Module>,
    pub(crate) config: Arc<ProcessConfig>,
    pub(crate) resources: ResourceTable,
    /// The message being built (after `create_data`) or read (after
    /// `receive`).
    pub(crate) scratch: Option<Message>,
    pub(crate) timers: Timers,
    /// How many `lunatic::trap::catch` calls are running, one inside the
    /// other.
    pub(crate) catch_depth: u32,
    pub(crate) stdio: Stdio,
    pub(crate) wasi: Wasi,
    pub(crate) memory_limit: MemoryLimit,
    /// The process's account under the injected counter (unused by the
    /// other preemption mechanisms).
    pub(crate) reductions: Reductions,
    pub(crate) extensions: Extensions,
}

/// The configuration's preopened directories, opened, then the ones a
/// guest granted. One that cannot be opened (gone since the configuration
/// was made, or no descriptor left) is left out, with a warning: the
/// process runs without it.
fn preopens(config: &ProcessConfig) -> Vec<PreopenDir> {
    let given = config.preopens.iter().filter_map(|preopen| {
        PreopenDir::open(&preopen.host, &preopen.guest)
            .inspect_err(|error| {
                tracing::warn!(
                    "cannot preopen {} for the guest: {error}",
                    preopen.host.display()
                )
            })
            .ok()
    });
    let granted = config.granted.iter().filter_map(|granted| {
        let dir = granted
            .dir
            .try_clone()
            .inspect_err(|error| {
                tracing::warn!("cannot pass on {} to the guest: {error}", granted.guest)
            })
            .ok()?;
        Some(PreopenDir {
            dir,
            guest: granted.guest.clone(),
        })
    });
    given.chain(granted).collect()
}

/// Where a process's blocking WASI calls run: a Wasmtime guest runs on the
/// executor's threads, so off them; a Wasmer guest has a thread of its
/// own, so on it.
fn blocking(engine: EngineKind) -> Blocking {
    match engine {
        EngineKind::Wasmtime => Blocking::Offload,
        EngineKind::Wasmer => Blocking::Inline,
    }
}

impl ProcessState {
    /// The state of a new process.
    pub(crate) fn new(
        process: Arc<Process>,
        node: Node,
        runtime: Arc<Shared>,
        module: Arc<dyn Module>,
        config: Arc<ProcessConfig>,
        stdio: Stdio,
    ) -> Self {
        let wasi = Wasi::new(WasiSetup {
            args: config.args.clone(),
            env: config.env.clone(),
            stdin: stdio.input(),
            stdout: stdio.stdout.clone(),
            stderr: stdio.stderr.clone(),
            preopens: preopens(&config),
            sockets: Vec::new(),
            blocking: blocking(runtime.settings.engine),
        });
        let extensions = runtime.extensions.instantiate(process.id());
        ProcessState {
            memory_limit: MemoryLimit::new(config.max_memory),
            reductions: Reductions::for_process(&runtime.settings, &config),
            process,
            node,
            runtime,
            module,
            config,
            resources: ResourceTable::new(),
            scratch: None,
            timers: Timers::default(),
            catch_depth: 0,
            stdio,
            wasi,
            extensions,
        }
    }

    /// This process's id.
    pub fn id(&self) -> u64 {
        self.process.id()
    }

    /// The configuration the process was spawned with.
    pub fn config(&self) -> &ProcessConfig {
        &self.config
    }

    /// An embedder's state of type `S`, added with
    /// [`RuntimeBuilder::host_functions`](crate::RuntimeBuilder::host_functions).
    pub fn extension<S: 'static>(&mut self) -> Option<&mut S> {
        self.extensions.get_mut::<S>()
    }
}
