//! The code the pass injects, as bytes appended to a function body.
//!
//! A *charge* takes a region's cost off the budget global:
//!
//! ```wat
//! global.get $budget
//! i64.const  <cost>
//! i64.sub
//! global.set $budget
//! ```
//!
//! A *check* charges, then calls the yield import when the budget is spent, passing
//! what is left (zero or less) and storing the budget it returns:
//!
//! ```wat
//! ;; charge as above, then
//! global.get $budget
//! i64.const  0
//! i64.le_s
//! if
//!   global.get $budget
//!   call $yield          ;; (param i64) (result i64)
//!   global.set $budget
//! end
//! ```
//!
//! Both leave the operand stack as they found it and branch nowhere outside
//! themselves, so they may stand anywhere an instruction may, including right after
//! `loop` with the loop's parameters on the stack and in unreachable code. The fast
//! path is seven instructions; the engines keep the second `global.get` in a register.

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

/// Appends a charge of `cost` to `code`.
pub(super) fn charge(code: &mut Vec<u8>, targets: Targets, cost: Cost) -> Option<Placeholder> {
    Instruction::GlobalGet(targets.budget).encode(code);
    let placeholder = match cost {
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
    };
    Instruction::I64Sub.encode(code);
    Instruction::GlobalSet(targets.budget).encode(code);
    placeholder
}

/// Appends a check of `cost` to `code`.
pub(super) fn check(code: &mut Vec<u8>, targets: Targets, cost: Cost) -> Option<Placeholder> {
    let placeholder = charge(code, targets, cost);
    for instruction in [
        Instruction::GlobalGet(targets.budget),
        Instruction::I64Const(0),
        Instruction::I64LeS,
        Instruction::If(BlockType::Empty),
        Instruction::GlobalGet(targets.budget),
        Instruction::Call(targets.yield_func),
        Instruction::GlobalSet(targets.budget),
        Instruction::End,
    ] {
        instruction.encode(code);
    }
    placeholder
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

    #[test]
    fn a_check_is_a_charge_then_a_conditional_yield() {
        let targets = Targets {
            budget: 3,
            yield_func: 1,
        };
        let mut code = Vec::new();
        check(&mut code, targets, Cost::Known(5));
        let mut ops = wasmparser::OperatorsReader::new(wasmparser::BinaryReader::new(&code, 0));
        let mut text = Vec::new();
        while !ops.eof() {
            text.push(format!("{:?}", ops.read().unwrap()));
        }
        assert_eq!(
            text,
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
                "Call { function_index: 1 }",
                "GlobalSet { global_index: 3 }",
                "End",
            ]
        );
    }
}
