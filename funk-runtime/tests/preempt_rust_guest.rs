//! The preemption pass on real compiled Rust: tests/preempt_guest/guest.rs, built by
//! this test with `rustc` for `wasm32-unknown-unknown` (optimised and unoptimised with
//! debug info, which also exercises dropping DWARF), run original against
//! instrumented on Wasmtime and Wasmer. And the cost of the pass on a large module.

mod preempt_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use funk_runtime::preempt::{self, Options};
use preempt_support::observe::{Arg, Plan};
use preempt_support::{wasmer_run, wasmtime_run};

/// Compiles the guest with `rustc` for `target`; `optimized` picks `-O` or `-g`.
fn build_guest(target: &str, optimized: bool) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = root.join("tests/preempt_guest/guest.rs");
    let name = format!(
        "preempt_guest_{target}_{}",
        if optimized { "release" } else { "debug" }
    );
    let out: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.wasm"));
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut command = Command::new(&rustc);
    command
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "cdylib",
            "--target",
            target,
        ])
        .args(if optimized {
            ["-O", "-Cstrip=debuginfo"]
        } else {
            ["-g", "-Copt-level=0"]
        })
        .arg("-o")
        .arg(&out)
        .arg(&source);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {rustc:?}: {e}"));
    assert!(
        output.status.success(),
        "building {} for {target} failed; if the target is missing: rustup target add {target}\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()))
}

fn calls() -> Vec<(&'static str, Vec<Arg>)> {
    use Arg::{I32, I64};
    vec![
        ("fib", vec![I32(0)]),
        ("fib", vec![I32(20)]),
        ("sieve", vec![I32(10_000)]),
        ("sort_checksum", vec![I32(2_000), I64(7)]),
        ("format_table", vec![I32(300)]),
        ("basel", vec![I32(10_000)]),
        ("checked", vec![I32(3)]),
        ("checked", vec![I32(11)]),
        ("spin", vec![I32(200_000)]),
        ("fib", vec![I32(15)]),
    ]
}

fn plan(refill: i64) -> Plan {
    let calls = calls();
    let calls: Vec<(&str, &[Arg])> = calls.iter().map(|(n, a)| (*n, a.as_slice())).collect();
    Plan::calls(refill, &calls)
}

fn same_on_both_engines(wasm: &[u8]) {
    {
        let plan = plan(97);
        let engine = wasmtime_run::engine();
        let (compared, yields) =
            wasmtime_run::differential(&engine, wasm, &plan, &wasmtime_run::no_imports)
                .unwrap_or_else(|e| panic!("wasmtime: {e}"));
        assert!(!compared.inconclusive, "wasmtime run stopped early");
        assert_eq!(compared.lines, 2 * calls().len() + 1);
        assert!(yields > 0);
        let engine = wasmer::Engine::default();
        let (compared, wasmer_yields) =
            wasmer_run::differential(&engine, wasm, &plan, &wasmer_run::no_imports)
                .unwrap_or_else(|e| panic!("wasmer: {e}"));
        assert!(!compared.inconclusive, "wasmer run stopped early");
        assert_eq!(compared.lines, 2 * calls().len() + 1);
        assert_eq!(
            yields, wasmer_yields,
            "both engines run the same instrumented code"
        );
    }
}

#[test]
fn optimized_rust_guest_computes_the_same_instrumented() {
    same_on_both_engines(&build_guest("wasm32-unknown-unknown", true));
}

#[test]
fn unoptimized_rust_guest_with_debug_info_computes_the_same_instrumented() {
    let wasm = build_guest("wasm32-unknown-unknown", false);
    let instrumented = preempt::instrument(&wasm, &Options::default()).unwrap();
    let has_dwarf = |wasm: &[u8]| {
        wasmparser::Parser::new(0).parse_all(wasm).any(|p| {
            matches!(p, Ok(wasmparser::Payload::CustomSection(s)) if s.name().starts_with(".debug_"))
        })
    };
    assert!(has_dwarf(&wasm) && !has_dwarf(&instrumented));
    same_on_both_engines(&wasm);
}
