//! The engine-neutral core of [funk](https://docs.rs/funk): how host-function
//! parameters and results cross the WebAssembly boundary.
//!
//! - [`Lift`]: a parameter type, built from wasm values and guest memory.
//! - [`ReturnValue`] and [`OutValue`]: results, direct or through out-pointers.
//! - [`GuestMemory`] / [`GuestView`]: bounds-checked, alias-checked access to
//!   guest memory during one call.
//! - [`ResourceTable`] with [`Handle`], [`Borrow`] and [`Take`]: host
//!   resources named by generation-checked handles.
//! - [`Trap`] and [`GuestError`]: every failure names the function, the
//!   argument and the problem.
//!
//! No engine appears here; `funk-wasmtime` and `funk-wasmer` connect these
//! pieces to an engine.

#![warn(missing_docs)]

pub mod abi;
pub mod bindgen;
pub mod call;
pub mod call_async;
pub mod describe;
mod error;
pub mod imports;
pub mod iovec;
mod lift;
mod lift_async;
mod lift_flat;
mod lower;
mod memory;
mod plain;
mod reenter;
mod resources;
mod scratch;
mod wide;

pub use error::{GuestError, LinkError, MemoryUnavailable, Trap, TrapKind};
pub use iovec::GuestIoVec;
pub use lift::Lift;
pub use lift_async::{LiftAsync, WriteBack};
pub use lower::{
    ErrorAbi, Failure, HostError, LowerCx, OutValue, ResultLowering, ReturnValue, Status, Traps,
};
pub use memory::{GuestMemory, GuestView, array_len, region};
pub use plain::Plain;
pub use reenter::{GuestCallError, GuestCallFuture, GuestCx, Reenter};
pub use resources::{Borrow, Handle, HandleError, HasResources, ResourceTable, Take};
pub use wide::Wide;

/// Support for generated code and backends; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::abi::{
        Abi, AbiList, Concat, DynamicList, WasmPrim, WasmType, WasmValue, format_types,
    };
    pub use crate::call::{
        Call, Define, FuncInfo, HostApi, HostFunctions, Shim, ShimInfo, infallible_shim_failed,
        run_shim,
    };
    pub use crate::call_async::{
        AsyncHost, AsyncHostFunctionFuture, AsyncShim, DefineAsync,
        async_host_function_futures_must_be_send, run_async_shim,
    };
    pub use crate::describe;
    pub use crate::error::drop_panic_payload;
    pub use crate::lift_flat::{HoldFlat, LiftFlat};
    pub use crate::{GuestCx, Lift, LiftAsync, LinkError, LowerCx, ReturnValue, Trap};
    pub use bytemuck;
}
