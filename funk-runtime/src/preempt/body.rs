//! Rewriting one function body: charges and checks in, function indices moved.
//!
//! Operators are copied as raw bytes except the few that name a defined function
//! (`call`, `return_call`, `ref.func`), which are re-encoded with the index one higher
//! (the yield import now precedes the defined functions). A loop's region cost is
//! known only at its `end`, so its check reserves a fixed-width immediate that is
//! written once the body is read: any region costs at most one reduction per body
//! byte, so the body's length bounds the width. The entry's charge or check goes in
//! front once the whole body's cost is known.
//!
//! A body is emitted with the budget in the global until its first `loop`; there the
//! emission starts over with the budget in a local of its own (see
//! [`inject`](super::inject)), unless the body handles exceptions (`try`,
//! `try_table`): a handler can be entered from a callee's `throw` without passing the
//! reload after the call, so such bodies keep the global throughout. Each operator is
//! validated once, the first time it is read.

use wasm_encoder::{Encode, Instruction};
use wasmparser::{BinaryReaderError, FuncValidator, FunctionBody, Operator, ValidatorResources};

use super::cost::Regions;
use super::inject::{self, Cost, Placeholder, Source, Targets};

/// The most locals (parameters included) a function may have: wasmparser's limit,
/// which the engines share. A body already at it keeps its budget in the global.
const MAX_LOCALS: u32 = 50_000;

/// How the body of a defined function changes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rewrite {
    /// What injected code refers to.
    pub targets: Targets,
    /// Function indices from here up move one up.
    pub first_defined: u32,
}

/// Where an emission keeps the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// In the global; start over with a local at the first `loop` if `may_cache`.
    Global { may_cache: bool },
    /// In this local.
    Local(u32),
}

/// How an emission ended.
enum Emitted {
    Done(Vec<u8>),
    StartOver(Mode),
}

/// The operators already validated: those before this offset.
struct Validated<'v> {
    validator: &'v mut FuncValidator<ValidatorResources>,
    up_to: u64,
}

impl Rewrite {
    /// The rewritten body, locals declaration included, without its size prefix;
    /// `validator` validates the original body on the way.
    pub(super) fn body(
        &self,
        body: &FunctionBody<'_>,
        validator: &mut FuncValidator<ValidatorResources>,
    ) -> Result<Vec<u8>, BinaryReaderError> {
        validator.read_locals(&mut body.get_binary_reader())?;
        let locals = validator.len_locals();
        let mut validated = Validated {
            validator,
            up_to: 0,
        };
        let mut mode = Mode::Global {
            may_cache: locals < MAX_LOCALS,
        };
        loop {
            match self.emit(body, &mut validated, mode, locals)? {
                Emitted::Done(out) => return Ok(out),
                Emitted::StartOver(next) => mode = next,
            }
        }
    }

