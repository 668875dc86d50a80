//! The command line: parse, set up logging and a runtime, dispatch.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use funk_runtime::{EngineKind, Preopen, ProcessConfig, Runtime, Scheduler, Settings};

mod libtest;
mod run;
mod test;

#[derive(Parser, Debug)]
#[command(
    name = "funk",
    version,
    about = "Runs Lunatic programs on funk-runtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs a .wasm program (or, for a cargo test binary, its tests).
    Run(RunArgs),
    /// Runs the `#[lunatic::test]` functions of a .wasm test binary.
    Test(RunArgs),
}

#[derive(Args, Debug)]
struct RunArgs {
    /// The engine to run on.
    #[arg(long, default_value = "wasmtime", value_parser = parse_engine)]
    engine: EngineKind,
    /// Lets the guest open files under a host directory (`HOST[::GUEST]`).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Address space reserved for each process's memory on Wasmtime, in
    /// bytes or with a K, M or G suffix (powers of 1024); e.g. `64M` lets a
    /// node hold millions of processes instead of about 31k, at the price
    /// of a bounds check per memory access.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory_reservation: Option<u64>,
    /// Threads that run processes (default: one per CPU). With
    /// `--scheduler tokio`, one keeps every wake-up on its thread:
    /// programs that mostly spawn and message run faster, but processes no
    /// longer compute in parallel.
    #[arg(long, value_name = "N")]
    workers: Option<NonZeroUsize>,
    /// Where processes run: funk's workers, which keep processes that wake
    /// one another on one thread and spread the rest (`local`), or tokio's
    /// work-stealing executor (`tokio`).
    #[arg(long, value_enum, default_value_t = SchedulerArg::Local)]
    scheduler: SchedulerArg,
    /// Sets an environment variable for the guest (`K=V`).
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    envs: Vec<(String, String)>,
    /// The .wasm file.
    wasm: PathBuf,
    /// Arguments for the guest (or, in test mode, for the test harness).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// The `--scheduler` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SchedulerArg {
    Local,
    Tokio,
}

fn parse_engine(s: &str) -> Result<EngineKind, String> {
    s.parse()
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, shift) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let bad = || format!("`{s}` is not a size (bytes, or a number with K, M or G)");
    let value: u64 = digits.parse().map_err(|_| bad())?;
    value.checked_mul(1 << shift).ok_or_else(bad)
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{s}` is not of the form K=V")),
    }
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let (args, test_mode) = match cli.command {
        Command::Run(args) => {
            let test_mode = is_cargo_test_binary(&args);
            (args, test_mode)
        }
        Command::Test(args) => (args, true),
    };
    init_logging(test_mode);
    let mut executor = tokio::runtime::Builder::new_multi_thread();
    match args.scheduler {
        SchedulerArg::Tokio => {
            if let Some(workers) = args.workers {
                executor.worker_threads(workers.get());
            }
        }
        // Processes run on funk's workers; tokio's one thread drives the
        // timers and sockets.
        SchedulerArg::Local => {
            executor.worker_threads(1);
        }
    }
    let executor = match executor.enable_all().build() {
        Ok(executor) => executor,
        Err(error) => {
            eprintln!("funk: cannot start the executor: {error}");
            return 1;
        }
    };
    let code = executor.block_on(async move {
        match start(&args, test_mode).await {
            Ok(code) => code,
            Err(error) => {
                eprintln!("funk: {error}");
                1
            }
        }
    });
    // Processes still running when the program ends are dropped with it.
    executor.shutdown_background();
    code
}

async fn start(args: &RunArgs, test_mode: bool) -> Result<i32, String> {
    let wasm = std::fs::read(&args.wasm)
        .map_err(|e| format!("cannot read {}: {e}", args.wasm.display()))?;
    let runtime = Runtime::builder()
        .settings(Settings {
            engine: args.engine,
            memory_reservation: args.memory_reservation,
            scheduler: match args.scheduler {
                SchedulerArg::Local => Scheduler::Local {
                    workers: args.workers,
                },
                SchedulerArg::Tokio => Scheduler::Tokio,
            },
            ..Settings::default()
        })
        .build()
        .map_err(|e| e.to_string())?;
    let module = runtime
        .compile(&wasm)
        .map_err(|e| format!("cannot load {}: {e}", args.wasm.display()))?;
    let config = root_config(args);
    if test_mode {
        test::run_tests(&runtime, &module, config, &args.args).await
    } else {
        run::run_program(&runtime, &module, config, &args.wasm, &args.args).await
    }
}

/// The first process's configuration: every permission, the host's
/// environment plus `--env`, the `--dir` preopens.
fn root_config(args: &RunArgs) -> ProcessConfig {
    let mut config = ProcessConfig::privileged();
    config.env = std::env::vars().collect();
    config.env.extend(args.envs.iter().cloned());
    config.preopens = args.dirs.iter().map(|d| Preopen::parse(d)).collect();
    config
}

/// Whether cargo is running a test binary: it sets `CARGO_MANIFEST_DIR`,
/// test binaries live in `target/<wasm target>/<profile>/deps/`, and
/// benchmarks pass `--bench`.
fn is_cargo_test_binary(args: &RunArgs) -> bool {
    if std::env::var_os("CARGO_MANIFEST_DIR").is_none() || args.args.iter().any(|a| a == "--bench")
    {
        return false;
    }
    let components: Vec<_> = args.wasm.components().rev().skip(1).take(3).collect();
    let names: Vec<&str> = components
        .iter()
        .filter_map(|c| c.as_os_str().to_str())
        .collect();
    args.wasm.extension().is_some_and(|e| e == "wasm")
        && names.len() == 3
        && names[0] == "deps"
        && names[2].starts_with("wasm32-")
}

/// `RUST_LOG` filters as usual; by default, failures of processes (warn)
/// are shown when running a program and hidden in test mode (the harness
/// reports them).
fn init_logging(test_mode: bool) {
    let default = if test_mode { "error" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::{Cli, Command, SchedulerArg, parse_size};
    use clap::Parser;

    #[test]
    fn workers_are_a_positive_count() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(args).map(|cli| match cli.command {
                Command::Run(args) | Command::Test(args) => args.workers.map(|n| n.get()),
            })
        };
        assert_eq!(parse(&["funk", "run", "app.wasm"]).unwrap(), None);
        assert_eq!(
            parse(&["funk", "run", "--workers", "1", "app.wasm"]).unwrap(),
            Some(1)
        );
        assert!(parse(&["funk", "run", "--workers", "0", "app.wasm"]).is_err());
        assert!(parse(&["funk", "test", "--workers", "x", "app.wasm"]).is_err());
    }

    #[test]
    fn the_scheduler_is_local_unless_asked_for_tokio() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(args).map(|cli| match cli.command {
                Command::Run(args) | Command::Test(args) => args.scheduler,
            })
        };
        assert_eq!(
            parse(&["funk", "run", "app.wasm"]).unwrap(),
            SchedulerArg::Local
        );
        assert_eq!(
            parse(&["funk", "test", "--scheduler", "tokio", "app.wasm"]).unwrap(),
            SchedulerArg::Tokio
        );
        assert!(parse(&["funk", "run", "--scheduler", "beam", "app.wasm"]).is_err());
    }

    #[test]
    fn sizes_take_binary_suffixes_and_refuse_overflow() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert!(parse_size("M").is_err());
        assert!(parse_size("-1K").is_err());
        assert!(parse_size("99999999999G").is_err());
    }
}
