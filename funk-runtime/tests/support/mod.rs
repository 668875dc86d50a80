//! Shared by the tests that build Lunatic guests and run them with `funk`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

#[path = "../../../tests/support/guest_build.rs"]
mod guest_build;

#[allow(unused_imports)]
pub use guest_build::{build, cargo, check, ensure_target, output};

/// Builds the guest crate under `tests/guests/<name>` for wasm32-wasip1
/// (debug, as `cargo test` would) and returns the `.wasm` of binary `bin`.
pub fn build_guest(name: &str, bin: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guests")
        .join(name)
        .join("Cargo.toml");
    let target_dir = workspace().join("target/funk-runtime-guests");
    build(&manifest, TARGET, false, &target_dir).join(format!("{bin}.wasm"))
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
