//! Shared by the tests that build Lunatic guests and run them with `funk`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The engines `funk --engine` takes.
pub const ENGINES: [&str; 2] = ["wasmtime", "wasmer"];

/// The wasm target Lunatic programs are built for.
pub const TARGET: &str = "wasm32-wasip1";

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("funk-runtime lives in the workspace")
        .to_path_buf()
}

/// The `funk` binary built for these tests.
pub fn funk() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_funk"))
}

/// Environment variables the outer `cargo test` set for the host build,
/// which must not leak into a guest build.
fn leaks_into_guest_build(key: &str) -> bool {
    matches!(
        key,
        "RUSTFLAGS"
            | "CARGO_ENCODED_RUSTFLAGS"
            | "CARGO_BUILD_RUSTFLAGS"
            | "CARGO_BUILD_TARGET"
            | "CARGO_BUILD_TARGET_DIR"
            | "CARGO_TARGET_DIR"
            | "RUSTC_WORKSPACE_WRAPPER"
            | "CARGO_MANIFEST_DIR"
    ) || key.starts_with("CARGO_PROFILE_")
        || key.starts_with("CARGO_TARGET_WASM32")
}

/// A `cargo` command for a guest build in `target_dir` (a directory of its
/// own: the outer cargo holds the lock on the workspace's).
pub fn cargo(target_dir: &Path) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(leaks_into_guest_build) {
            command.env_remove(&key);
        }
    }
    command.env("CARGO_TARGET_DIR", target_dir);
    command
}

/// Runs `command`; panics with its output if it cannot start.
pub fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// Panics with the command's output unless it succeeded.
pub fn check(what: &str, output: &Output) {
    if !output.status.success() {
        panic!(
            "{what} failed ({}).\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Builds the guest crate under `tests/guests/<name>` for wasm32-wasip1
/// (debug, as `cargo test` would) and returns the `.wasm` of binary `bin`.
pub fn build_guest(name: &str, bin: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guests")
        .join(name)
        .join("Cargo.toml");
    let target_dir = workspace().join("target/funk-runtime-guests");
    let out = output(
        cargo(&target_dir)
            .args(["build", "--target", TARGET, "--manifest-path"])
            .arg(&manifest),
    );
    check(&format!("building {}", manifest.display()), &out);
    target_dir.join(TARGET).join("debug").join(format!("{bin}.wasm"))
}

/// What one test of a libtest-style report said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `ok`
    Ok,
    /// `FAILED`
    Failed,
    /// `ignored`
    Ignored,
}

/// The `test NAME ... VERDICT` lines of libtest-style output, by name.
pub fn verdicts(stdout: &str) -> BTreeMap<String, Verdict> {
    let mut verdicts = BTreeMap::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, verdict)) = rest.rsplit_once(" ... ") else {
            continue;
        };
        let name = name.trim_end_matches(" - should panic").to_owned();
        let verdict = match verdict.trim() {
            "ok" => Verdict::Ok,
            "FAILED" => Verdict::Failed,
            "ignored" => Verdict::Ignored,
            _ => continue,
        };
        verdicts.insert(name, verdict);
    }
    verdicts
}
