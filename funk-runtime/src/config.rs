//! Process configurations: limits and permissions a process is spawned with.
//!
//! Every process runs under a [`ProcessConfig`]: how much memory and
//! compute it may use, whether it may compile modules, create
//! configurations or spawn processes, and the arguments, environment
//! variables and preopened directories its WASI view starts with. A guest
//! builds configurations with `lunatic::process::create_config` (which
//! starts with everything denied) and passes one to `spawn`, or `-1` to
//! spawn with its own.

use std::path::PathBuf;

/// Lunatic's unit of compute: one unit of `max_fuel` is about this many
/// wasm instructions.
pub const INSTRUCTIONS_PER_FUEL_UNIT: u64 = 100_000;

/// Limits and permissions of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessConfig {
    /// Most linear memory the process may use, in bytes.
    pub max_memory: u64,
    /// Most compute, in units of ~100k instructions; `None` is unlimited.
    pub max_fuel: Option<u64>,
    /// May compile new modules (`compile_module`).
    pub can_compile_modules: bool,
    /// May create new configurations (`create_config`).
    pub can_create_configs: bool,
    /// May spawn processes.
    pub can_spawn_processes: bool,
    /// Command-line arguments (WASI `args_get`).
    pub args: Vec<String>,
    /// Environment variables (WASI `environ_get`).
    pub env: Vec<(String, String)>,
    /// Directories the process may open files under.
    pub preopens: Vec<Preopen>,
    /// Directories a guest granted with `config_preopen_dir`, already
    /// opened beneath one of the granting process's own (see
    /// [`GrantedDir`]).
    pub granted: Vec<GrantedDir>,
}

/// A directory one process gives the processes it spawns with a
/// configuration (`lunatic::wasi::config_preopen_dir`): opened, with
/// cap-std, beneath a directory the granting process may open itself, so
/// a guest can pass on only what it has, never a host path of its choice.
#[derive(Debug, Clone)]
pub struct GrantedDir {
    /// The directory: a capability, already open.
    pub dir: std::sync::Arc<cap_std::fs::Dir>,
    /// The name the processes spawned with it see it by.
    pub guest: String,
}

/// Two grants are equal when they are the same opened directory under the
/// same name.
impl PartialEq for GrantedDir {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.dir, &other.dir) && self.guest == other.guest
    }
}

impl Eq for GrantedDir {}

/// A host directory made visible to the guest under a guest path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preopen {
    /// The directory on the host.
    pub host: PathBuf,
    /// The path the guest sees.
    pub guest: String,
}

impl Preopen {
    /// Parses `HOST[::GUEST]`; without `::GUEST` the guest sees the host path.
    pub fn parse(spec: &str) -> Self {
        match spec.split_once("::") {
            Some((host, guest)) => Preopen {
                host: host.into(),
                guest: guest.to_owned(),
            },
            None => Preopen {
                host: spec.into(),
                guest: spec.to_owned(),
            },
        }
    }
}

impl Default for ProcessConfig {
    /// Everything denied, 4 GiB of memory, unlimited compute: what
    /// `create_config` returns.
    fn default() -> Self {
        ProcessConfig {
            max_memory: u64::from(u32::MAX),
            max_fuel: None,
            can_compile_modules: false,
            can_create_configs: false,
            can_spawn_processes: false,
            args: Vec::new(),
            env: Vec::new(),
            preopens: Vec::new(),
            granted: Vec::new(),
        }
    }
}

impl ProcessConfig {
    /// Every permission granted: the configuration of the first process of
    /// a program.
    pub fn privileged() -> Self {
        ProcessConfig {
            can_compile_modules: true,
            can_create_configs: true,
            can_spawn_processes: true,
            ..ProcessConfig::default()
        }
    }

    /// The compute limit in instructions, if any.
    pub fn max_instructions(&self) -> Option<u64> {
        self.max_fuel
            .map(|units| units.saturating_mul(INSTRUCTIONS_PER_FUEL_UNIT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_configs_deny_everything() {
        let config = ProcessConfig::default();
        assert!(!config.can_compile_modules && !config.can_create_configs);
        assert!(!config.can_spawn_processes);
        assert_eq!(config.max_instructions(), None);
        assert!(ProcessConfig::privileged().can_spawn_processes);
    }

    #[test]
    fn preopens_parse_with_and_without_a_guest_path() {
        assert_eq!(
            Preopen::parse("/tmp/data::/data"),
            Preopen {
                host: "/tmp/data".into(),
                guest: "/data".into()
            }
        );
        assert_eq!(Preopen::parse(".").guest, ".");
    }

    #[test]
    fn fuel_units_saturate() {
        let config = ProcessConfig {
            max_fuel: Some(u64::MAX),
            ..ProcessConfig::default()
        };
        assert_eq!(config.max_instructions(), Some(u64::MAX));
    }
}
