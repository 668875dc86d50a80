//! The lowering oracle (tests/lowering_support/oracle.rs) on stable: the
//! fuzz target's checked-in seeds (funk-core/fuzz/seeds/lowerings), then
//! inputs from a fixed pseudo-random stream, so CI replays what the fuzzer
//! found and covers every operation kind.

#[path = "lowering_support/oracle.rs"]
mod oracle;

use std::path::Path;

#[test]
fn the_fuzz_seeds_agree_with_the_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/lowerings");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let input = std::fs::read(&path).unwrap();
        oracle::check(&input).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += 1;
    }
    assert!(seen > 0, "no seeds in {}", dir.display());
}

#[test]
fn pseudo_random_inputs_agree_with_the_model() {
    // xorshift64*: the same inputs on every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for case in 0..20_000 {
        let len = (next() % 512) as usize;
        let input: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if let Err(e) = oracle::check(&input) {
            panic!("case {case}: {e}\ninput: {input:02x?}");
        }
    }
}
