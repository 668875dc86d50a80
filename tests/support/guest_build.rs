//! Building Rust guests from a test: shared by funk's tests and
//! funk-runtime's (which include this file by path).
//!
//! A guest crate is built by a nested `cargo` into a target directory of
//! its own (the outer cargo holds the lock on the workspace's), with the
//! outer build's settings cleared, after making sure the wasm target is
//! installed: `rustup target add` is idempotent, and with it `cargo test`
//! needs no set-up step of its own on a machine that has only rustup.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Environment variables the outer `cargo test` (or the user) set for the
/// host build, which must not leak into a guest build.
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

/// A `cargo` command for a guest build into `target_dir`.
pub fn cargo(target_dir: &Path) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    // Clear the outer build's settings first: removing a variable after
    // setting it would drop ours too.
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(leaks_into_guest_build) {
            command.env_remove(&key);
        }
    }
    command.env("CARGO_TARGET_DIR", target_dir);
    command
}

/// Runs `command`; panics if it cannot start.
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

/// Installs the standard library for `target` in the active toolchain if
/// it is missing (once per test process).
pub fn ensure_target(target: &str) {
    static DONE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if done.iter().any(|t| t == target) {
        return;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", target])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if !libdir.is_some_and(|dir| dir.is_dir()) {
        let out = output(Command::new("rustup").args(["target", "add", target]));
        check(&format!("rustup target add {target}"), &out);
    }
    done.push(target.to_owned());
}

/// Builds the crate at `manifest` for `target` (`--release` if `release`)
/// into `target_dir`; returns `target_dir/<target>/<profile>`.
pub fn build(manifest: &Path, target: &str, release: bool, target_dir: &Path) -> PathBuf {
    ensure_target(target);
    let mut command = cargo(target_dir);
    command
        .args(["build", "--target", target, "--manifest-path"])
        .arg(manifest);
    if release {
        command.arg("--release");
    }
    check(
        &format!("building {}", manifest.display()),
        &output(&mut command),
    );
    let profile = if release { "release" } else { "debug" };
    target_dir.join(target).join(profile)
}
