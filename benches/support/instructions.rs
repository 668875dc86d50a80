//! Instruction counts under callgrind, next to criterion's times.
//!
//! Wall-clock medians on a shared VM move by ±30% between runs; the number of
//! instructions a host call executes does not. With `--instructions`, a
//! bench binary runs itself again under `valgrind --tool=callgrind` for
//! every case and side, twice: once with [`LOW`] and once with [`HIGH`]
//! iterations of the measured loop. Callgrind counts only what runs inside
//! [`counted`] (`--toggle-collect`), so setup, compilation and the
//! warm-up iteration are left out (groups whose work runs where the toggle
//! does not reach are counted over the whole process instead, see
//! [`report_scoped`]), and the difference of the two runs removes what is
//! left of the constant cost:
//!
//! ```text
//! instructions per host call = (Ir(HIGH) - Ir(LOW)) / ((HIGH - LOW) * calls per iteration)
//! ```
//!
//! Like the criterion figure, this includes the guest's loop around the
//! call and the guest entry spread over the iteration's calls.

use std::path::PathBuf;
use std::process::Command;

/// Iterations of the measured loop in the two runs.
pub const LOW: u32 = 2;
/// See [`LOW`].
pub const HIGH: u32 = 12;

/// The argument that makes a bench binary a callgrind child:
/// `--callgrind-child <group> <side> <iterations>`.
pub const CHILD: &str = "--callgrind-child";

/// Runs `f`; callgrind counts exactly what happens inside, on this thread.
/// Never nest it on one thread (callgrind toggles counting on entry).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn funk_bench_counted(f: &mut dyn FnMut()) {
    f()
}

/// Alias used by the benches.
pub use funk_bench_counted as counted;

/// The arguments of a callgrind child, if this process is one.
pub fn child_args() -> Option<(String, String, u32)> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == CHILD)?;
    let group = args.get(at + 1)?.clone();
    let side = args.get(at + 2)?.clone();
    let iterations = args.get(at + 3)?.parse().ok()?;
    Some((group, side, iterations))
}

/// Whether the bench was asked for instruction counts.
pub fn wanted() -> bool {
    std::env::args().any(|a| a == "--instructions")
}

/// Runs one measured case in a callgrind child: one warm-up iteration, then
/// `iterations` inside [`counted`].
pub fn run_child(iterations: u32, mut one: impl FnMut()) {
    one();
    counted(&mut || {
        for _ in 0..iterations {
            one();
        }
    });
}

/// One line of the report: instructions per host call of `side` in `group`.
#[derive(Debug, Clone)]
pub struct Count {
    pub group: String,
    pub side: String,
    pub per_call: f64,
}

fn callgrind_total(out: &PathBuf) -> u64 {
    let text = std::fs::read_to_string(out)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", out.display()));
    // The `summary:` (or, in older versions, `totals:`) line holds the
    // collected instruction count.
    text.lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no summary in {}", out.display()))
}

/// The instructions `group`/`side` executes in `iterations` iterations:
/// inside [`counted`], or with `whole_process`, everything every thread of
/// the child runs (setup included, which the difference of the two runs
/// removes).
fn count(group: &str, side: &str, iterations: u32, whole_process: bool) -> u64 {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let out = std::env::temp_dir().join(format!(
        "funk-callgrind-{}-{group}-{side}-{iterations}.out",
        std::process::id()
    ));
    let scope: &[&str] = match whole_process {
        true => &["--collect-atstart=yes"],
        false => &[
            "--collect-atstart=no",
            "--toggle-collect=funk_bench_counted",
        ],
    };
    let status = Command::new("valgrind")
        .args(["--tool=callgrind", "--dump-instr=no"])
        .args(scope)
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .args([CHILD, group, side, &iterations.to_string()])
        .output()
        .expect("cannot run valgrind (install it: apt-get install valgrind)");
    if !status.status.success() {
        panic!(
            "callgrind child {group}/{side} failed: {}\n{}",
            status.status,
            String::from_utf8_lossy(&status.stderr)
        );
    }
    let total = callgrind_total(&out);
    let _ = std::fs::remove_file(&out);
    total
}

/// Counts every `(group, side)` and prints the table; `calls` is the number
/// of host calls per iteration. `pairs` are `(numerator, denominator)` side
/// names whose ratio is printed per group.
pub fn report(cases: &[(&str, &[&str])], calls: u32, pairs: &[(&str, &str)]) -> Vec<Count> {
    report_scoped(cases, calls, pairs, &|_| false)
}

/// [`report`], counting the groups `whole_process` names over the whole
/// child process: for work on threads where callgrind's toggle does not
/// take effect (a Wasmer `GuestThread` counted 1 instruction per call).
pub fn report_scoped(
    cases: &[(&str, &[&str])],
    calls: u32,
    pairs: &[(&str, &str)],
    whole_process: &dyn Fn(&str) -> bool,
) -> Vec<Count> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("valgrind is not installed; skipping instruction counts");
        return Vec::new();
    }
    let mut counts = Vec::new();
    println!("instructions per host call (callgrind, Ir):");
    for (group, sides) in cases {
        for side in *sides {
            let whole = whole_process(group);
            let low = count(group, side, LOW, whole);
            let high = count(group, side, HIGH, whole);
            let per_call = (high as f64 - low as f64) / (f64::from(HIGH - LOW) * f64::from(calls));
            println!("  {group:<28} {side:<28} {per_call:>10.1}");
            counts.push(Count {
                group: group.to_string(),
                side: side.to_string(),
                per_call,
            });
        }
    }
    println!("ratios:");
    for (group, _) in cases {
        for (num, den) in pairs {
            let find = |side: &str| {
                counts
                    .iter()
                    .find(|c| c.group == *group && c.side == side)
                    .map(|c| c.per_call)
            };
            if let (Some(n), Some(d)) = (find(num), find(den)) {
                println!("  {group:<28} {num} / {den}: {:.3}", n / d);
            }
        }
    }
    counts
}
