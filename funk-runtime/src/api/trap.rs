//! `lunatic::trap`: catching a trap in guest code (the guest crate's
//! `catch_panic`).

use funk::{GuestCallError, GuestCx, Trap};

use super::view;

view! {
    /// The `lunatic::trap` block.
    TrapApi
}

/// The export the guest crate defines as the way back in.
const CATCH_EXPORT: &str = "_lunatic_catch_trap";

#[funk::host_functions(namespace = "lunatic::trap")]
impl TrapApi {
    /// Calls the guest's `_lunatic_catch_trap(function, argument)` and
    /// returns its result, or 0 if it trapped. The process survives the
    /// trap: wasm has no unwinding, so this is how a guest catches a panic.
    async fn catch(cx: &mut GuestCx<'_, Self>, function: u32, argument: u32) -> Result<u32, Trap> {
        match cx
            .call::<(u32, u32), (u32,)>(CATCH_EXPORT, (function, argument))
            .await
        {
            Ok((result,)) => Ok(result),
            Err(GuestCallError::Trapped(_)) => Ok(0),
            Err(other) => Err(Trap::from_error(other)),
        }
    }
}
