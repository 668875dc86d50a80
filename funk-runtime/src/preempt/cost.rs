//! The cost model: what a check charges, and where checks must be.
//!
//! A function body is cut into *regions*: the body itself, and the body of each `loop`
//! minus the loops nested in it. Every operator belongs to exactly one region, the one
//! of its innermost enclosing `loop` (or the function), and costs one reduction. A
//! region's cost is the number of its operators.
//!
//! The pass charges a region's whole cost when control enters it: at the function's
//! entry and at each loop header (the first instruction inside `loop`, which both
//! falling in and branching back to the loop reach). This is sound because in wasm
//! only a branch to a `loop` label goes backwards: without passing a loop header
//! again, control cannot run an operator of the region twice. So between two charges
//! of a region at most its cost in operators runs, and the counter is an upper bound
//! of the operators executed. It is exact for straight-line code and overcharges the
//! arms of an `if` not taken and the tail of a region left early by a branch.
//!
//! Where the budget is *checked* (and the yield import called) matters for how long a
//! guest can run past its budget. Unbounded work needs a loop or unbounded calls, so
//! the pass checks at every loop header and at the entry of every function that
//! calls. A function that neither loops nor calls runs at most its own cost before
//! returning to a caller that will check: it is charged but not checked.

use wasmparser::Operator;

/// The regions of one function body, counted while its operators go by.
#[derive(Debug)]
pub(super) struct Regions {
    /// The cost of each region: the function body first, then loops in the order their
    /// `loop` operators appear.
    costs: Vec<u64>,
    /// The regions enclosing the current operator, innermost last.
    open: Vec<usize>,
    /// For each open control frame, whether it is a `loop`.
    frames: Vec<bool>,
    /// Whether the body has any call instruction.
    calls: bool,
}

impl Regions {
    /// Regions of a body whose operators have not been seen yet.
    pub(super) fn new() -> Self {
        Regions {
            costs: vec![0],
            open: vec![0],
            frames: vec![false],
            calls: false,
        }
    }

    /// Counts `op` in its region. Returns the new region when `op` is a `loop`: its
    /// header comes right after it.
    pub(super) fn step(&mut self, op: &Operator<'_>) -> Option<usize> {
        let region = self.open.last().copied().unwrap_or(0);
        self.costs[region] += 1;
        match op {
            Operator::Loop { .. } => {
                let region = self.costs.len();
                self.costs.push(0);
                self.open.push(region);
                self.frames.push(true);
                return Some(region);
            }
            Operator::Block { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. } => self.frames.push(false),
            Operator::End | Operator::Delegate { .. } => {
                let closes_loop = self.frames.pop() == Some(true);
                if closes_loop {
                    self.open.pop();
                }
            }
            Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. } => self.calls = true,
            _ => {}
        }
        None
    }

    /// How many control frames are open, the function's own included: a branch of
    /// relative depth `depth() - 1` leaves the function.
    pub(super) fn depth(&self) -> u32 {
        self.frames.len() as u32
    }

    /// The cost of `region`, complete once the body's last operator went by.
    pub(super) fn cost(&self, region: usize) -> u64 {
        self.costs[region]
    }

    /// The cost of the function body's own region, charged at entry.
    pub(super) fn entry_cost(&self) -> u64 {
        self.costs[0]
    }

    /// Whether the function's entry needs a check: it calls, so it may recurse.
    pub(super) fn entry_needs_check(&self) -> bool {
        self.calls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions(wat: &str) -> Regions {
        let wasm = wat::parse_str(wat).unwrap();
        let mut regions = Regions::new();
        for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                let mut ops = body.get_operators_reader().unwrap();
                while !ops.eof() {
                    regions.step(&ops.read().unwrap());
                }
            }
        }
        regions
    }

    #[test]
    fn straight_line_body_is_one_region_charged_exactly() {
        // i32.const, i32.const, i32.add, end
        let r = regions("(module (func (result i32) i32.const 1 i32.const 2 i32.add))");
        assert_eq!(r.costs, vec![4]);
        assert!(!r.entry_needs_check());
    }

    #[test]
    fn loop_body_is_its_own_region_and_the_loop_opcode_belongs_outside() {
        // function: nop, loop, nop, end(func) = 4; loop: br 0? no: nop, nop, end = 3
        let r = regions("(module (func nop (loop nop nop) nop))");
        assert_eq!(r.costs, vec![4, 3]);
    }

    #[test]
    fn nested_loops_count_separately_and_code_after_an_inner_loop_counts_outer() {
        let r = regions(
            "(module (func
                (loop $outer        ;; function region: loop, end = 2
                  nop               ;; outer: nop, loop, nop, br, end = 5
                  (loop $inner nop nop) ;; inner: nop, nop, end = 3
                  nop
                  br $outer)))",
        );
        assert_eq!(r.costs, vec![2, 5, 3]);
    }

    #[test]
    fn blocks_and_ifs_stay_in_the_enclosing_region() {
        let r = regions(
            "(module (func (param i32)
                (block (if (local.get 0) (then nop) (else nop nop)))))",
        );
        // block, local.get, if, nop, else, nop, nop, end(if), end(block), end(func)
        assert_eq!(r.costs, vec![10]);
    }

    #[test]
    fn any_call_makes_the_entry_a_check() {
        for body in [
            "call 0",
            "(call_indirect (i32.const 0))",
            "return_call 0",
            "(return_call_indirect (i32.const 0))",
        ] {
            let r = regions(&format!("(module (table 1 funcref) (func {body}))"));
            assert!(r.entry_needs_check(), "{body}");
        }
    }

    #[test]
    fn legacy_delegate_closes_its_try_frame() {
        let r = regions(
            "(module (func
                loop
                  try nop delegate 0
                end
                nop))",
        );
        // function: loop, nop, end = 3; loop: try, nop, delegate, end = 4
        assert_eq!(r.costs, vec![3, 4]);
    }
}
