//! The code the pass injects, as bytes appended to a function body.
//!
//! The budget lives in a global, which callees, the yield import and the host see.
//! A function without loops works on the global directly. A *charge* takes a region's
//! cost off it:
//!
//! ```wat
//! global.get $budget
//! i64.const  <cost>
//! i64.sub
//! global.set $budget
//! ```
//!
//! A *check* charges, then, when the budget is spent, calls the *slow path*: a
//! function the pass adds, `(func $slow (param i64) (result i64))`, which stores what
//! is left to the global (the host may read it), calls the yield import with it,
//! stores the budget the import returns and returns it too:
//!
//! ```wat
//! ;; charge as above, then
//! global.get $budget
//! i64.const  0
//! i64.le_s
//! if
//!   global.get $budget
//!   call $slow
//!   drop
//! end
//! ```
//!
//! The slow path is a function of the module rather than a call of the import in
//! place: calling an import needs its code pointer and context, which the compilers
//! hoist out of a loop into two callee-saved registers, and that spilled the loop's
//! own variables to the stack.
//!
//! A function with loops keeps the budget in a local of its own instead, so that a
//! loop iteration does not store and reload a global (a dependency through memory
//! from each iteration to the next, which more than doubled the time of tight loops).
//! Its entry loads and charges, its loop headers check the local:
//!
//! ```wat
//! local.get $b           ;; global.get $budget at the entry
//! i64.const  <cost>
//! i64.sub
//! local.tee $b
//! i64.const  0
//! i64.le_s
//! if
//!   local.get $b
//!   call $slow
//!   local.set $b
//! end
//! ```
//!
//! and it *stores* the local to the global (`local.get $b; global.set $budget`) before
//! whatever lets others see the budget (calls, returns, throws, branches out of the
//! function) and *reloads* it (`global.get $budget; local.set $b`) after each call.
//!
//! All these sequences leave the operand stack as they found it and branch nowhere
//! outside themselves, so they may stand anywhere an instruction may, including right
//! after `loop` with the loop's parameters on the stack and in unreachable code.

use wasm_encoder::{BlockType, Encode, Instruction};

/// The opcode of `i64.const`.
const I64_CONST: u8 = 0x42;

/// Where the cost of a region not yet fully seen must be written.
#[derive(Debug, Clone, Copy)]
pub(super) struct Placeholder {
    /// Offset of the padded LEB128 immediate of the `i64.const`.
    at: usize,
    /// Its width in bytes.
    width: usize,
}

/// The injected entities a check refers to.
#[derive(Debug, Clone, Copy)]
pub(super) struct Targets {
    /// The budget global's index.
    pub budget: u32,
    /// The yield import's function index.
    pub yield_func: u32,
    /// The slow path's function index.
    pub slow: u32,
}

/// The cost operand of a charge: known now, or written later.
#[derive(Debug, Clone, Copy)]
pub(super) enum Cost {
    /// Encode this cost directly.
    Known(u64),
    /// Reserve `width` bytes for a cost of at most `7 * width - 1` bits.
    Later {
        /// The width of the reserved immediate.
        width: usize,
    },
}

/// Appends `i64.const <cost>` to `code`, the cost known or reserved.
fn cost_const(code: &mut Vec<u8>, cost: Cost) -> Option<Placeholder> {
    match cost {
        Cost::Known(cost) => {
            Instruction::I64Const(to_i64(cost)).encode(code);
            None
        }
        Cost::Later { width } => {
            code.push(I64_CONST);
            let at = code.len();
            code.resize(at + width, 0);
            let placeholder = Placeholder { at, width };
            write_padded(code, placeholder, 0);
            Some(placeholder)
        }
    }
}

