//! Preemption: how a process that computes without waiting gives way, is
//! stopped by a kill, and is held to its `max_fuel`.
//!
//! A process runs on an executor thread (Wasmtime) or an OS thread of its
//! own (Wasmer) until it waits in a host call. One that never waits must
//! still let others run, must stop when killed, and must stop when it has
//! used its compute limit. [`Preemption`] picks the mechanism:
//!
//! | mechanism | engines | slice | `max_fuel` | cost on compute |
//! |---|---|---|---|---|
//! | [`Injected`](Preemption::Injected) | both | reductions (wasm operators) | exact, in reductions | see `BENCHMARKS.md` |
//! | [`Fuel`](Preemption::Fuel) | Wasmtime | fuel (≈ instructions) | exact, in fuel | highest on calls |
//! | [`Epoch`](Preemption::Epoch) | Wasmtime | time | approximate: running time | lowest |
//! | [`Off`](Preemption::Off) | both | none | refused | none |
//!
//! Unless the settings say otherwise, Wasmtime uses fuel and Wasmer the
//! injected counter ([`Preemption::default_for`]).
//!
//! With the injected counter, every module is rewritten by
//! [`preempt::instrument`] when it is compiled
//! (never per spawn): it counts its own work and calls the host's
//! `funk::yield` when a slice is spent. That host function (the
//! `PreemptionApi` block) accounts the slice against the process's
//! `max_fuel`, traps when the limit is reached or the process was killed,
//! and on Wasmtime yields to the executor first. On Wasmer a process is an
//! OS thread, which the kernel preempts, so the yield only accounts and
//! checks for a kill.

use std::borrow::Cow;
use std::time::Duration;

use super::{CompileError, EngineKind};
use crate::preempt::{self, Options};
use crate::runtime::BuildError;

/// How running processes are preempted and their `max_fuel` enforced; see
/// the [module documentation](self).
///
/// # Example
///
/// A process that never waits is stopped by its `max_fuel`, whichever
/// mechanism enforces it; Wasmer has neither fuel nor epochs, so asking
/// for them there fails the build instead of silently not preempting.
///
/// ```
/// use funk_runtime::{EngineKind, ExitStatus, Preemption, ProcessConfig, Runtime};
///
/// #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let spin = r#"(module
///         (memory (export "memory") 1)
///         (func (export "spin") (loop (br 0))))"#;
///     for (engine, preemption) in [
///         (EngineKind::Wasmtime, Preemption::fuel()),
///         (EngineKind::Wasmtime, Preemption::epoch()),
///         (EngineKind::Wasmtime, Preemption::injected()),
///         (EngineKind::Wasmer, Preemption::injected()),
///     ] {
///         let runtime = Runtime::builder()
///             .engine(engine)
///             .preemption(preemption)
///             .build()?;
///         let module = runtime.compile(spin.as_bytes())?;
///         let mut config = ProcessConfig::default();
///         config.max_fuel = Some(10); // about a million instructions
///         let exit = runtime.spawn(&module, "spin", config)?.wait().await;
///         assert!(matches!(exit.status, ExitStatus::Failed(_)), "{}", exit.status);
///     }
///     let refused = Runtime::builder()
///         .engine(EngineKind::Wasmer)
///         .preemption(Preemption::fuel())
///         .build();
///     assert!(refused.is_err());
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preemption {
    /// The reduction counter of [`crate::preempt`], injected into every
    /// module at compile time: a process yields every `slice` reductions
    /// (one reduction is one wasm operator, charged ahead by region) and
    /// `max_fuel` counts reductions exactly (100 000 per unit). Works on
    /// both engines; the only mechanism on Wasmer.
    Injected {
        /// Reductions per slice (at least 1).
        slice: u64,
    },
    /// Wasmtime's fuel: a process yields every `slice` units of fuel
    /// (about one per wasm instruction) and `max_fuel` counts fuel exactly.
    /// Wasmtime only.
    Fuel {
        /// Fuel per slice (at least 1).
        slice: u64,
    },
    /// Wasmtime's epochs: a thread of the runtime advances the engine's
    /// epoch every `tick`, and a running process yields at the next
    /// function entry or loop header. `max_fuel` is approximated by running
    /// time: a process may run [`NANOS_PER_FUEL_UNIT`] nanoseconds per unit
    /// (the CPU time its guest takes while it is polled, host calls
    /// included: time spent waiting for a message or a timer, or for the
    /// operating system to schedule the thread, does not count), checked at each
    /// tick, so it may overrun by a tick. Wasmtime only.
    Epoch {
        /// Time between two epoch ticks (at least 1 µs).
        tick: Duration,
    },
    /// No preemption: a process runs until it waits. A kill reaches a
    /// process only when it calls the host, and a process with a `max_fuel`
    /// cannot be spawned ([`SpawnError::UnenforceableLimit`]). For trusted
    /// code and baselines.
    ///
    /// [`SpawnError::UnenforceableLimit`]: crate::SpawnError::UnenforceableLimit
    Off,
}

/// Running time one unit of `max_fuel` (100 000 instructions) buys under
/// [`Preemption::Epoch`]: 100 000 instructions at one instruction per
/// nanosecond, a rate the benchmark guests exceed on this project's
/// machines (so the approximation errs on the generous side).
pub const NANOS_PER_FUEL_UNIT: u64 = 100_000;

