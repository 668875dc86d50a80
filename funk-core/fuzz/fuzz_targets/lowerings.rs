//! Fuzz every lowering: arbitrary guest memory and wasm arguments for
//! slices, strings, typed and `Plain` record slices, references, iovecs
//! (shared and mutable), handles (real, stale, forged, of another type),
//! out-values and `Vec`/`String` result buffers. funk must agree with the
//! naive model of `tests/lowering_support/oracle.rs` (or refuse where it
//! refuses) and leave guest memory as the model does; a panic or a
//! difference is a finding.
//!
//! Run: `cargo +nightly fuzz run lowerings -s none -- -runs=10000000` from
//! `funk-core/`. Inputs worth keeping go to `seeds/lowerings/`, which the
//! stable test `tests/lowering_oracle.rs` replays.

#![no_main]

#[path = "../../tests/lowering_support/oracle.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = oracle::check(data) {
        panic!("{finding}");
    }
});
