//! Rewriting one function body: charges and checks in, function indices moved.
//!
//! The body is read once, each operator validated as it is read. Operators are copied as raw bytes except the few that name a
//! defined function (`call`, `return_call`, `ref.func`), which are re-encoded with the
//! index one higher (the yield import now precedes the defined functions). A loop's
//! region cost is known only at its `end`, so its check reserves a fixed-width
//! immediate that is written once the body is read: any region costs at most one
//! reduction per body byte, so the body's length bounds the width. The entry's charge
//! or check goes in front once the whole body's cost is known.

use wasm_encoder::{Encode, Instruction};
use wasmparser::{BinaryReaderError, FuncValidator, FunctionBody, Operator, ValidatorResources};

use super::cost::Regions;
use super::inject::{self, Cost, Placeholder, Targets};

/// How the body of a defined function changes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rewrite {
    /// What injected code refers to.
    pub targets: Targets,
    /// Function indices from here up move one up.
    pub first_defined: u32,
}

impl Rewrite {
    /// The rewritten body, locals declaration included, without its size prefix;
    /// `validator` validates the original body on the way.
    pub(super) fn body(
        &self,
        body: &FunctionBody<'_>,
        validator: &mut FuncValidator<ValidatorResources>,
    ) -> Result<Vec<u8>, BinaryReaderError> {
        let bytes = body.as_bytes();
        let start = body.range().start;
        let offset = |position: u64| (position - start) as usize;

        validator.read_locals(&mut body.get_binary_reader())?;
        let mut ops = body.get_operators_reader()?;
        let locals_end = offset(ops.original_position());
        let width = inject::width_for(bytes.len() as u64);
        let mut regions = Regions::new();
        let mut loops: Vec<(Placeholder, usize)> = Vec::new();
        let mut code = Vec::with_capacity(bytes.len() + bytes.len() / 4);
        let mut copied = locals_end;

        while !ops.eof() {
            let position = ops.original_position();
            let at = offset(position);
            let op = ops.read()?;
            validator.op(position, &op)?;
            let next = offset(ops.original_position());
            let moved = match op {
                Operator::Call { function_index } if function_index >= self.first_defined => {
                    Some(Instruction::Call(function_index + 1))
                }
                Operator::ReturnCall { function_index } if function_index >= self.first_defined => {
                    Some(Instruction::ReturnCall(function_index + 1))
                }
                Operator::RefFunc { function_index } if function_index >= self.first_defined => {
                    Some(Instruction::RefFunc(function_index + 1))
                }
                _ => None,
            };
            if let Some(region) = regions.step(&op) {
                code.extend_from_slice(&bytes[copied..next]);
                copied = next;
                let placeholder = inject::check(&mut code, self.targets, Cost::Later { width });
                loops.extend(placeholder.map(|p| (p, region)));
            } else if let Some(instruction) = moved {
                code.extend_from_slice(&bytes[copied..at]);
                copied = next;
                instruction.encode(&mut code);
            }
        }
        ops.finish()?;
        code.extend_from_slice(&bytes[copied..]);
        for (placeholder, region) in loops {
            inject::patch(&mut code, placeholder, regions.cost(region));
        }

        let mut out = Vec::with_capacity(code.len() + 32);
        out.extend_from_slice(&bytes[..locals_end]);
        let entry = Cost::Known(regions.entry_cost());
        if regions.entry_needs_check() {
            inject::check(&mut out, self.targets, entry);
        } else {
            inject::charge(&mut out, self.targets, entry);
        }
        out.extend_from_slice(&code);
        Ok(out)
    }
}
