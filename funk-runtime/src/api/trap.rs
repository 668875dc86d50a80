//! `lunatic::trap`: catching a trap in guest code (the guest crate's
//! `catch_panic`).

use funk::{GuestCallError, GuestCx, Trap};

use super::process::KilledItself;
use super::view;
use crate::outcome::Exit;

view! {
    /// The `lunatic::trap` block.
    TrapApi
}

/// The export the guest crate defines as the way back in.
const CATCH_EXPORT: &str = "_lunatic_catch_trap";

/// Most `catch` calls running one inside the other (the guest crate nests
/// one, around `AbstractProcess::init`). Each level keeps host frames and
/// the host function's future on the stack the guest runs on: on Wasmer a
/// guest thread's 512 KiB, of which a level takes ~22 KiB in a debug build.
/// Unbounded nesting would overflow it and abort the whole runtime instead
/// of trapping one process.
const MAX_CATCH_DEPTH: u32 = 8;

#[funk::host_functions(namespace = "lunatic::trap")]
impl TrapApi {
    /// Calls the guest's `_lunatic_catch_trap(function, argument)` and
    /// returns its result, or 0 if it trapped. The process survives the
    /// trap: wasm has no unwinding, so this is how a guest catches a panic.
    /// Exiting (`proc_exit`) and killing itself are not caught: they end
    /// the process as they would outside `catch`. Traps when
    /// [`MAX_CATCH_DEPTH`] calls are running already (which the enclosing
    /// `catch` then catches).
    async fn catch(cx: &mut GuestCx<'_, Self>, function: u32, argument: u32) -> Result<u32, Trap> {
        let depth = &mut cx.state().0.catch_depth;
        if *depth >= MAX_CATCH_DEPTH {
            return Err(Trap::new(format!(
                "catch calls nest more than {MAX_CATCH_DEPTH} deep"
            )));
        }
        *depth += 1;
        let called = cx
            .call::<(u32, u32), (u32,)>(CATCH_EXPORT, (function, argument))
            .await;
        cx.state().0.catch_depth -= 1;
        match called {
            Ok((result,)) => Ok(result),
            Err(GuestCallError::Trapped(error)) => match uncatchable(&*error) {
                Some(end) => Err(end),
                None => Ok(0),
            },
            Err(other) => Err(Trap::from_error(other)),
        }
    }
}

/// A trap that ends the process even inside `catch`: the guest exited
/// (`proc_exit`) or killed itself. `None` for a trap `catch` recovers from.
fn uncatchable(error: &(dyn std::error::Error + 'static)) -> Option<Trap> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(&Exit(code)) = error.downcast_ref::<Exit>() {
            return Some(Trap::from_error(Exit(code)));
        }
        if error.is::<KilledItself>() {
            return Some(Trap::from_error(KilledItself).in_function("lunatic::process::kill"));
        }
        if let Some(no_stack) = no_stack(error) {
            return Some(Trap::from_error(no_stack).in_function("lunatic::trap::catch"));
        }
        next = error.source();
    }
    None
}

/// The call inside `catch` could not start: the pooling allocator has no
/// fiber stack left. Not the guest's panic, so not caught: the process
/// fails (and every enclosing `catch` lets it through).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot call into the guest: {0}")]
struct NoStack(String);

fn no_stack(error: &(dyn std::error::Error + 'static)) -> Option<NoStack> {
    if let Some(found) = error.downcast_ref::<NoStack>() {
        return Some(found.clone());
    }
    #[cfg(feature = "wasmtime")]
    if let Some(exhausted) = error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        return Some(NoStack(exhausted.to_string()));
    }
    None
}
