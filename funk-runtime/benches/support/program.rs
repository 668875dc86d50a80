//! Running a guest program the way `funk run` does: `_start` with
//! arguments, every permission, its stdout captured.

use funk_runtime::wasi::Output;
use funk_runtime::{ExitStatus, Module, ProcessConfig, ProcessHandle, Runtime, Spawn, Stdio};

/// Every permission, and `program args...` as the command line.
pub fn program_config(program: &str, args: &[&str]) -> ProcessConfig {
    let mut config = ProcessConfig::privileged();
    config.args = std::iter::once(program)
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect();
    config
}

/// Spawns `module`'s `_start` under `config`, its stdout to `stdout` and
/// its stderr to this process's.
pub fn spawn_program(
    runtime: &Runtime,
    module: &Module,
    config: ProcessConfig,
    stdout: Output,
) -> ProcessHandle {
    let program = config.args.first().cloned().unwrap_or_default();
    runtime
        .spawn_with(Spawn {
            module,
            entry: "_start",
            args: Vec::new(),
            config,
            stdio: Stdio {
                stdout,
                stderr: Output::stderr(),
                stdin: false,
            },
            node: None,
        })
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"))
}

/// Runs `module`'s `_start` as `program args...`; returns how it ended and
/// what it printed on stdout (stderr goes to this process's stderr).
pub async fn run_program(
    runtime: &Runtime,
    module: &Module,
    program: &str,
    args: &[&str],
) -> (ExitStatus, String) {
    let (stdout, captured) = Output::capture();
    let exit = spawn_program(runtime, module, program_config(program, args), stdout)
        .wait()
        .await;
    let printed = String::from_utf8(captured.contents()).expect("UTF-8 output");
    (exit.status, printed)
}

/// `Settings::memory_reservation` from `FUNK_BENCH_RESERVATION_MIB` (in
/// MiB), if set.
pub fn memory_reservation_from_env() -> Option<u64> {
    std::env::var("FUNK_BENCH_RESERVATION_MIB")
        .ok()
        .and_then(|mib| mib.parse::<u64>().ok())
        .map(|mib| mib << 20)
}
