//! Running a guest program the way `funk run` does: `_start` with
//! arguments, every permission, its stdout captured.

use funk_runtime::wasi::Output;
use funk_runtime::{ExitStatus, Module, ProcessConfig, Runtime, Spawn, Stdio};

/// Runs `module`'s `_start` as `program args...`; returns how it ended and
/// what it printed on stdout (stderr goes to this process's stderr).
pub async fn run_program(
    runtime: &Runtime,
    module: &Module,
    program: &str,
    args: &[&str],
) -> (ExitStatus, String) {
    let (stdout, captured) = Output::capture();
    let mut config = ProcessConfig::privileged();
    config.args = std::iter::once(program)
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect();
    let exit = runtime
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
        .wait()
        .await;
    let printed = String::from_utf8(captured.contents()).expect("UTF-8 output");
    (exit.status, printed)
}
