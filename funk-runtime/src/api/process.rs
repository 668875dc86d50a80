//! `lunatic::process`: spawning, links, monitors, kill and modules.

use std::sync::Arc;
use std::time::Duration;

use funk::{Borrow, Take, Trap, Wide};

use super::{FAILED, OK, OrInherit, view};
use crate::engine::{EntryValue, Module};
use crate::lifecycle::{self, SpawnRequest};
use crate::process;
use crate::registry::Entry;
use crate::state::{ConfigResource, ModuleResource, ProcessState};

view! {
    /// The `lunatic::process` block (configurations are in
    /// [`ConfigApi`](super::config::ConfigApi)).
    ProcessApi
}

/// `kill` of the calling process: it ends at once, with this trap, which
/// `lunatic::trap::catch` does not catch.
#[derive(Debug, thiserror::Error)]
#[error("the process killed itself")]
pub(crate) struct KilledItself;

/// `get_or_spawn`: the name was registered already.
const FOUND: u32 = 2;

type ConfigArg = OrInherit<Wide<Borrow<ConfigResource>>>;
type ModuleArg = OrInherit<Wide<Borrow<ModuleResource>>>;

#[funk::host_functions(namespace = "lunatic::process")]
impl ProcessApi {
    /// Spawns `function` of a module (`-1`: this process's) with `params`
    /// (17-byte entries: a wasm type byte, then the value as a
    /// little-endian `u128`) under a configuration (`-1`: this process's).
    /// A non-zero `link` links the child, and is the tag this process gets
    /// if the child fails. Returns 0 and the child's id, or 1 and an error
    /// id. Traps if this process may not spawn.
    fn spawn(
        &mut self,
        link: i64,
        config: ConfigArg,
        module: ModuleArg,
        function: &str,
        params: &[u8],
    ) -> Result<(u32, u64), Trap> {
        let request = self
            .0
            .spawn_request(link, config, module, function, params)?;
        Ok(self.0.spawn_reporting(request))
    }

    /// Returns the process registered under `name` (status 2, its node and
    /// id), or spawns one as `spawn` does and registers it (status 0), as
    /// one atomic step: no other process can register the name meanwhile.
    #[allow(clippy::too_many_arguments)]
    fn get_or_spawn(
        &mut self,
        name: &str,
        link: i64,
        config: ConfigArg,
        module: ModuleArg,
        function: &str,
        params: &[u8],
    ) -> Result<(u32, u64, u64), Trap> {
        let node = self.0.node.clone();
        let mut registry = node.registry();
        if let Some(entry) = registry.get(name) {
            return Ok((FOUND, entry.node, entry.process));
        }
        let request = self
            .0
            .spawn_request(link, config, module, function, params)?;
        let (status, id) = self.0.spawn_reporting(request);
        if status == OK {
            registry.put(
                name,
                Entry {
                    node: 0,
                    process: id,
                },
            );
        }
        Ok((status, 0, id))
    }

    /// Suspends the process for `millis` milliseconds.
    async fn sleep_ms(&mut self, millis: u64) {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }

    /// `trap == 0`: a failing linked process arrives as a link-died message
    /// instead of killing this one.
    fn die_when_link_dies(&mut self, trap: u32) {
        self.0.process.trap_link_deaths(trap == 0);
    }

    /// This process's id.
    fn process_id(&mut self) -> u64 {
        self.0.process.id()
    }

    /// The id of the node (Lunatic's environment) this process runs in.
    fn environment_id(&mut self) -> u64 {
        self.0.node.id()
    }

    /// Links this process with `process_id` (`tag` 0: untagged). A process
    /// that no longer exists counts as a failed link.
    fn link(&mut self, tag: i64, process_id: u64) {
        if process_id == self.0.process.id() {
            return;
        }
        let peer = self.0.node.process(process_id);
        let tag = (tag != 0).then_some(tag);
        process::link(&self.0.process, peer.as_ref(), process_id, tag);
    }

    /// Removes the link with `process_id`, if any.
    fn unlink(&mut self, process_id: u64) {
        process::unlink(&self.0.process, process_id);
    }

    /// Starts monitoring `process_id`.
    fn monitor(&mut self, process_id: u64) {
        if process_id == self.0.process.id() {
            return;
        }
        let target = self.0.node.process(process_id);
        process::monitor(&self.0.process, target.as_ref(), process_id);
    }

    /// Stops monitoring `process_id`.
    fn stop_monitoring(&mut self, process_id: u64) {
        let target = self.0.node.process(process_id);
        process::stop_monitoring(&self.0.process, target.as_ref());
    }

    /// Kills `process_id` (nothing if it does not exist). A process that
    /// kills itself stops at once.
    fn kill(&mut self, process_id: u64) -> Result<(), Trap> {
        if process_id == self.0.process.id() {
            return Err(Trap::from_error(KilledItself));
        }
        if let Some(target) = self.0.node.process(process_id) {
            target.kill();
        }
        Ok(())
    }

