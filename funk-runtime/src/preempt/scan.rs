//! The first read of a module: validate its sections and learn the few facts the
//! rewrite needs.
//!
//! Validation is not optional. Besides keeping the rewrite on well-formed input, it is
//! what keeps a guest away from the counter: the budget global and the yield type take
//! the first free indices, so an invalid module that names `global.get <first free>`
//! would, unvalidated, come out valid and able to reset its own budget.
//!
//! This pass validates everything but the function bodies, which it hands over as
//! [`FuncToValidate`]s: the rewrite validates each body operator by operator as it
//! reads it, so the code is read once. The proposals accepted are those in which only
//! `loop` makes a backward edge; stack switching (whose `resume` re-enters a function
//! in the middle) is left out, so such modules are refused with the validator's
//! message.

use wasmparser::{
    Encoding, FuncToValidate, Parser, Payload, TypeRef, ValidPayload, Validator,
    ValidatorResources, WasmFeatures,
};

use super::{InstrumentError, Options};

/// The proposals a module may use: wasmparser's defaults (everything standardised,
/// including GC, exceptions, tail calls, threads, memory64, SIMD) plus legacy
/// exceptions and custom page sizes.
pub(super) fn supported_features() -> WasmFeatures {
    WasmFeatures::default() | WasmFeatures::LEGACY_EXCEPTIONS | WasmFeatures::CUSTOM_PAGE_SIZES
}

/// What the rewrite needs to know about the module before it emits anything.
#[derive(Debug, Default)]
pub(super) struct Facts {
    /// Types defined: the index the yield function's type gets.
    pub types: u32,
    /// Functions imported: the index the yield import gets; defined functions move up one.
    pub func_imports: u32,
    /// Globals, imported and defined: the index the budget global gets.
    pub globals: u32,
    /// Functions defined: with the imports and the yield import, the index the slow
    /// path gets.
    pub functions: u32,
}

/// The function bodies' validators, in code section order.
pub(super) type Bodies = Vec<FuncToValidate<ValidatorResources>>;

/// Validates `wasm` but for its function bodies and collects its [`Facts`]; refuses it
/// if the names the pass would add are taken.
pub(super) fn scan(wasm: &[u8], options: &Options) -> Result<(Facts, Bodies), InstrumentError> {
    let mut validator = Validator::new_with_features(supported_features());
    let mut facts = Facts::default();
    let mut bodies = Bodies::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::Version {
                encoding: Encoding::Component,
                range,
                ..
            } => {
                return Err(InstrumentError::Invalid {
                    message: "this is a component; instrument its core modules instead".into(),
                    offset: range.start,
                });
            }
            Payload::TypeSection(types) => {
                for group in types.clone() {
                    let count = u32::try_from(group?.types().len()).unwrap_or(u32::MAX);
                    facts.types = facts.types.saturating_add(count);
                }
            }
            Payload::ImportSection(imports) => {
                for import in imports.clone().into_imports() {
                    let import = import?;
                    if import.module == options.import_module && import.name == options.import_name
                    {
                        return Err(InstrumentError::ImportTaken {
                            module: import.module.to_owned(),
                            name: import.name.to_owned(),
                        });
                    }
                    match import.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => facts.func_imports += 1,
                        TypeRef::Global(_) => facts.globals += 1,
                        TypeRef::Table(_) | TypeRef::Memory(_) | TypeRef::Tag(_) => {}
                    }
                }
            }
            Payload::GlobalSection(globals) => facts.globals += globals.count(),
            Payload::FunctionSection(functions) => facts.functions = functions.count(),
            Payload::ExportSection(exports) => {
                for export in exports.clone() {
                    let export = export?;
                    if options.budget_export.as_deref() == Some(export.name) {
                        return Err(InstrumentError::ExportTaken(export.name.to_owned()));
                    }
                }
            }
            _ => {}
        }
        if let ValidPayload::Func(func, _) = validator.payload(&payload)? {
            bodies.push(func);
        }
    }
    Ok((facts, bodies))
}
