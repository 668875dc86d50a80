//! `lunatic::wasi`: the WASI view (arguments, environment, preopened
//! directories) of processes spawned with a configuration.

use funk::{Borrow, Wide};

use super::view;
use crate::config::Preopen;
use crate::state::ConfigResource;

view! {
    /// The `lunatic::wasi` block.
    WasiConfigApi
}

type Config = Wide<Borrow<ConfigResource>>;

#[funk::host_functions(namespace = "lunatic::wasi")]
impl WasiConfigApi {
    /// Adds an environment variable.
    fn config_add_environment_variable(&mut self, config_id: Config, key: &str, value: &str) {
        let config = &mut self.0.resources[config_id.0].0;
        config.env.push((key.to_owned(), value.to_owned()));
    }

    /// Adds a command-line argument.
    fn config_add_command_line_argument(&mut self, config_id: Config, argument: &str) {
        let config = &mut self.0.resources[config_id.0].0;
        config.args.push(argument.to_owned());
    }

    /// Adds a preopened directory (the guest sees it under the same path).
    fn config_preopen_dir(&mut self, config_id: Config, dir: &str) {
        let config = &mut self.0.resources[config_id.0].0;
        config.preopens.push(Preopen::parse(dir));
    }
}
