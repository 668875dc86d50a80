//! Flat result lists as the values a Wasmtime host closure returns.

use funk_core::__private::{AbiList, WasmPrim};
use wasmtime::{WasmRet, WasmTy};

/// A flat result list that Wasmtime can return from a typed host function:
/// none, one value, or several (multi-value).
#[diagnostic::on_unimplemented(
    message = "a host function returns wasm results `{Self}`, but funk supports at most two",
    note = "return fewer direct values: put the rest in a tuple's later elements or a `Result`'s `Ok` value, which are written through out-pointers"
)]
pub trait NativeResults: AbiList {
    /// The closure's return type.
    type Native: WasmRet;
    /// Converts the list.
    fn into_native(self) -> Self::Native;
}

impl NativeResults for () {
    type Native = ();
    #[inline(always)]
    fn into_native(self) {}
}

impl<A: WasmPrim + WasmTy> NativeResults for (A, ()) {
    type Native = A;
    #[inline(always)]
    fn into_native(self) -> A {
        self.0
    }
}

impl<A: WasmPrim + WasmTy, B: WasmPrim + WasmTy> NativeResults for (A, (B, ())) {
    type Native = (A, B);
    #[inline(always)]
    fn into_native(self) -> (A, B) {
        (self.0, self.1.0)
    }
}
