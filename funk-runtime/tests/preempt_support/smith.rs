//! Generated modules: the wasm-smith configuration and seeded generation.

use arbitrary::Unstructured;

/// Loop iterations plus calls a generated module may make before its own
/// `ensure_termination` counter traps: keeps every run finite and deterministic.
pub const SMITH_FUEL: u32 = 2_000;

/// Modules with nothing to import and everything exported, so that every function can
/// be called and every global, memory and table compared; proposals limited to what
/// the test engines run (no GC, exceptions or threads: not compiled into the
/// workspace's Wasmtime); NaNs canonicalised so floats compare by bits.
///
/// The workspace's Wasmtime is built without GC, so it refuses `externref`, which
/// wasm-smith uses often once reference types are on: `reference_types` is a knob.
pub fn config(reference_types: bool) -> wasm_smith::Config {
    wasm_smith::Config {
        reference_types_enabled: reference_types,
        max_imports: 0,
        export_everything: true,
        allow_start_export: true,
        canonicalize_nans: true,
        gc_enabled: false,
        exceptions_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        custom_page_sizes_enabled: false,
        // Memories and tables bounded, so that `memory.grow` cannot make a run spend
        // its time hashing gigabytes.
        memory_max_size_required: true,
        table_max_size_required: true,
        max_memory32_bytes: 1 << 20,
        max_memory64_bytes: 1 << 20,
        max_table_elements: 1_000,
        max_memories: 2,
        max_tables: 2,
        max_funcs: 30,
        max_instructions: 200,
        min_funcs: 3,
        min_types: 1,
        ..wasm_smith::Config::default()
    }
}

/// Modules for Wasmer: reference types always (it runs `externref`), but neither tail
/// calls nor memory64, relaxed SIMD or wide arithmetic (not enabled by default).
pub fn wasmer_config() -> wasm_smith::Config {
    wasm_smith::Config {
        tail_call_enabled: false,
        memory64_enabled: false,
        relaxed_simd_enabled: false,
        wide_arithmetic_enabled: false,
        ..config(true)
    }
}

/// The Wasmer module of seed `seed`, if the bytes make one.
pub fn wasmer_module_of_seed(seed: u64) -> Option<Vec<u8>> {
    let input = seed_bytes(seed);
    let mut module =
        wasm_smith::Module::new(wasmer_config(), &mut Unstructured::new(&input)).ok()?;
    module.ensure_termination(SMITH_FUEL).ok()?;
    Some(module.to_bytes())
}

/// A module from fuzzer input: generated (with reference types one time in four),
/// then bounded by `ensure_termination`.
pub fn module(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let reference_types = u.ratio(1, 4)?;
    let mut module = wasm_smith::Module::new(config(reference_types), u)?;
    module
        .ensure_termination(SMITH_FUEL)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(module.to_bytes())
}

/// The fuzzer-like input of seed `seed`: one to nine kilobytes from a splitmix64
/// stream.
pub fn seed_bytes(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let len = 1024 + (next() % 8192) as usize;
    (0..len).map(|_| next() as u8).collect()
}

/// The generated module of seed `seed`, if the bytes make one.
pub fn module_of_seed(seed: u64) -> Option<Vec<u8>> {
    module(&mut Unstructured::new(&seed_bytes(seed))).ok()
}

/// The budget a run of seed `seed` uses: small, so that yields happen often.
pub fn refill_of_seed(seed: u64) -> i64 {
    1 + (seed % 97) as i64
}
