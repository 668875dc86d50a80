//! Compile-fail tests: each file under `tests/ui/` is one mistake a user can
//! make with `#[funk::host_functions]` or `#[derive(funk::Plain)]`, pinned by
//! the compiler output in the `.stderr` file next to it.
//!
//! The expected output is for both backends (`--all-features`): the
//! compiler's "other types implement this trait" lists name every enabled
//! backend. Regenerate it with
//! `TRYBUILD=overwrite cargo test --all-features --test ui` and review the diff.

#[test]
#[cfg(all(feature = "wasmtime", feature = "wasmer"))]
fn compile_fail() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
