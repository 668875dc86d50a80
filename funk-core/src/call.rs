//! The seam between generated shims and engine backends.
//!
//! `#[host_functions]` turns each method into a *shim*: a unit type
//! implementing [`Shim`], whose `call` goes from a [`Call`] (guest memory +
//! host state) and the flat wasm arguments to the flat wasm results, and
//! whose constants say what the call needs. It hands the shims to a backend
//! through [`Define`],
//! once per method, from its [`HostFunctions`] impl. A backend implements
//! `Define` for every flat signature its engine's typed API can express, so
//! the engine calls straight into the shim with no dynamic dispatch.

use crate::abi::AbiList;
use crate::error::{LinkError, Trap};
use crate::memory::GuestMemory;

/// What a shim receives besides the wasm arguments.
#[derive(Debug)]
pub struct Call<'c, S> {
    memory: GuestMemory<'c>,
    state: &'c mut S,
}

impl<'c, S> Call<'c, S> {
    /// Bundles the guest memory and host state of one call.
    pub fn new(memory: GuestMemory<'c>, state: &'c mut S) -> Self {
        Call { memory, state }
    }

    /// The memory and the state.
    pub fn into_parts(self) -> (GuestMemory<'c>, &'c mut S) {
        (self.memory, self.state)
    }
}

/// Static facts about one host function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfo {
    /// Import module name.
    pub namespace: &'static str,
    /// Import field name.
    pub name: &'static str,
    /// `namespace::name`, as trap messages show it.
    pub qualified: &'static str,
    /// Whether the method is `async`: the engine must run the guest
    /// asynchronously (Wasmtime's `call_async`, funk-wasmer's `call_async`).
    pub asynchronous: bool,
    /// Whether the shim needs guest memory; backends skip the lookup when not.
    pub memory: bool,
    /// Whether a panic in the function becomes a trap (the default) or
    /// unwinds to the embedder's call into the guest (`panics = "unwind"`).
    pub catch_panics: bool,
}

/// The static facts of one generated shim, as a constant: what the
/// backend's closure (and, for async functions, the future guarding the
/// shim's) reads to decide about memory and panics folds away at compile
/// time.
pub trait ShimInfo: Copy + Send + Sync + 'static {
    /// Names, whether guest memory is needed, the panic policy.
    const INFO: &'static FuncInfo;
}

/// The generated shim of one synchronous method, as a unit type: everything
/// a backend needs is a constant or a function of it, so the backend's
/// closure captures nothing but the state accessor and every decision about
/// memory, panics and failure folds away at compile time.
pub trait Shim<S>: ShimInfo {
    /// The flat wasm parameters, out-pointers included.
    type Params: AbiList;
    /// The flat wasm results.
    type Results: AbiList;
    /// Whether the call can fail with a [`Trap`] other than a caught panic:
    /// some parameter's [`Lift::FALLIBLE`](crate::Lift::FALLIBLE) or the
    /// result's [`ReturnValue::FALLIBLE`](crate::ReturnValue::FALLIBLE).
    /// A function that can neither fail nor catch a panic is defined with
    /// the engine's infallible fast path (a bare result, no trap path).
    const FALLIBLE: bool;
    /// Lifts the arguments, calls the method and lowers its result. The
    /// backend runs it through [`run_shim`] when [`FuncInfo::catch_panics`].
    fn call(call: Call<'_, S>, args: Self::Params) -> Result<Self::Results, Trap>;
}

/// A backend's ability to define a host function with flat parameters `P`
/// and flat results `R` for state `S`.
#[diagnostic::on_unimplemented(
    message = "this engine cannot define a host function with wasm parameters `{P}` and results `{R}`",
    note = "every flat signature of wasm number types with at most two results is supported; check that each parameter's `Lift::Abi` is made of `i32`, `u32`, `i64`, `u64`, `f32` or `f64`"
)]
pub trait Define<S, P: AbiList, R: AbiList> {
    /// Defines `F::INFO.namespace`/`F::INFO.name` as the shim `F`.
    ///
    /// The backend must run the shim through [`run_shim`] when
    /// `F::INFO.catch_panics`, so that a panic anywhere in it (lifting, the
    /// method, lowering) becomes a trap.
    fn define<F>(&mut self, shim: F) -> Result<(), LinkError>
    where
        F: Shim<S, Params = P, Results = R>;
}

/// Implemented by `#[host_functions]` for the state type: defines every
/// exported method with linker `L`.
pub trait HostFunctions<L>: HostApi {
    /// Defines all functions of the block.
    fn define_all(linker: &mut L) -> Result<(), LinkError>;
}

/// The list of functions a `#[host_functions]` block exports.
pub trait HostApi {
    /// Every exported function, in declaration order.
    const FUNCTIONS: &'static [FuncInfo];
    /// Every exported function, described for guests, in declaration order
    /// (see [`Interface`](crate::describe::Interface)).
    fn describe() -> Vec<crate::describe::Function>;
}

/// Runs a shim, turning a panic anywhere in it into a trap that names the
/// function. Unwinding stops here, never inside the engine: a panic from
/// the payload's own destructor is caught as well (see
/// [`drop_panic_payload`](crate::__private::drop_panic_payload)).
///
/// The error type is the backend's choice (a [`Trap`], or the engine's own
/// error built from one): a backend that converts inside `shim` passes
/// only the engine's (small) result out of the unwinding boundary.
#[inline(always)]
pub fn run_shim<R, E: From<Trap>>(
    info: &'static FuncInfo,
    shim: impl FnOnce() -> Result<R, E>,
) -> Result<R, E> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(shim)) {
        Ok(result) => result,
        Err(payload) => Err(panicked(info, payload)),
    }
}

/// The trap of a shim that panicked, kept cold and out of line so the
/// caught call's happy path stays small (measured: 4-5 instructions per
/// call less on `sum_64B`/`str_64B`, BENCHMARKS "Results, stop 17").
#[cold]
#[inline(never)]
fn panicked<E: From<Trap>>(info: &'static FuncInfo, payload: Box<dyn std::any::Any + Send>) -> E {
    E::from(Trap::panic(info.qualified, payload))
}

/// What an infallible shim's backend does if the shim failed after all: a
/// user `Lift` or `ReturnValue` impl declared `FALLIBLE = false` but
/// returned an error. Panics (the engine carries the panic to the
/// embedder), since the function was defined without a trap path.
#[cold]
#[inline(never)]
pub fn infallible_shim_failed(info: &'static FuncInfo, trap: Trap) -> ! {
    panic!(
        "{}: a parameter or result type declared `FALLIBLE = false` but failed: {trap}",
        info.qualified
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    static INFO: FuncInfo = FuncInfo {
        namespace: "env",
        name: "boom",
        qualified: "env::boom",
        asynchronous: false,
        memory: false,
        catch_panics: true,
    };

    /// A panic payload whose destructor panics as well.
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("and its payload's destructor panicked too");
        }
    }

    #[test]
    fn run_shim_stops_a_second_panic_from_the_payload_destructor() {
        let result = run_shim::<(), Trap>(&INFO, || std::panic::panic_any(Bomb));
        let trap = result.unwrap_err();
        assert_eq!(
            trap.to_string(),
            "env::boom: host function panicked: non-string panic payload"
        );
    }
}