/// Reductions (or fuel) per slice unless a setting says otherwise: one unit
/// of Lunatic's `max_fuel`.
pub const DEFAULT_SLICE: u64 = 100_000;

/// The epoch tick unless a setting says otherwise.
pub const DEFAULT_TICK: Duration = Duration::from_millis(1);

impl Preemption {
    /// The injected counter with the default slice.
    pub const fn injected() -> Self {
        Preemption::Injected {
            slice: DEFAULT_SLICE,
        }
    }

    /// Wasmtime fuel with the default slice.
    pub const fn fuel() -> Self {
        Preemption::Fuel {
            slice: DEFAULT_SLICE,
        }
    }

    /// Wasmtime epochs with the default tick.
    pub const fn epoch() -> Self {
        Preemption::Epoch { tick: DEFAULT_TICK }
    }

    /// What `engine` uses when the settings do not say: fuel on Wasmtime
    /// (exact `max_fuel`, and the scheduling the Lunatic test suite was
    /// proven against; epochs are cheaper on compute but let a parent race
    /// its children differently, see `BENCHMARKS.md`), the injected counter
    /// on Wasmer (its only mechanism).
    pub const fn default_for(engine: EngineKind) -> Self {
        match engine {
            EngineKind::Wasmtime => Preemption::fuel(),
            EngineKind::Wasmer => Preemption::injected(),
        }
    }

    /// Whether `engine` has this mechanism.
    pub fn runs_on(&self, engine: EngineKind) -> bool {
        match self {
            Preemption::Injected { .. } | Preemption::Off => true,
            Preemption::Fuel { .. } | Preemption::Epoch { .. } => engine == EngineKind::Wasmtime,
        }
    }

    /// The mechanism `settings` ask for on their engine, or why the engine
    /// cannot provide it.
    pub(crate) fn resolve(
        choice: Option<Preemption>,
        engine: EngineKind,
    ) -> Result<Preemption, BuildError> {
        let preemption = choice.unwrap_or(Preemption::default_for(engine));
        if !preemption.runs_on(engine) {
            return Err(BuildError::Engine {
                engine,
                message: format!(
                    "{engine} cannot preempt with {preemption:?}: it has no fuel or epochs; \
                     use Preemption::Injected"
                ),
            });
        }
        Ok(match preemption {
            Preemption::Injected { slice } => Preemption::Injected {
                slice: slice.max(1),
            },
            Preemption::Fuel { slice } => Preemption::Fuel {
                slice: slice.max(1),
            },
            Preemption::Epoch { tick } => Preemption::Epoch {
                tick: tick.max(Duration::from_micros(1)),
            },
            Preemption::Off => Preemption::Off,
        })
    }

    /// The module an engine compiles for `wasm` (binary or text): under
    /// the injected counter, instrumented with a whole first slice (the
    /// engines cut it to a process's limit right after instantiation);
    /// otherwise `wasm` itself.
    pub(crate) fn prepare(self, wasm: &[u8]) -> Result<Cow<'_, [u8]>, CompileError> {
        let Preemption::Injected { slice } = self else {
            return Ok(Cow::Borrowed(wasm));
        };
        let binary = wat::parse_bytes(wasm).map_err(|e| CompileError(e.to_string()))?;
        let options = Options {
            initial_budget: i64::try_from(slice).unwrap_or(i64::MAX),
            ..Options::default()
        };
        preempt::instrument(&binary, &options)
            .map(Cow::Owned)
            .map_err(|e| CompileError(e.to_string()))
    }
}

/// The failure of a process that used its compute limit.
pub(crate) fn limit_reached(max_fuel: Option<u64>) -> String {
    match max_fuel {
        Some(units) => format!(
            "the process used its compute limit (max_fuel {units}: {} instructions)",
            units.saturating_mul(crate::config::INSTRUCTIONS_PER_FUEL_UNIT)
        ),
        None => "the process used its compute limit (max_fuel)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasmer_refuses_wasmtime_only_mechanisms() {
        for mechanism in [Preemption::fuel(), Preemption::epoch()] {
            let error = Preemption::resolve(Some(mechanism), EngineKind::Wasmer).unwrap_err();
            assert!(error.to_string().contains("Injected"), "{error}");
            assert!(Preemption::resolve(Some(mechanism), EngineKind::Wasmtime).is_ok());
        }
        for engine in [EngineKind::Wasmtime, EngineKind::Wasmer] {
            assert_eq!(
                Preemption::resolve(None, engine).unwrap(),
                Preemption::default_for(engine)
            );
        }
    }

    #[test]
    fn zero_slices_and_ticks_become_the_smallest() {
        let resolve = |p| Preemption::resolve(Some(p), EngineKind::Wasmtime).unwrap();
        assert_eq!(
            resolve(Preemption::Injected { slice: 0 }),
            Preemption::Injected { slice: 1 }
        );
        assert_eq!(
            resolve(Preemption::Fuel { slice: 0 }),
            Preemption::Fuel { slice: 1 }
        );
        assert_eq!(
            resolve(Preemption::Epoch {
                tick: Duration::ZERO
            }),
            Preemption::Epoch {
                tick: Duration::from_micros(1)
            }
        );
    }
}