fn emit(code: &mut Vec<u8>, instructions: &[Instruction<'_>]) {
    for instruction in instructions {
        instruction.encode(code);
    }
}

/// Appends a charge of `cost` to the budget global.
pub(super) fn charge(code: &mut Vec<u8>, targets: Targets, cost: Cost) -> Option<Placeholder> {
    emit(code, &[Instruction::GlobalGet(targets.budget)]);
    let placeholder = cost_const(code, cost);
    emit(
        code,
        &[Instruction::I64Sub, Instruction::GlobalSet(targets.budget)],
    );
    placeholder
}

/// Appends a check of `cost` against the budget global.
pub(super) fn check(code: &mut Vec<u8>, targets: Targets, cost: Cost) -> Option<Placeholder> {
    let placeholder = charge(code, targets, cost);
    let budget = targets.budget;
    emit(
        code,
        &[
            Instruction::GlobalGet(budget),
            Instruction::I64Const(0),
            Instruction::I64LeS,
            Instruction::If(BlockType::Empty),
            Instruction::GlobalGet(budget),
            Instruction::Call(targets.slow),
            Instruction::Drop,
            Instruction::End,
        ],
    );
    placeholder
}

/// The body of the slow path, `(func (param $left i64) (result i64))`, locals
/// declaration included.
pub(super) fn slow_path(targets: Targets) -> Vec<u8> {
    let mut code = vec![0]; // no locals besides the parameter
    emit(
        &mut code,
        &[
            Instruction::LocalGet(0),
            Instruction::GlobalSet(targets.budget),
            Instruction::LocalGet(0),
            Instruction::Call(targets.yield_func),
            Instruction::LocalTee(0),
            Instruction::GlobalSet(targets.budget),
            Instruction::LocalGet(0),
            Instruction::End,
        ],
    );
    code
}

/// Where a local-budget charge starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// The function's entry: load the global.
    Global,
    /// A loop header: the local is current.
    Local,
}

/// Appends a charge of `cost` that leaves the budget in `local` (a function's entry).
pub(super) fn load_charge(code: &mut Vec<u8>, targets: Targets, local: u32, cost: Cost) {
    emit(code, &[Instruction::GlobalGet(targets.budget)]);
    cost_const(code, cost);
    emit(code, &[Instruction::I64Sub, Instruction::LocalSet(local)]);
}

/// Appends a check of `cost` against the budget in `local`, loaded from the global
/// first at a function's entry.
pub(super) fn local_check(
    code: &mut Vec<u8>,
    targets: Targets,
    local: u32,
    from: Source,
    cost: Cost,
) -> Option<Placeholder> {
    let budget = targets.budget;
    emit(
        code,
        &[match from {
            Source::Global => Instruction::GlobalGet(budget),
            Source::Local => Instruction::LocalGet(local),
        }],
    );
    let placeholder = cost_const(code, cost);
    emit(
        code,
        &[
            Instruction::I64Sub,
            Instruction::LocalTee(local),
            Instruction::I64Const(0),
            Instruction::I64LeS,
            Instruction::If(BlockType::Empty),
            Instruction::LocalGet(local),
            Instruction::Call(targets.slow),
            Instruction::LocalSet(local),
            Instruction::End,
        ],
    );
    placeholder
}

/// Appends a store of the budget in `local` to the global.
pub(super) fn store(code: &mut Vec<u8>, targets: Targets, local: u32) {
    emit(
        code,
        &[
            Instruction::LocalGet(local),
            Instruction::GlobalSet(targets.budget),
        ],
    );
}

/// Appends a reload of the budget global into `local`.
pub(super) fn reload(code: &mut Vec<u8>, targets: Targets, local: u32) {
    emit(
        code,
        &[
            Instruction::GlobalGet(targets.budget),
            Instruction::LocalSet(local),
        ],
    );
}

/// Writes `cost` into the immediate reserved at `placeholder`.
pub(super) fn patch(code: &mut [u8], placeholder: Placeholder, cost: u64) {
    write_padded(code, placeholder, cost);
}

/// The width of a signed LEB128 immediate that holds any cost up to `max`.
pub(super) fn width_for(max: u64) -> usize {
    let bits = 64 - max.leading_zeros() as usize + 1; // one more for the sign
    bits.div_ceil(7).max(1)
}

fn to_i64(cost: u64) -> i64 {
    i64::try_from(cost).unwrap_or(i64::MAX)
}

