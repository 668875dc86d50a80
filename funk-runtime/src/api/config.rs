//! `lunatic::process` configuration functions: create, inspect and change
//! the configurations processes are spawned with.

use funk::{Borrow, Take, Wide};

use super::view;
use crate::config::ProcessConfig;
use crate::state::ConfigResource;

view! {
    /// The configuration functions of `lunatic::process`.
    ConfigApi
}

type Config = Wide<Borrow<ConfigResource>>;

impl ConfigApi {
    fn config(&mut self, config: Config) -> &mut ProcessConfig {
        &mut self.0.resources[config.0].0
    }
}

#[funk::host_functions(namespace = "lunatic::process")]
impl ConfigApi {
    /// A new configuration with everything denied, or -1 if this process
    /// may not create configurations.
    fn create_config(&mut self) -> Result<i64, funk::Trap> {
        if !self.0.config.can_create_configs {
            return Ok(-1);
        }
        let handle = self
            .0
            .resources
            .insert(ConfigResource(ProcessConfig::default()))
            .map_err(funk::Trap::from_error)?;
        Ok(handle.raw().into())
    }

    /// Drops a configuration.
    fn drop_config(&mut self, config_id: Wide<Take<ConfigResource>>) {
        drop(config_id);
    }

    /// Sets the memory limit in bytes.
    fn config_set_max_memory(&mut self, config_id: Config, max_memory: u64) {
        self.config(config_id).max_memory = max_memory;
    }

    /// The memory limit in bytes.
    fn config_get_max_memory(&mut self, config_id: Config) -> u64 {
        self.config(config_id).max_memory
    }

    /// Sets the compute limit in units of ~100k instructions; 0 is none.
    fn config_set_max_fuel(&mut self, config_id: Config, max_fuel: u64) {
        self.config(config_id).max_fuel = (max_fuel != 0).then_some(max_fuel);
    }

    /// The compute limit; 0 is none.
    fn config_get_max_fuel(&mut self, config_id: Config) -> u64 {
        self.config(config_id).max_fuel.unwrap_or(0)
    }

    /// 1 if processes spawned with it may compile modules.
    fn config_can_compile_modules(&mut self, config_id: Config) -> u32 {
        self.config(config_id).can_compile_modules.into()
    }

    /// Sets whether processes spawned with it may compile modules.
    fn config_set_can_compile_modules(&mut self, config_id: Config, can: u32) {
        self.config(config_id).can_compile_modules = can != 0;
    }

    /// 1 if processes spawned with it may create configurations.
    fn config_can_create_configs(&mut self, config_id: Config) -> u32 {
        self.config(config_id).can_create_configs.into()
    }

    /// Sets whether processes spawned with it may create configurations.
    fn config_set_can_create_configs(&mut self, config_id: Config, can: u32) {
        self.config(config_id).can_create_configs = can != 0;
    }

    /// 1 if processes spawned with it may spawn processes.
    fn config_can_spawn_processes(&mut self, config_id: Config) -> u32 {
        self.config(config_id).can_spawn_processes.into()
    }

    /// Sets whether processes spawned with it may spawn processes.
    fn config_set_can_spawn_processes(&mut self, config_id: Config, can: u32) {
        self.config(config_id).can_spawn_processes = can != 0;
    }
}
