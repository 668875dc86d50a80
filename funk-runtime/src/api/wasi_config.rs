//! `lunatic::wasi`: the WASI view (arguments, environment, preopened
//! directories) of processes spawned with a configuration.

use funk::{Borrow, Wide};

use super::view;
use crate::config::GrantedDir;
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

    /// Gives the processes spawned with the configuration the directory
    /// this process names `dir` (they see it under the same name). It must
    /// be one of this process's preopened directories or beneath one, and
    /// is opened beneath it (see [`GrantedDir`]): a guest passes on only
    /// what it may open itself. Anything else traps.
    fn config_preopen_dir(&mut self, config_id: Config, dir: &str) -> Result<(), funk::Trap> {
        let Some(opened) = self.0.wasi.open_beneath_preopen(dir) else {
            return Err(funk::Trap::new(format!(
                "argument dir: `{dir}` is not a directory beneath this process's preopened directories {:?}",
                self.0.wasi.preopen_names()
            )));
        };
        let config = &mut self.0.resources[config_id.0].0;
        config.granted.push(GrantedDir {
            dir: std::sync::Arc::new(opened),
            guest: dir.to_owned(),
        });
        Ok(())
    }
}
