//! Rewriting the module around the bodies: the added type, import, slow-path
//! function, global and export, and every function index that the new import moves.
//!
//! The yield import is appended after the module's own imports, so it takes the index
//! right after the imported functions and every defined function moves up one: calls,
//! `ref.func` (in code and in constant expressions), element segments, exports, the
//! start function and the name section follow through [`Reencode::function_index`].
//! The type, the slow path and the budget global are appended last in their index
//! spaces, so nothing else moves. Sections the module lacks are created in their
//! place in the section order.
//!
//! Custom sections are kept, except those that describe code by byte offset and would
//! be wrong after the rewrite: DWARF (`.debug_*`) and code metadata such as branch
//! hints (`metadata.code.*`). A name section that does not parse is dropped rather
//! than failing the module: names are advisory.

use wasm_encoder::reencode::{self, Reencode, utils};
use wasm_encoder::{
    CodeSection, ConstExpr, EntityType, ExportKind, ExportSection, FunctionSection, GlobalSection,
    GlobalType, ImportSection, Module, NameMap, NameSection, SectionId, TypeSection, ValType,
};
use wasmparser::{CustomSectionReader, FuncValidatorAllocations, FunctionBody, KnownCustom, Name};

use super::body::Rewrite;
use super::inject::{self, Targets};
use super::scan::{Bodies, Facts};
use super::{InstrumentError, Options};

type Result<T> = std::result::Result<T, reencode::Error<InstrumentError>>;

/// The sections the pass adds an entry to, in section order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Added {
    Type,
    Import,
    Function,
    Global,
    Export,
    Code,
}

impl Added {
    const ALL: [Added; 6] = [
        Added::Type,
        Added::Import,
        Added::Function,
        Added::Global,
        Added::Export,
        Added::Code,
    ];

    fn id(self) -> SectionId {
        match self {
            Added::Type => SectionId::Type,
            Added::Import => SectionId::Import,
            Added::Function => SectionId::Function,
            Added::Global => SectionId::Global,
            Added::Export => SectionId::Export,
            Added::Code => SectionId::Code,
        }
    }
}

/// Where a non-custom section goes in a module: the binary format's order, in which
/// the tag section sits between memories and globals, out of its id's order.
fn position(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

/// Whether a custom section describes code by offset and so cannot survive the rewrite.
fn describes_code_offsets(name: &str) -> bool {
    name.starts_with(".debug_") || name.starts_with("metadata.code.")
}

/// The re-encoder that instruments a module in one pass over its sections.
pub(super) struct Instrumenter<'a> {
    options: &'a Options,
    /// The type index of `(func (param i64) (result i64))`.
    yield_type: u32,
    rewrite: Rewrite,
    /// Which of the additions are written already.
    written: [bool; 6],
    /// The validators of the bodies not rewritten yet.
    bodies: std::vec::IntoIter<wasmparser::FuncToValidate<wasmparser::ValidatorResources>>,
    allocations: FuncValidatorAllocations,
}

impl<'a> Instrumenter<'a> {
    pub(super) fn new(options: &'a Options, facts: &Facts, bodies: Bodies) -> Self {
        Instrumenter {
            options,
            yield_type: facts.types,
            rewrite: Rewrite {
                targets: Targets {
                    budget: facts.globals,
                    yield_func: facts.func_imports,
                    slow: facts.func_imports + 1 + facts.functions,
                },
                first_defined: facts.func_imports,
            },
            written: [false; 6],
            bodies: bodies.into_iter(),
            allocations: FuncValidatorAllocations::default(),
        }
    }

