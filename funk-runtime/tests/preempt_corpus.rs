//! The preemption pass on generated modules: wasm-smith modules from seeded inputs,
//! every exported function called, original against instrumented on Wasmtime (and a
//! smaller corpus on Wasmer); then the fuzz target's checked-in seeds.
//!
//! `FUNK_PREEMPT_CORPUS=N` sets the number of generated modules (default 1000);
//! `FUNK_PREEMPT_WASMER_CORPUS=N` the Wasmer share (default 200);
//! `FUNK_PREEMPT_SEED=S` starts the seeds at `S` for long runs over new ground.

mod preempt_support;

use std::path::Path;
use std::sync::Mutex;

use preempt_support::observe::Plan;
use preempt_support::{smith, wasmer_run, wasmtime_run};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What a corpus run found, for the assertions and the log.
#[derive(Debug, Default)]
struct Tally {
    modules: u64,
    not_generated: u64,
    events_compared: u64,
    inconclusive: u64,
    unsupported: u64,
    yields: u64,
    failures: Vec<String>,
}

/// Runs seeds `first..first + count` through `check` on all cores.
fn run_corpus(
    first: u64,
    count: u64,
    generate: fn(u64) -> Option<Vec<u8>>,
    check: impl Fn(&[u8], &Plan) -> Result<(preempt_support::observe::Compared, u64), String> + Sync,
) -> Tally {
    let tally = Mutex::new(Tally::default());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (tally, check) = (&tally, &check);
            scope.spawn(move || {
                for seed in (first + t..first + count).step_by(threads as usize) {
                    let Some(wasm) = generate(seed) else {
                        tally.lock().unwrap().not_generated += 1;
                        continue;
                    };
                    let plan = Plan::every_export(smith::refill_of_seed(seed));
                    let outcome = check(&wasm, &plan);
                    let mut tally = tally.lock().unwrap();
                    tally.modules += 1;
                    match outcome {
                        Ok((compared, yields)) => {
                            tally.events_compared += compared.lines as u64;
                            tally.inconclusive += u64::from(compared.inconclusive);
                            tally.unsupported += u64::from(compared.unsupported);
                            tally.yields += yields;
                        }
                        Err(e) => tally.failures.push(format!("seed {seed}: {e}")),
                    }
                }
            });
        }
    });
    tally.into_inner().unwrap()
}

fn assert_clean(engine: &str, tally: &Tally) {
    eprintln!("{engine}: {tally:?}");
    assert!(
        tally.failures.is_empty(),
        "{engine}: {} failures:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert!(tally.modules > 0);
    assert!(
        tally.yields > 0,
        "{engine}: the corpus never reached the yield path"
    );
    assert!(
        tally.inconclusive * 10 < tally.modules,
        "{engine}: too many inconclusive runs: {tally:?}"
    );
    assert!(
        tally.unsupported * 2 < tally.modules,
        "{engine}: the engine refused most generated modules: {tally:?}"
    );
}

#[test]
fn generated_modules_compute_the_same_instrumented_on_wasmtime() {
    let engine = wasmtime_run::engine();
    let first = env_u64("FUNK_PREEMPT_SEED", 0);
    let count = env_u64("FUNK_PREEMPT_CORPUS", 1000);
    let tally = run_corpus(first, count, smith::module_of_seed, |wasm, plan| {
        wasmtime_run::differential(&engine, wasm, plan, &wasmtime_run::no_imports)
    });
    assert_clean("wasmtime", &tally);
}

#[test]
fn generated_modules_compute_the_same_instrumented_on_wasmer() {
    let engine = wasmer::Engine::default();
    let first = env_u64("FUNK_PREEMPT_SEED", 0);
    let count = env_u64("FUNK_PREEMPT_WASMER_CORPUS", 200);
    let tally = run_corpus(first, count, smith::wasmer_module_of_seed, |wasm, plan| {
        wasmer_run::differential(&engine, wasm, plan, &wasmer_run::no_imports)
    });
    assert_clean("wasmer", &tally);
}

/// The fuzz target's seeds (`fuzz/seeds/instrument`) go through the same check on
/// stable, so that what the fuzzer found stays fixed.
#[test]
fn fuzz_seeds_compute_the_same_instrumented() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/instrument");
    let engine = wasmtime_run::engine();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let input = std::fs::read(&path).unwrap();
        let mut u = arbitrary::Unstructured::new(&input);
        let Ok(wasm) = smith::module(&mut u) else {
            continue;
        };
        let plan = Plan::every_export(smith::refill_of_seed(input.len() as u64));
        wasmtime_run::differential(&engine, &wasm, &plan, &wasmtime_run::no_imports)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += 1;
    }
    assert!(seen > 0, "no seed made a module");
}
