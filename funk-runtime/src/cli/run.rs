//! `funk run`: a program's `_start` as the first process.

use std::path::Path;

use funk_runtime::{ExitStatus, Module, ProcessConfig, Runtime};

/// Runs `_start` with every permission; returns the exit code: 0, the
/// guest's `proc_exit` code, or 1 if it failed (the failure is reported on
/// stderr).
pub async fn run_program(
    runtime: &Runtime,
    module: &Module,
    mut config: ProcessConfig,
    wasm: &Path,
    args: &[String],
) -> Result<i32, String> {
    let name = wasm
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    config.args = std::iter::once(name).chain(args.iter().cloned()).collect();
    let process = runtime
        .spawn(module, "_start", config)
        .map_err(|e| e.to_string())?;
    let exit = process.wait().await;
    if let ExitStatus::Failed(_) | ExitStatus::Killed(_) = exit.status {
        // The process's own report went through `tracing`; make sure the
        // reason shows even with logging turned off.
        if !tracing::enabled!(target: "funk_runtime::process", tracing::Level::WARN) {
            eprintln!("funk: the program {}", exit.status);
        }
    }
    Ok(exit.status.code())
}