/// Signed LEB128 of a non-negative `value` in exactly `placeholder.width` bytes: every
/// byte but the last has the continuation bit; the last has a clear sign bit.
fn write_padded(code: &mut [u8], placeholder: Placeholder, value: u64) {
    let Placeholder { at, width } = placeholder;
    debug_assert!(
        width_for(value) <= width,
        "cost {value} does not fit {width} bytes"
    );
    for (i, byte) in code[at..at + width].iter_mut().enumerate() {
        let bits = (value >> (7 * i)) as u8 & 0x7f;
        *byte = if i + 1 < width { bits | 0x80 } else { bits };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_i64_const(code: &[u8]) -> i64 {
        let mut reader = wasmparser::BinaryReader::new(code, 0);
        assert_eq!(reader.read_u8().unwrap(), I64_CONST);
        reader.read_var_i64().unwrap()
    }

    #[test]
    fn width_fits_the_value_and_its_sign_bit() {
        assert_eq!(width_for(0), 1);
        assert_eq!(width_for(63), 1);
        assert_eq!(width_for(64), 2);
        assert_eq!(width_for(8191), 2);
        assert_eq!(width_for(8192), 3);
        assert_eq!(width_for(i64::MAX as u64), 10);
    }

    #[test]
    fn padded_immediates_decode_to_the_patched_cost() {
        for (max, value) in [
            (0, 0),
            (63, 63),
            (100, 64),
            (7_654_321, 7_654_321),
            (1 << 40, 3),
        ] {
            let width = width_for(max);
            let mut code = vec![I64_CONST; 1 + width];
            patch(&mut code, Placeholder { at: 1, width }, value);
            assert_eq!(
                read_i64_const(&code),
                value as i64,
                "{value} in {width} bytes"
            );
        }
    }

    fn operators(code: &[u8]) -> Vec<String> {
        let mut ops = wasmparser::OperatorsReader::new(wasmparser::BinaryReader::new(code, 0));
        let mut text = Vec::new();
        while !ops.eof() {
            text.push(format!("{:?}", ops.read().unwrap()));
        }
        text
    }

    #[test]
    fn a_local_check_calls_the_slow_path_with_the_local() {
        let targets = Targets {
            budget: 3,
            yield_func: 1,
            slow: 9,
        };
        let mut code = Vec::new();
        local_check(&mut code, targets, 7, Source::Local, Cost::Known(5));
        assert_eq!(
            operators(&code),
            [
                "LocalGet { local_index: 7 }",
                "I64Const { value: 5 }",
                "I64Sub",
                "LocalTee { local_index: 7 }",
                "I64Const { value: 0 }",
                "I64LeS",
                "If { blockty: Empty }",
                "LocalGet { local_index: 7 }",
                "Call { function_index: 9 }",
                "LocalSet { local_index: 7 }",
                "End",
            ]
        );
        let mut code = Vec::new();
        local_check(&mut code, targets, 7, Source::Global, Cost::Known(5));
        assert_eq!(operators(&code)[0], "GlobalGet { global_index: 3 }");
    }

    #[test]
    fn a_check_is_a_charge_then_a_conditional_yield() {
        let targets = Targets {
            budget: 3,
            yield_func: 1,
            slow: 9,
        };
        let mut code = Vec::new();
        check(&mut code, targets, Cost::Known(5));
        assert_eq!(
            operators(&code),
            [
                "GlobalGet { global_index: 3 }",
                "I64Const { value: 5 }",
                "I64Sub",
                "GlobalSet { global_index: 3 }",
                "GlobalGet { global_index: 3 }",
                "I64Const { value: 0 }",
                "I64LeS",
                "If { blockty: Empty }",
                "GlobalGet { global_index: 3 }",
                "Call { function_index: 9 }",
                "Drop",
                "End",
            ]
        );
    }

    #[test]
    fn the_slow_path_keeps_the_global_current_around_the_yield() {
        let targets = Targets {
            budget: 3,
            yield_func: 1,
            slow: 9,
        };
        let body = slow_path(targets);
        assert_eq!(body[0], 0, "no locals");
        assert_eq!(
            operators(&body[1..]),
            [
                "LocalGet { local_index: 0 }",
                "GlobalSet { global_index: 3 }",
                "LocalGet { local_index: 0 }",
                "Call { function_index: 1 }",
                "LocalTee { local_index: 0 }",
                "GlobalSet { global_index: 3 }",
                "LocalGet { local_index: 0 }",
                "End",
            ]
        );
    }
}
