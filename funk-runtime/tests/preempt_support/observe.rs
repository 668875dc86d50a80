//! What a run of a module shows, one line per event, and how two runs compare.
//!
//! A run records the start function's outcome, then for each call its results or trap
//! and the state of every export afterwards (globals' values, memories' size and
//! contents hash, tables' size). Floats are compared by bits except NaNs, which all
//! compare equal; references by null-ness. Events that depend on machine resources
//! rather than on the program (stack overflow, the engine's fuel safety net) end a
//! run's comparable part: the instrumented code uses a little more stack and fuel.

use std::fmt;

/// The lines of one run, up to the first inconclusive event.
#[derive(Debug, Default, Clone)]
pub struct Observation {
    /// One line per event.
    pub lines: Vec<String>,
    /// Why the run stopped being comparable, if it did.
    pub inconclusive: Option<String>,
    /// How many times the yield import was called.
    pub yields: u64,
}

impl Observation {
    /// Records an event.
    pub fn push(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }
}

/// Where two runs first differ.
#[derive(Debug)]
pub struct Mismatch {
    pub line: usize,
    pub original: Option<String>,
    pub instrumented: Option<String>,
    pub context: Vec<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "runs differ at event {}:", self.line)?;
        for line in &self.context {
            writeln!(f, "  same:         {line}")?;
        }
        writeln!(f, "  original:     {:?}", self.original)?;
        write!(f, "  instrumented: {:?}", self.instrumented)
    }
}

/// How much of two runs was compared.
#[derive(Debug, Clone, Copy, Default)]
pub struct Compared {
    /// Events that matched.
    pub lines: usize,
    /// Whether a run stopped early (stack overflow, fuel).
    pub inconclusive: bool,
    /// Whether the engine refused the original module (a proposal it does not run):
    /// nothing was compared.
    pub unsupported: bool,
}

/// Compares the runs of the original and the instrumented module.
pub fn compare(original: &Observation, instrumented: &Observation) -> Result<Compared, Mismatch> {
    let inconclusive = original.inconclusive.is_some() || instrumented.inconclusive.is_some();
    let (a, b) = (&original.lines, &instrumented.lines);
    let n = if inconclusive {
        a.len().min(b.len())
    } else {
        a.len().max(b.len())
    };
    for i in 0..n {
        if a.get(i) != b.get(i) {
            return Err(Mismatch {
                line: i,
                original: a.get(i).cloned(),
                instrumented: b.get(i).cloned(),
                context: a[i.saturating_sub(3)..i].to_vec(),
            });
        }
    }
    Ok(Compared {
        lines: n,
        inconclusive,
        unsupported: false,
    })
}

/// A hash to tell memories apart (std's, which is optimised even in test builds).
pub fn hash(data: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut hasher);
    hasher.finish()
}

/// An `f32` by bits, every NaN alike.
pub fn f32_bits(bits: u32) -> String {
    if f32::from_bits(bits).is_nan() {
        "f32:nan".into()
    } else {
        format!("f32:{bits:#x}")
    }
}

/// An `f64` by bits, every NaN alike.
pub fn f64_bits(bits: u64) -> String {
    if f64::from_bits(bits).is_nan() {
        "f64:nan".into()
    } else {
        format!("f64:{bits:#x}")
    }
}

/// An argument of a planned call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg {
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
}

/// What to do with an instance.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What the yield import returns (and the instrumented module's initial budget).
    pub refill: i64,
    /// The calls to make in order, or `None` to call every exported function once
    /// with zero arguments.
    pub calls: Option<Vec<(String, Vec<Arg>)>>,
}

impl Plan {
    /// Every exported function once, with zero arguments.
    pub fn every_export(refill: i64) -> Self {
        Plan {
            refill,
            calls: None,
        }
    }

    /// These calls, in order.
    pub fn calls(refill: i64, calls: &[(&str, &[Arg])]) -> Self {
        Plan {
            refill,
            calls: Some(
                calls
                    .iter()
                    .map(|(name, args)| (name.to_string(), args.to_vec()))
                    .collect(),
            ),
        }
    }

    /// The instrumentation options that go with this plan.
    pub fn options(&self) -> funk_runtime::preempt::Options {
        funk_runtime::preempt::Options {
            initial_budget: self.refill,
            ..Default::default()
        }
    }
}

/// The budget export, left out of state lines: only the instrumented module has it.
pub const BUDGET_EXPORT: &str = funk_runtime::preempt::DEFAULT_BUDGET_EXPORT;
