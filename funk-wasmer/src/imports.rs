//! Checking a Wasmer module's imports against host functions before
//! instantiation (see [`funk_core::imports`]).

use funk_core::__private::{HostApi, WasmType};
use funk_core::describe::Interface;
use funk_core::imports::{GuestType, Import, ImportErrors, ImportKind};
use wasmer::{ExternType, Module, Type};

fn guest_type(ty: &Type) -> GuestType {
    match ty {
        Type::I32 => GuestType::Number(WasmType::I32),
        Type::I64 => GuestType::Number(WasmType::I64),
        Type::F32 => GuestType::Number(WasmType::F32),
        Type::F64 => GuestType::Number(WasmType::F64),
        other => GuestType::Other(other.to_string()),
    }
}

/// The imports of `module`, as [`funk_core::imports::check`] reads them.
pub fn module_imports(module: &Module) -> Vec<Import> {
    module
        .imports()
        .map(|import| Import {
            module: import.module().to_owned(),
            name: import.name().to_owned(),
            kind: match import.ty() {
                ExternType::Function(ty) => ImportKind::Function {
                    params: ty.params().iter().map(guest_type).collect(),
                    results: ty.results().iter().map(guest_type).collect(),
                },
                ExternType::Memory(_) => ImportKind::Other("memory"),
                ExternType::Table(_) => ImportKind::Other("table"),
                ExternType::Global(_) => ImportKind::Other("global"),
                ExternType::Tag(_) => ImportKind::Other("tag"),
            },
        })
        .collect()
}

/// Checks that every import of `module` from a namespace of `S`'s
/// `#[host_functions]` block names one of its functions with the right wasm
/// signature, and says what is wrong in host terms otherwise: call it
/// before instantiating a guest you did not build yourself. For several
/// blocks, use [`check_interface`] with
/// [`Interface::with`](funk_core::describe::Interface::with).
pub fn check_imports<S: HostApi>(module: &Module) -> Result<(), ImportErrors> {
    check_interface(&Interface::of::<S>(), module)
}

/// [`check_imports`] against any interface.
pub fn check_interface(interface: &Interface, module: &Module) -> Result<(), ImportErrors> {
    funk_core::imports::check(interface, module_imports(module))
}