    /// Instruments `wasm`, whose sections [`scan`](super::scan::scan) has validated;
    /// the bodies are validated as they are rewritten.
    pub(super) fn run(mut self, wasm: &[u8]) -> Result<Vec<u8>> {
        let mut module = Module::new();
        self.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)?;
        Ok(module.finish())
    }

    fn mark(&mut self, added: Added) {
        self.written[added as usize] = true;
    }

    fn add_type(&mut self, types: &mut TypeSection) {
        types.ty().function([ValType::I64], [ValType::I64]);
        self.mark(Added::Type);
    }

    fn add_import(&mut self, imports: &mut ImportSection) {
        let options = self.options;
        let ty = EntityType::Function(self.yield_type);
        imports.import(&options.import_module, &options.import_name, ty);
        self.mark(Added::Import);
    }

    fn add_function(&mut self, functions: &mut FunctionSection) {
        functions.function(self.yield_type);
        self.mark(Added::Function);
    }

    fn add_code(&mut self, code: &mut CodeSection) {
        code.raw(&inject::slow_path(self.rewrite.targets));
        self.mark(Added::Code);
    }

    fn add_global(&mut self, globals: &mut GlobalSection) {
        let ty = GlobalType {
            val_type: ValType::I64,
            mutable: true,
            shared: false,
        };
        globals.global(ty, &ConstExpr::i64_const(self.options.initial_budget));
        self.mark(Added::Global);
    }

    fn add_export(&mut self, exports: &mut ExportSection) {
        if let Some(name) = &self.options.budget_export {
            exports.export(name, ExportKind::Global, self.rewrite.targets.budget);
        }
        self.mark(Added::Export);
    }

    /// Writes `added` as a section of its own: the module has none of that kind.
    fn add_section(&mut self, module: &mut Module, added: Added) {
        match added {
            Added::Export if self.options.budget_export.is_none() => self.mark(added),
            Added::Function => {
                let mut functions = FunctionSection::new();
                self.add_function(&mut functions);
                module.section(&functions);
            }
            Added::Code => {
                let mut code = CodeSection::new();
                self.add_code(&mut code);
                module.section(&code);
            }
            Added::Type => {
                let mut types = TypeSection::new();
                self.add_type(&mut types);
                module.section(&types);
            }
            Added::Import => {
                let mut imports = ImportSection::new();
                self.add_import(&mut imports);
                module.section(&imports);
            }
            Added::Global => {
                let mut globals = GlobalSection::new();
                self.add_global(&mut globals);
                module.section(&globals);
            }
            Added::Export => {
                let mut exports = ExportSection::new();
                self.add_export(&mut exports);
                module.section(&exports);
            }
        }
    }

    fn yield_name(&self) -> String {
        format!(
            "{}::{}",
            self.options.import_module, self.options.import_name
        )
    }
}

impl Reencode for Instrumenter<'_> {
    type Error = InstrumentError;

    fn function_index(&mut self, func: u32) -> Result<u32> {
        Ok(if func >= self.rewrite.first_defined {
            func + 1
        } else {
            func
        })
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<()> {
        utils::parse_type_section(self, types, section)?;
        self.add_type(types);
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<()> {
        utils::parse_import_section(self, imports, section)?;
        self.add_import(imports);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<()> {
        utils::parse_function_section(self, functions, section)?;
        self.add_function(functions);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<()> {
        utils::parse_code_section(self, code, section)?;
        self.add_code(code);
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<()> {
        utils::parse_global_section(self, globals, section)?;
        self.add_global(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<()> {
        utils::parse_export_section(self, exports, section)?;
        self.add_export(exports);
        Ok(())
    }

    /// Before each section (and at the end), writes the additions whose place has come
    /// and that no section of the module took.
    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<()> {
        for added in Added::ALL {
            let due = before.is_none_or(|next| position(next) > position(added.id()));
            if due && !self.written[added as usize] {
                self.add_section(module, added);
            }
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: FunctionBody<'_>,
    ) -> Result<()> {
        let Some(validator) = self.bodies.next() else {
            let offset = func.range().start;
            let message = "more function bodies than functions".into();
            return Err(reencode::Error::UserError(InstrumentError::Invalid {
                message,
                offset,
            }));
        };
        let mut validator = validator.into_validator(std::mem::take(&mut self.allocations));
        code.raw(&self.rewrite.body(&func, &mut validator)?);
        self.allocations = validator.into_allocations();
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut Module,
        section: CustomSectionReader<'_>,
    ) -> Result<()> {
        match section.as_known() {
            KnownCustom::Name(names) => {
                if let Ok(names) = self.custom_name_section(names) {
                    module.section(&names);
                }
            }
            _ if describes_code_offsets(section.name()) => {}
            _ => {
                module.section(&self.custom_section(section)?);
            }
        }
        Ok(())
    }

    /// Function names move with their functions; the yield import and the slow path
    /// get names too.
    fn parse_custom_name_subsection(
        &mut self,
        names: &mut NameSection,
        section: Name<'_>,
    ) -> Result<()> {
        let Name::Function(map) = section else {
            return utils::parse_custom_name_subsection(self, names, section);
        };
        let yield_func = self.rewrite.targets.yield_func;
        let yield_name = self.yield_name();
        let mut functions = NameMap::new();
        let mut named = false;
        for naming in map {
            let naming = naming?;
            if !named && naming.index >= yield_func {
                functions.append(yield_func, &yield_name);
                named = true;
            }
            functions.append(self.function_index(naming.index)?, naming.name);
        }
        if !named {
            functions.append(yield_func, &yield_name);
        }
        functions.append(
            self.rewrite.targets.slow,
            &format!("{yield_name} slow path"),
        );
        names.functions(&functions);
        Ok(())
    }
}