    fn emit(
        &self,
        body: &FunctionBody<'_>,
        validated: &mut Validated<'_>,
        mode: Mode,
        locals: u32,
    ) -> Result<Emitted, BinaryReaderError> {
        let bytes = body.as_bytes();
        let start = body.range().start;
        let offset = |position: u64| (position - start) as usize;
        let targets = self.targets;

        let mut ops = body.get_operators_reader()?;
        let locals_end = offset(ops.original_position());
        let width = inject::width_for(bytes.len() as u64);
        let mut regions = Regions::new();
        let mut loops: Vec<(Placeholder, usize)> = Vec::new();
        let mut code = Vec::with_capacity(bytes.len() + bytes.len() / 4);
        let mut copied = locals_end;
        let local = match mode {
            Mode::Local(local) => Some(local),
            Mode::Global { .. } => None,
        };
        let mut may_cache = mode == Mode::Global { may_cache: true };

        while !ops.eof() {
            let position = ops.original_position();
            let at = offset(position);
            let op = ops.read()?;
            let next = offset(ops.original_position());
            if position >= validated.up_to {
                validated.validator.op(position, &op)?;
                validated.up_to = ops.original_position();
            }

            match op {
                Operator::Try { .. } | Operator::TryTable { .. } if local.is_some() => {
                    return Ok(Emitted::StartOver(Mode::Global { may_cache: false }));
                }
                Operator::Try { .. } | Operator::TryTable { .. } => may_cache = false,
                Operator::Loop { .. } if may_cache => {
                    return Ok(Emitted::StartOver(Mode::Local(locals)));
                }
                _ => {}
            }

            let moved = self.moved(&op);
            let (store, reload) = match local {
                Some(_) if is_call(&op) => (true, true),
                Some(_) => (leaves_function(&op, regions.depth()), false),
                None => (false, false),
            };
            if store || moved.is_some() {
                code.extend_from_slice(&bytes[copied..at]);
                copied = next;
                if let (true, Some(local)) = (store, local) {
                    inject::store(&mut code, targets, local);
                }
                match moved {
                    Some(instruction) => instruction.encode(&mut code),
                    None => code.extend_from_slice(&bytes[at..next]),
                }
                if let (true, Some(local)) = (reload, local) {
                    inject::reload(&mut code, targets, local);
                }
            }

            if let Some(region) = regions.step(&op) {
                code.extend_from_slice(&bytes[copied..next]);
                copied = next;
                let cost = Cost::Later { width };
                let placeholder = match local {
                    Some(local) => {
                        inject::local_check(&mut code, targets, local, Source::Local, cost)
                    }
                    None => inject::check(&mut code, targets, cost),
                };
                loops.extend(placeholder.map(|p| (p, region)));
            }
        }
        ops.finish()?;
        code.extend_from_slice(&bytes[copied..]);
        for (placeholder, region) in loops {
            inject::patch(&mut code, placeholder, regions.cost(region));
        }

        let mut out = Vec::with_capacity(code.len() + 32);
        match local {
            None => out.extend_from_slice(&bytes[..locals_end]),
            Some(_) => declare_one_more_local(body, &mut out)?,
        }
        let entry = Cost::Known(regions.entry_cost());
        match (local, regions.entry_needs_check()) {
            (None, false) => {
                inject::charge(&mut out, targets, entry);
            }
            (None, true) => {
                inject::check(&mut out, targets, entry);
            }
            (Some(local), false) => inject::load_charge(&mut out, targets, local, entry),
            (Some(local), true) => {
                inject::local_check(&mut out, targets, local, Source::Global, entry);
            }
        }
        out.extend_from_slice(&code);
        Ok(Emitted::Done(out))
    }

    /// `op` re-encoded, if it names a defined function, whose index moves.
    fn moved(&self, op: &Operator<'_>) -> Option<Instruction<'static>> {
        let first = self.first_defined;
        match *op {
            Operator::Call { function_index } if function_index >= first => {
                Some(Instruction::Call(function_index + 1))
            }
            Operator::ReturnCall { function_index } if function_index >= first => {
                Some(Instruction::ReturnCall(function_index + 1))
            }
            Operator::RefFunc { function_index } if function_index >= first => {
                Some(Instruction::RefFunc(function_index + 1))
            }
            _ => None,
        }
    }
}

/// Calls that return here: the callee reads and writes the global.
fn is_call(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. }
    )
}

/// Whether `op`, with `depth` control frames open, may leave the function: return,
/// tail-call, throw, end the body, or branch to the body's label.
fn leaves_function(op: &Operator<'_>, depth: u32) -> bool {
    let outermost = depth.saturating_sub(1);
    match op {
        Operator::Return
        | Operator::ReturnCall { .. }
        | Operator::ReturnCallIndirect { .. }
        | Operator::ReturnCallRef { .. }
        | Operator::Throw { .. }
        | Operator::ThrowRef
        | Operator::Rethrow { .. } => true,
        Operator::End => depth == 1,
        Operator::Br { relative_depth }
        | Operator::BrIf { relative_depth }
        | Operator::BrOnNull { relative_depth }
        | Operator::BrOnNonNull { relative_depth }
        | Operator::BrOnCast { relative_depth, .. }
        | Operator::BrOnCastFail { relative_depth, .. } => *relative_depth == outermost,
        Operator::BrTable { targets } => {
            targets.default() == outermost
                || targets
                    .targets()
                    .any(|target| target.map_or(true, |t| t == outermost))
        }
        _ => false,
    }
}

/// Writes `body`'s locals declaration with one more `i64` at the end: the local that
/// holds the budget, whose index is the number of locals before it.
fn declare_one_more_local(
    body: &FunctionBody<'_>,
    out: &mut Vec<u8>,
) -> Result<(), BinaryReaderError> {
    let bytes = body.as_bytes();
    let start = body.range().start;
    let mut reader = body.get_binary_reader();
    let groups = reader.read_var_u32()?;
    let groups_start = (reader.original_position() - start) as usize;
    let ops_start = (body.get_binary_reader_for_operators()?.original_position() - start) as usize;
    (groups + 1).encode(out);
    out.extend_from_slice(&bytes[groups_start..ops_start]);
    1u32.encode(out);
    wasm_encoder::ValType::I64.encode(out);
    Ok(())
}