    /// 1 if `process_id` is alive, else 0.
    fn exists(&mut self, process_id: u64) -> i32 {
        self.0.node.process(process_id).is_some().into()
    }

    /// Compiles a module: 0 and its id, 1 and an error id, or -1 if this
    /// process may not compile modules.
    async fn compile_module(&mut self, wasm: &[u8]) -> Result<(i32, u64), Trap> {
        if !self.0.config.can_compile_modules {
            return Ok((-1, 0));
        }
        let runtime = self.0.runtime.clone();
        let wasm = wasm.to_vec();
        // Compiling is CPU-heavy; keep it off the executor's threads.
        let compiled = tokio::task::spawn_blocking(move || runtime.engine.compile(&wasm))
            .await
            .map_err(|e| Trap::new(format!("the compiler thread failed: {e}")))?;
        match compiled {
            Ok(module) => {
                let handle = self
                    .0
                    .resources
                    .insert(ModuleResource(module))
                    .map_err(Trap::from_error)?;
                Ok((0, handle.raw().into()))
            }
            Err(error) => Ok((1, self.0.error_id(error)?)),
        }
    }

    /// Drops a module; processes spawned from it keep running.
    fn drop_module(&mut self, module_id: Wide<Take<ModuleResource>>) {
        drop(module_id);
    }
}

impl ProcessState {
    /// Checks what `spawn` was given; traps on misuse.
    fn spawn_request(
        &mut self,
        link: i64,
        config: ConfigArg,
        module: ModuleArg,
        function: &str,
        params: &[u8],
    ) -> Result<SpawnRequest, Trap> {
        if !self.config.can_spawn_processes {
            return Err(Trap::new(
                "this process may not spawn processes (its configuration denies it)",
            ));
        }
        let config = match config {
            OrInherit::Inherit => self.config.clone(),
            OrInherit::Given(Wide(config)) => Arc::new(self.resources[config].0.clone()),
        };
        let module: Arc<dyn Module> = match module {
            OrInherit::Inherit => self.module.clone(),
            OrInherit::Given(Wide(module)) => self.resources[module].0.clone(),
        };
        let link = (link != 0).then(|| (self.process.clone(), Some(link)));
        Ok(SpawnRequest {
            module,
            config,
            entry: function.to_owned(),
            args: parse_params(params)?,
            stdio: self.stdio.clone(),
            link,
            exit: None,
        })
    }

    /// Spawns; a failure becomes status 1 and an error id.
    fn spawn_reporting(&mut self, request: SpawnRequest) -> (u32, u64) {
        match lifecycle::spawn(&self.runtime, &self.node, request) {
            Ok(child) => (OK, child.id()),
            Err(error) => match self.error_id(error) {
                Ok(id) => (FAILED, id),
                Err(_) => (FAILED, 0),
            },
        }
    }
}

/// Decodes Lunatic's spawn parameters: 17-byte entries of a wasm type byte
/// (0x7F i32, 0x7E i64, 0x7B v128) and a little-endian `u128`.
fn parse_params(params: &[u8]) -> Result<Vec<EntryValue>, Trap> {
    const ENTRY: usize = 17;
    let entries = params.chunks_exact(ENTRY);
    if !entries.remainder().is_empty() {
        return Err(Trap::new(format!(
            "spawn parameters come in 17-byte entries, but {} bytes remain after {} entries",
            entries.remainder().len(),
            params.len() / ENTRY
        )));
    }
    entries
        .enumerate()
        .map(|(i, entry)| {
            let mut value = [0u8; 16];
            value.copy_from_slice(&entry[1..]);
            let value = u128::from_le_bytes(value);
            match entry[0] {
                0x7F => Ok(EntryValue::I32(value as i32)),
                0x7E => Ok(EntryValue::I64(value as i64)),
                0x7B => Ok(EntryValue::V128(value)),
                other => Err(Trap::new(format!(
                    "spawn parameter {i} has type byte {other:#04x}; expected 0x7f (i32), 0x7e (i64) or 0x7b (v128)"
                ))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ty: u8, value: u128) -> Vec<u8> {
        let mut bytes = vec![ty];
        bytes.extend_from_slice(&value.to_le_bytes());
        bytes
    }

    #[test]
    fn params_decode_by_type_byte() {
        let mut params = entry(0x7F, u128::from(u32::MAX));
        params.extend(entry(0x7E, 5));
        params.extend(entry(0x7B, 1 << 100));
        assert_eq!(
            parse_params(&params).unwrap(),
            [
                EntryValue::I32(-1),
                EntryValue::I64(5),
                EntryValue::V128(1 << 100)
            ]
        );
    }

    #[test]
    fn malformed_params_are_explained() {
        let error = parse_params(&[0x7F; 20]).unwrap_err().to_string();
        assert!(error.contains("3 bytes remain after 1 entries"), "{error}");
        let error = parse_params(&entry(0x7D, 0)).unwrap_err().to_string();
        assert!(error.contains("type byte 0x7d"), "{error}");
    }
}
