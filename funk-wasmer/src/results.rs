//! Flat result lists as the values a Wasmer host closure returns.

use funk_core::__private::{AbiList, WasmPrim};
use wasmer::{FromToNativeWasmType, WasmTypeList};

/// A flat result list that Wasmer can return from a typed host function:
/// none, one value, or two (multi-value).
#[diagnostic::on_unimplemented(
    message = "a host function returns wasm results `{Self}`, but funk supports at most two",
    note = "return fewer direct values: put the rest in a tuple's later elements or a `Result`'s `Ok` value, which are written through out-pointers"
)]
pub trait NativeResults: AbiList {
    /// The closure's return type.
    type Native: WasmTypeList;
    /// Converts the list.
    fn into_native(self) -> Self::Native;
}

impl NativeResults for () {
    type Native = ();
    #[inline(always)]
    fn into_native(self) {}
}

impl<A: WasmPrim + FromToNativeWasmType> NativeResults for (A, ()) {
    type Native = A;
    #[inline(always)]
    fn into_native(self) -> A {
        self.0
    }
}

impl<A, B> NativeResults for (A, (B, ()))
where
    A: WasmPrim + FromToNativeWasmType,
    B: WasmPrim + FromToNativeWasmType,
{
    type Native = (A, B);
    #[inline(always)]
    fn into_native(self) -> (A, B) {
        (self.0, self.1.0)
    }
}
