//! The preemption pass on hand-written modules: one test per unusual module class,
//! each run original against instrumented on Wasmtime and on Wasmer (where the
//! engine runs the proposal), plus the yield protocol, refusals and metadata.

mod preempt_support;

use std::sync::OnceLock;

use funk_runtime::preempt::{self, InstrumentError, Meter, Options};
use preempt_support::observe::{Arg, Plan};
use preempt_support::{wasmer_run, wasmtime_run};

fn wasmtime_engine() -> &'static wasmtime::Engine {
    static ENGINE: OnceLock<wasmtime::Engine> = OnceLock::new();
    ENGINE.get_or_init(wasmtime_run::engine)
}

fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).unwrap_or_else(|e| panic!("bad test module: {e}"))
}

/// Original and instrumented agree on Wasmtime; returns the instrumented run's yields.
fn same_on_wasmtime(wasm: &[u8], plan: &Plan, link: wasmtime_run::Link<'_>) -> u64 {
    let (compared, yields) = wasmtime_run::differential(wasmtime_engine(), wasm, plan, link)
        .unwrap_or_else(|e| panic!("wasmtime: {e}"));
    assert!(!compared.inconclusive, "wasmtime run was inconclusive");
    assert!(compared.lines > 0);
    yields
}

/// Original and instrumented agree on Wasmer; returns the instrumented run's yields.
fn same_on_wasmer(wasm: &[u8], plan: &Plan, link: wasmer_run::Link<'_>) -> u64 {
    let engine = wasmer::Engine::default();
    let (compared, yields) = wasmer_run::differential(&engine, wasm, plan, link)
        .unwrap_or_else(|e| panic!("wasmer: {e}"));
    assert!(!compared.inconclusive, "wasmer run was inconclusive");
    assert!(compared.lines > 0);
    yields
}

/// Original and instrumented agree on both engines, with no imports besides yield.
fn same_on_both(wat: &str, plan: &Plan) -> u64 {
    let wasm = wasm(wat);
    let a = same_on_wasmtime(&wasm, plan, &wasmtime_run::no_imports);
    let b = same_on_wasmer(&wasm, plan, &wasmer_run::no_imports);
    assert_eq!(a, b, "the engines yielded a different number of times");
    a
}

fn i32s(args: &[i32]) -> Vec<Arg> {
    args.iter().map(|&v| Arg::I32(v)).collect()
}

// ---------------------------------------------------------------------------
// Module classes, original against instrumented
// ---------------------------------------------------------------------------

const SUM_LOOP: &str = r#"
(module
  (func (export "sum") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $acc)))
"#;

#[test]
fn loop_without_memory_or_globals_preserves_results() {
    let calls = [i32s(&[0]), i32s(&[1]), i32s(&[1000]), i32s(&[100_000])];
    let calls: Vec<(&str, &[Arg])> = calls.iter().map(|a| ("sum", a.as_slice())).collect();
    let yields = same_on_both(SUM_LOOP, &Plan::calls(10, &calls));
    assert!(
        yields > 1000,
        "a budget of 10 makes the long loop yield often: {yields}"
    );
}

#[test]
fn traps_are_the_same_in_loops_and_calls() {
    let wat = r#"
    (module
      (memory 1)
      (table 2 funcref)
      (elem (i32.const 0) $id)
      (type $unary (func (param i32) (result i32)))
      (func $id (param i32) (result i32) (local.get 0))
      (func (export "div") (param $n i32) (result i32)
        (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (i32.div_u (i32.const 1) (local.get $n)))
      (func (export "oob") (param $n i32) (result i32)
        (loop $l
          (i32.store (i32.mul (local.get $n) (i32.const 4096)) (local.get $n))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br $l))
        (i32.const 0))
      (func (export "null_call") (param i32) (result i32)
        (call_indirect (type $unary) (local.get 0) (i32.const 1)))
      (func (export "bad_sig") (param i32) (result i32)
        (call_indirect (type $unary) (local.get 0) (i32.const 0))
        (drop)
        (call_indirect (param i32) (local.get 0) (i32.const 0))
        (i32.const 0))
      (func (export "unreachable") (param i32) (result i32)
        (loop $l (br_if $l (i32.eqz (local.get 0))))
        unreachable)
      (func (export "overflow") (param i32) (result i32)
        (i32.trunc_f64_s (f64.const 1e100))))
    "#;
    let one = i32s(&[1]);
    let calls: Vec<(&str, &[Arg])> = [
        "div",
        "oob",
        "null_call",
        "bad_sig",
        "unreachable",
        "overflow",
    ]
    .into_iter()
    .map(|name| (name, one.as_slice()))
    .collect();
    same_on_both(wat, &Plan::calls(5, &calls));
}

#[test]
fn imported_functions_globals_and_memory_preserve_results() {
    let wasm = wasm(
        r#"
    (module
      (import "env" "f" (func $f (result i32)))
      (import "env" "g" (global $g (mut i32)))
      (import "env" "mem" (memory 1))
      (import "env" "h" (func $h (param i32) (result i32)))
      (global $mine (mut i64) (i64.const 5))
      (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
      (func (export "run") (param $n i32) (result i32)
        (local $acc i32)
        (loop $l
          (local.set $acc (i32.add (local.get $acc) (call $double (call $f))))
          (i32.store (i32.const 16) (local.get $acc))
          (global.set $g (i32.add (global.get $g) (i32.const 1)))
          (global.set $mine (i64.add (global.get $mine) (i64.const 3)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (i32.add (local.get $acc) (call $h (global.get $g))))
      (export "g" (global $g))
      (export "mine" (global $mine))
      (export "mem" (memory 0)))
    "#,
    );
    let plan = Plan::calls(3, &[("run", &i32s(&[50])), ("run", &i32s(&[7]))]);
    same_on_wasmtime(&wasm, &plan, &|store, linker| {
        use wasmtime::{Global, GlobalType, Memory, MemoryType, Mutability, Val, ValType};
        let g = Global::new(
            &mut *store,
            GlobalType::new(ValType::I32, Mutability::Var),
            Val::I32(3),
        )?;
        let mem = Memory::new(&mut *store, MemoryType::new(1, None))?;
        linker.define(&mut *store, "env", "g", g)?;
        linker.define(&mut *store, "env", "mem", mem)?;
        linker.func_wrap("env", "f", || 7i32)?;
        linker.func_wrap("env", "h", |x: i32| x + 1)?;
        Ok(())
    });
    same_on_wasmer(&wasm, &plan, &|store, imports| {
        use wasmer::{Function, Global, Memory, MemoryType, Value};
        imports.define("env", "g", Global::new_mut(&mut *store, Value::I32(3)));
        let mem = Memory::new(&mut *store, MemoryType::new(1, None, false)).unwrap();
        imports.define("env", "mem", mem);
        imports.define("env", "f", Function::new_typed(&mut *store, || 7i32));
        imports.define("env", "h", Function::new_typed(&mut *store, |x: i32| x + 1));
    });
}

#[test]
fn exported_globals_and_memory_preserve_results() {
    let wat = r#"
    (module
      (memory (export "memory") 1 2)
      (global $count (export "count") (mut i32) (i32.const 0))
      (global $k (export "k") i64 (i64.const 42))
      (func (export "fill") (param $n i32) (result i32)
        (loop $l
          (i32.store8 (local.get $n) (local.get $n))
          (global.set $count (i32.add (global.get $count) (i32.const 1)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (memory.grow (i32.const 1))))
    "#;
    same_on_both(
        wat,
        &Plan::calls(4, &[("fill", &i32s(&[300])), ("fill", &i32s(&[9]))]),
    );
}

#[test]
fn start_function_runs_instrumented_at_its_moved_index() {
    let wasm = wasm(
        r#"
    (module
      (import "env" "seven" (func $seven (result i32)))
      (global $g (export "g") (mut i32) (i32.const 0))
      (func $init
        (local $i i32)
        (local.set $i (call $seven))
        (loop $l
          (global.set $g (i32.add (global.get $g) (local.get $i)))
          (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1))))))
      (start $init)
      (func (export "get") (result i32) (global.get $g)))
    "#,
    );
    let plan = Plan::calls(2, &[("get", &[])]);
    let yields = same_on_wasmtime(&wasm, &plan, &|store, linker| {
        let seven = wasmtime_run::seven(store);
        linker.define(&mut *store, "env", "seven", seven)?;
        Ok(())
    });
    assert!(yields > 0, "the start function yields during instantiation");
    same_on_wasmer(&wasm, &plan, &|store, imports| {
        let seven = wasmer::Function::new_typed(&mut *store, || 7i32);
        imports.define("env", "seven", seven);
    });
}

#[test]
fn trapping_start_function_traps_the_same() {
    let wat = r#"
    (module
      (func $init (local $i i32)
        (loop $l (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100))))
        unreachable)
      (start $init)
      (func (export "never") (result i32) (i32.const 1)))
    "#;
    same_on_both(wat, &Plan::calls(3, &[]));
}

#[test]
fn multi_value_blocks_and_loop_parameters_preserve_results() {
    let wat = r#"
    (module
      (func $step (param i32 i32) (result i32 i32)
        (local.get 1) (i32.add (local.get 0) (local.get 1)))
      (func (export "fib") (param $n i32) (result i32)
        (i32.const 0) (i32.const 1)
        ;; (a, b) on the stack as the loop's parameters
        (loop $l (param i32 i32) (result i32 i32)
          (block $b (param i32 i32) (result i32 i32)
            (call $step))
          (if (param i32 i32) (result i32 i32) (i32.const 1)
            (then)
            (else (drop) (drop) (i32.const -1) (i32.const -1)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
        (drop)))
    "#;
    let calls = [i32s(&[1]), i32s(&[10]), i32s(&[40])];
    let calls: Vec<(&str, &[Arg])> = calls.iter().map(|a| ("fib", a.as_slice())).collect();
    same_on_both(wat, &Plan::calls(3, &calls));
}

#[test]
fn br_table_into_loop_preserves_results() {
    let wat = r#"
    (module
      (func (export "collatz") (param $n i32) (result i32)
        (local $steps i32)
        (block $done
          (loop $odd
            (loop $even
              (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
              (br_if $done (i32.le_u (local.get $n) (i32.const 1)))
              (if (i32.and (local.get $n) (i32.const 1))
                (then (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 3)) (i32.const 1))))
                (else (local.set $n (i32.shr_u (local.get $n) (i32.const 1)))))
              ;; 0 -> $even, 1 -> $odd, default -> $done
              (br_table $even $odd $done (i32.and (local.get $n) (i32.const 1))))))
        (local.get $steps)))
    "#;
    let calls = [i32s(&[1]), i32s(&[27]), i32s(&[97]), i32s(&[871])];
    let calls: Vec<(&str, &[Arg])> = calls.iter().map(|a| ("collatz", a.as_slice())).collect();
    same_on_both(wat, &Plan::calls(6, &calls));
}

#[test]
fn deeply_nested_loops_preserve_results() {
    let mut wat = String::from(
        "(module (func (export \"nest\") (param $n i32) (result i32) (local $c i32)\n",
    );
    let depth = 12;
    for d in 0..depth {
        wat.push_str(&format!("(local.set $n (i32.const 0)) (loop $l{d}\n"));
    }
    wat.push_str("(local.set $c (i32.add (local.get $c) (i32.const 1)))\n");
    for d in (0..depth).rev() {
        wat.push_str(&format!(
            "(br_if $l{d} (i32.lt_u (local.tee $n (i32.add (local.get $n) (i32.const 1))) (i32.const 2))))\n"
        ));
    }
    wat.push_str("(local.get $c)))");
    same_on_both(&wat, &Plan::calls(17, &[("nest", &i32s(&[0]))]));
}

/// A body with many thousands of operators and a loop whose body is larger than a
/// one- or two-byte cost immediate holds.
fn huge_function(ops: usize) -> String {
    let mut wat =
        String::from("(module (func (export \"big\") (param $n i32) (result i32) (local $x i32)\n");
    for i in 0..ops / 4 {
        wat.push_str(&format!(
            "(local.set $x (i32.add (local.get $x) (i32.const {i})))\n"
        ));
    }
    wat.push_str("(loop $l\n");
    for i in 0..ops / 4 {
        wat.push_str(&format!(
            "(local.set $x (i32.xor (local.get $x) (i32.const {i})))\n"
        ));
    }
    wat.push_str(
        "(br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))\n(local.get $x)))",
    );
    wat
}

#[test]
fn huge_function_preserves_results() {
    let wat = huge_function(40_000);
    let yields = same_on_both(&wat, &Plan::calls(1000, &[("big", &i32s(&[5]))]));
    // Each header charges the loop's 40 000 reductions at once: more than a slice, so
    // every iteration yields once.
    assert_eq!(yields, 5);
}

#[test]
fn tail_calls_preserve_results_and_yield() {
    let wasm = wasm(
        r#"
    (module
      (type $t (func (param i32 i32) (result i32)))
      (table 1 funcref)
      (elem (i32.const 0) $sum)
      (func $sum (param $n i32) (param $acc i32) (result i32)
        (if (result i32) (i32.eqz (local.get $n))
          (then (local.get $acc))
          (else (return_call $bounce
            (i32.sub (local.get $n) (i32.const 1))
            (i32.add (local.get $acc) (local.get $n))))))
      (func $bounce (param i32 i32) (result i32)
        (return_call_indirect (type $t) (local.get 0) (local.get 1) (i32.const 0)))
      (func (export "run") (param i32) (result i32) (call $sum (local.get 0) (i32.const 0))))
    "#,
    );
    let plan = Plan::calls(50, &[("run", &i32s(&[10])), ("run", &i32s(&[100_000]))]);
    let yields = same_on_wasmtime(&wasm, &plan, &wasmtime_run::no_imports);
    assert!(yields > 1000, "tail calls check at entry: {yields}");
}

#[test]
fn ref_func_element_segments_and_call_indirect_follow_moved_indices() {
    let wasm = wasm(
        r#"
    (module
      (import "env" "seven" (func $seven (result i32)))
      (type $nullary (func (result i32)))
      (table $t 4 funcref)
      (elem (table $t) (i32.const 0) func $one $two)
      (elem $passive func $three $seven)
      (elem declare func $four)
      (global $g funcref (ref.func $three))
      (func $one (result i32) (i32.const 1))
      (func $two (result i32) (i32.const 2))
      (func $three (result i32) (i32.const 3))
      (func $four (result i32) (i32.const 4))
      (func (export "run") (result i32)
        (local $acc i32) (local $i i32)
        (table.init $t $passive (i32.const 2) (i32.const 0) (i32.const 2))
        (loop $l
          (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 10))
            (call_indirect (type $nullary) (local.get $i))))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 4))))
        (table.set $t (i32.const 0) (ref.func $four))
        (table.set $t (i32.const 1) (global.get $g))
        (i32.add (i32.mul (local.get $acc) (i32.const 100))
          (i32.add (i32.mul (call_indirect (type $nullary) (i32.const 0)) (i32.const 10))
            (call_indirect (type $nullary) (i32.const 1)))))
      (export "four" (func $four)))
    "#,
    );
    let plan = Plan::calls(4, &[("run", &[]), ("four", &[])]);
    same_on_wasmtime(&wasm, &plan, &|store, linker| {
        let seven = wasmtime_run::seven(store);
        linker.define(&mut *store, "env", "seven", seven)?;
        Ok(())
    });
    same_on_wasmer(&wasm, &plan, &|store, imports| {
        let seven = wasmer::Function::new_typed(&mut *store, || 7i32);
        imports.define("env", "seven", seven);
    });
}

#[test]
fn bulk_memory_sign_extension_and_saturating_conversions_preserve_results() {
    let wat = r#"
    (module
      (memory (export "memory") 1)
      (data $d "\01\02\03\04\05\06\07\08\f0\f1\f2\f3")
      (func (export "run") (param $n i32) (result i64)
        (local $acc i64)
        (memory.init $d (i32.const 100) (i32.const 0) (i32.const 12))
        (loop $l
          (memory.copy (i32.add (i32.const 200) (local.get $n)) (i32.const 100) (i32.const 12))
          (memory.fill (i32.const 400) (local.get $n) (i32.const 16))
          (local.set $acc (i64.add (local.get $acc)
            (i64.extend8_s (i64.load (i32.add (i32.const 200) (local.get $n))))))
          (local.set $acc (i64.add (local.get $acc)
            (i64.trunc_sat_f64_s (f64.mul (f64.convert_i64_s (local.get $acc)) (f64.const 1e30)))))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (data.drop $d)
        (local.get $acc)))
    "#;
    same_on_both(wat, &Plan::calls(7, &[("run", &i32s(&[20]))]));
}

#[test]
fn simd_in_loops_preserves_results() {
    let wat = r#"
    (module
      (func (export "dot") (param $n i32) (result i32)
        (local $acc v128) (local $x v128)
        (local.set $x (v128.const i32x4 1 2 3 4))
        (loop $l
          (local.set $acc (i32x4.add (local.get $acc) (i32x4.mul (local.get $x) (local.get $x))))
          (local.set $x (i32x4.add (local.get $x) (i32x4.splat (i32.const 1))))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
    "#;
    same_on_both(wat, &Plan::calls(9, &[("dot", &i32s(&[100]))]));
}

#[test]
fn loops_in_unreachable_code_are_instrumented_validly() {
    let wat = r#"
    (module
      (func (export "run") (param $n i32) (result i32)
        (block $out (result i32)
          (br $out (i32.const 5))
          (loop $dead (param i32) (result i32) (br $dead))
          (drop)
          (loop $also_dead (result i32) (unreachable))))
      (func (export "after_return") (result i32)
        (return (i32.const 9))
        (loop $l (br $l))
        (i32.const 0)))
    "#;
    same_on_both(
        wat,
        &Plan::calls(1, &[("run", &i32s(&[3])), ("after_return", &[])]),
    );
}

#[test]
fn exceptions_thrown_out_of_loops_are_caught_the_same() {
    let wasm = wasm(
        r#"
    (module
      (tag $e (param i32))
      (func $thrower (param i32)
        (if (i32.gt_u (local.get 0) (i32.const 50)) (then (throw $e (local.get 0)))))
      (func (export "run") (result i32)
        (local $i i32)
        (block $caught (result i32)
          (try_table (catch $e $caught)
            (loop $l
              (call $thrower (local.get $i))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $l)))
          (i32.const -1))))
    "#,
    );
    let instrumented = preempt::instrument(&wasm, &Options::default()).unwrap();
    wasmparser::Validator::new()
        .validate_all(&instrumented)
        .unwrap();
    same_on_wasmer(
        &wasm,
        &Plan::calls(5, &[("run", &[])]),
        &wasmer_run::no_imports,
    );
}

#[test]
fn legacy_exceptions_and_gc_instrument_to_valid_modules() {
    // The test engines run neither (Wasmtime here is built without GC, Wasmer has
    // neither), so the property checked is validity of the output.
    for wat in [
        r#"(module
          (tag $e)
          (func (export "run") (result i32)
            loop $l
              try
                throw $e
              catch $e
                br $l
              catch_all
                rethrow 0
              end
              try
                nop
              delegate 0
            end
            i32.const 1))"#,
        r#"(module
          (type $point (struct (field $x (mut i32))))
          (func (export "run") (param anyref) (result i32)
            (local $p (ref null $point))
            (local.set $p (struct.new $point (i32.const 3)))
            (loop $l
              (struct.set $point $x (local.get $p)
                (i32.add (struct.get $point $x (local.get $p)) (i32.const 1)))
              (br_if $l (i32.lt_s (struct.get $point $x (local.get $p)) (i32.const 10))))
            (block $not_point (result anyref)
              (br_on_cast_fail $not_point anyref (ref $point) (local.get 0))
              (struct.get $point $x)
              (return))
            (drop)
            (struct.get $point $x (local.get $p))))"#,
    ] {
        let wasm = wasm(wat);
        let instrumented = preempt::instrument(&wasm, &Options::default()).unwrap();
        let mut validator =
            wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
        validator
            .validate_all(&instrumented)
            .unwrap_or_else(|e| panic!("{e}\n{wat}"));
    }
}

#[test]
fn memory64_and_multi_memory_preserve_results() {
    let wasm = wasm(
        r#"
    (module
      (memory $a (export "a") i64 1)
      (memory $b (export "b") 1)
      (func (export "run") (param $n i64) (result i64)
        (loop $l
          (i64.store $a (i64.mul (local.get $n) (i64.const 8)) (local.get $n))
          (i32.store8 $b (i32.wrap_i64 (local.get $n)) (i32.wrap_i64 (local.get $n)))
          (br_if $l (i64.ne (local.tee $n (i64.sub (local.get $n) (i64.const 1))) (i64.const 0))))
        (i64.load $a (i64.const 8))))
    "#,
    );
    let plan = Plan::calls(3, &[("run", &[Arg::I64(100)])]);
    same_on_wasmtime(&wasm, &plan, &wasmtime_run::no_imports);
}

// ---------------------------------------------------------------------------
// The yield protocol
// ---------------------------------------------------------------------------

const SPIN: &str = r#"
(module
  (func (export "forever") (loop $l (br $l)))
  (func (export "countdown") (param $n i32) (result i32)
    (loop $again
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again (local.get $n)))
    (local.get $n)))
"#;

/// What a host's yield import sees and does, for the yield tests.
struct Host {
    meter: Meter,
    yields: u64,
    lefts: Vec<i64>,
    /// Trap from yield once this many yields happened.
    kill_after: Option<u64>,
}

impl Host {
    fn new(first: i64, slice: i64, limit: Option<u64>) -> Self {
        Host {
            meter: Meter::new(first, slice, limit),
            yields: 0,
            lefts: Vec::new(),
            kill_after: None,
        }
    }

    /// The yield import's logic; `Err` means trap.
    fn on_yield(&mut self, left: i64) -> Result<i64, &'static str> {
        self.yields += 1;
        self.lefts.push(left);
        if self.kill_after.is_some_and(|n| self.yields >= n) {
            return Err("killed");
        }
        self.meter.on_yield(left).ok_or("compute limit reached")
    }
}

/// Runs `name(args)` of the instrumented `wat` on Wasmtime; returns the outcome (results
/// or trap text), the host, and the budget global afterwards.
fn on_wasmtime(
    wat: &str,
    options: &Options,
    host: Host,
    name: &str,
    args: &[wasmtime::Val],
    results: usize,
) -> (Result<Vec<i64>, String>, Host, i64) {
    use wasmtime::{Caller, Linker, Module, Store, Val};
    let wasm = preempt::instrument(&wasm(wat), options).unwrap();
    let engine = wasmtime_engine();
    let module = Module::new(engine, &wasm).unwrap();
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(
            "funk",
            "yield",
            |mut caller: Caller<'_, Host>, left: i64| -> wasmtime::Result<i64> {
                caller
                    .data_mut()
                    .on_yield(left)
                    .map_err(wasmtime::Error::msg)
            },
        )
        .unwrap();
    let mut store = Store::new(engine, host);
    store.set_fuel(u64::MAX).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let func = instance.get_func(&mut store, name).unwrap();
    let mut out = vec![Val::I32(0); results];
    let outcome = func
        .call(&mut store, args, &mut out)
        .map(|()| {
            out.iter()
                .map(|v| v.i32().map(i64::from).or(v.i64()).unwrap())
                .collect()
        })
        .map_err(|e| format!("{e:#}"));
    let budget = instance
        .get_global(&mut store, "funk_budget")
        .unwrap()
        .get(&mut store)
        .unwrap_i64();
    (outcome, store.into_data(), budget)
}

/// The same on Wasmer.
fn on_wasmer(
    wat: &str,
    options: &Options,
    host: Host,
    name: &str,
    args: &[wasmer::Value],
) -> (Result<Vec<i64>, String>, Host, i64) {
    use wasmer::{
        Function, FunctionEnv, FunctionEnvMut, Instance, Module, RuntimeError, Store, imports,
    };
    let wasm = preempt::instrument(&wasm(wat), options).unwrap();
    let mut store = Store::default();
    let module = Module::new(&store, &wasm).unwrap();
    let env = FunctionEnv::new(&mut store, host);
    let yield_ = Function::new_typed_with_env(
        &mut store,
        &env,
        |mut env: FunctionEnvMut<'_, Host>, left: i64| {
            env.data_mut().on_yield(left).map_err(RuntimeError::new)
        },
    );
    let instance = Instance::new(
        &mut store,
        &module,
        &imports! { "funk" => { "yield" => yield_ } },
    )
    .unwrap();
    let func = instance.exports.get_function(name).unwrap().clone();
    let outcome = func
        .call(&mut store, args)
        .map(|out| {
            out.iter()
                .map(|v| v.i32().map(i64::from).or(v.i64()).unwrap())
                .collect()
        })
        .map_err(|e| e.message());
    let budget = instance
        .exports
        .get_global("funk_budget")
        .unwrap()
        .get(&mut store)
        .unwrap_i64();
    let host = std::mem::replace(env.as_mut(&mut store), Host::new(0, 1, None));
    (outcome, host, budget)
}

/// How many yields `countdown(n)` makes: its entry charges 3 (`loop`, `local.get`,
/// `end`), each header 7; the budget starts at `slice` and each yield returns `slice`.
fn countdown_yields(n: u64, slice: i64) -> u64 {
    let (mut budget, mut yields) = (slice - 3, 0);
    for _ in 0..n {
        budget -= 7;
        if budget <= 0 {
            yields += 1;
            budget = slice;
        }
    }
    yields
}

#[test]
fn spinning_loop_reaches_the_yield_import_and_a_trap_there_kills_it() {
    let options = Options {
        initial_budget: 1000,
        ..Options::default()
    };
    let mut host = Host::new(1000, 1000, None);
    host.kill_after = Some(5);
    let (outcome, host, _) = on_wasmtime(SPIN, &options, host, "forever", &[], 0);
    assert!(outcome.unwrap_err().contains("killed"));
    assert_eq!(host.yields, 5);

    let mut host = Host::new(1000, 1000, None);
    host.kill_after = Some(5);
    let (outcome, host, _) = on_wasmer(SPIN, &options, host, "forever", &[]);
    assert!(outcome.unwrap_err().contains("killed"));
    assert_eq!(host.yields, 5);
}

#[test]
fn the_budget_returned_by_yield_sets_the_slice_length() {
    let n = 10_000u64;
    for slice in [1, 6, 7, 8, 50, 700, 1000, 69_999, 70_000, 1 << 40] {
        let options = Options {
            initial_budget: slice,
            ..Options::default()
        };
        let args = [wasmtime::Val::I32(n as i32)];
        let (outcome, host, budget) = on_wasmtime(
            SPIN,
            &options,
            Host::new(slice, slice, None),
            "countdown",
            &args,
            1,
        );
        assert_eq!(outcome.unwrap(), [0]);
        assert_eq!(host.yields, countdown_yields(n, slice), "slice {slice}");
        // A yield comes at the first header that spends the budget: at most one
        // iteration's charge (7) late, the entry's (3) too for the first.
        assert!(
            host.lefts.iter().all(|&left| (-9..=0).contains(&left)),
            "slice {slice}: {:?}",
            host.lefts
        );
        assert!(
            host.lefts
                .iter()
                .skip(1)
                .all(|&left| (-6..=0).contains(&left)),
            "slice {slice}"
        );
        assert_eq!(
            host.meter.consumed(budget),
            3 + 7 * n,
            "slice {slice}: the exact charge"
        );

        let args = [wasmer::Value::I32(n as i32)];
        let (outcome, host, budget) = on_wasmer(
            SPIN,
            &options,
            Host::new(slice, slice, None),
            "countdown",
            &args,
        );
        assert_eq!(outcome.unwrap(), [0]);
        assert_eq!(
            host.yields,
            countdown_yields(n, slice),
            "wasmer, slice {slice}"
        );
        assert_eq!(host.meter.consumed(budget), 3 + 7 * n);
    }
}

#[test]
fn recursion_without_loops_yields_at_function_entries() {
    let fib = r#"
    (module
      (func $fib (export "fib") (param $n i32) (result i32)
        (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
          (then (local.get $n))
          (else (i32.add
            (call $fib (i32.sub (local.get $n) (i32.const 1)))
            (call $fib (i32.sub (local.get $n) (i32.const 2))))))))
    "#;
    // fib(20) = 6765 takes 2 * fib(21) - 1 = 21891 calls of 17 reductions each.
    let calls = 21_891u64;
    let options = Options {
        initial_budget: 100,
        ..Options::default()
    };
    let (outcome, host, budget) = on_wasmtime(
        fib,
        &options,
        Host::new(100, 100, None),
        "fib",
        &[wasmtime::Val::I32(20)],
        1,
    );
    assert_eq!(outcome.unwrap(), [6765]);
    assert_eq!(host.meter.consumed(budget), 17 * calls);
    // Each yield forgives an overdraft of at most 16 (one body less one reduction).
    let consumed = 17 * calls;
    assert!(
        (consumed / 117..=consumed / 100).contains(&host.yields),
        "{}",
        host.yields
    );
    let (outcome, host, budget) = on_wasmer(
        fib,
        &options,
        Host::new(100, 100, None),
        "fib",
        &[wasmer::Value::I32(20)],
    );
    assert_eq!(outcome.unwrap(), [6765]);
    assert_eq!(host.meter.consumed(budget), 17 * calls);
}

#[test]
fn leaf_functions_are_charged_but_only_callers_check() {
    let wat = r#"
    (module
      (func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "run") (param $n i32) (result i32)
        (local $acc i32)
        (loop $l
          (local.set $acc (call $leaf (local.get $acc)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $acc)))
    "#;
    // run: entry 3 (loop, local.get, end); loop body 9; leaf 4.
    let options = Options {
        initial_budget: 13,
        ..Options::default()
    };
    let (outcome, host, budget) = on_wasmtime(
        wat,
        &options,
        Host::new(13, 13, None),
        "run",
        &[wasmtime::Val::I32(100)],
        1,
    );
    assert_eq!(outcome.unwrap(), [100]);
    assert_eq!(host.meter.consumed(budget), 3 + 100 * (9 + 4));
    // Checks happen only at `run`'s entry and loop header, where the leaf's last
    // charge (4) and the header's (9) are the most the budget can be short by.
    assert!(
        host.lefts.iter().all(|&left| (-12..=0).contains(&left)),
        "{:?}",
        host.lefts
    );
}

#[test]
fn a_compute_limit_stops_a_spinning_guest_within_one_region() {
    let limit = 100_000;
    let options = Options {
        initial_budget: 1000,
        ..Options::default()
    };
    let (outcome, host, budget) = on_wasmtime(
        SPIN,
        &options,
        Host::new(1000, 1000, Some(limit)),
        "forever",
        &[],
        0,
    );
    assert!(outcome.unwrap_err().contains("compute limit reached"));
    let consumed = host.meter.consumed(budget);
    // `forever`'s loop charges 2 (`br`, `end`) per iteration.
    assert!((limit..limit + 2).contains(&consumed), "{consumed}");

    let (outcome, host, budget) = on_wasmer(
        SPIN,
        &options,
        Host::new(1000, 1000, Some(limit)),
        "forever",
        &[],
    );
    assert!(outcome.unwrap_err().contains("compute limit reached"));
    assert!((limit..limit + 2).contains(&host.meter.consumed(budget)));
}

#[test]
fn the_exported_budget_tells_what_a_call_without_yields_consumed() {
    let wat = r#"(module (func (export "add") (param i32 i32) (result i32)
        (i32.add (local.get 0) (local.get 1))))"#;
    let args = [wasmtime::Val::I32(2), wasmtime::Val::I32(3)];
    let (outcome, host, budget) = on_wasmtime(
        wat,
        &Options::default(),
        Host::new(100_000, 100_000, None),
        "add",
        &args,
        1,
    );
    assert_eq!(outcome.unwrap(), [5]);
    assert_eq!(host.yields, 0);
    assert_eq!(budget, preempt::DEFAULT_BUDGET - 4);
    assert_eq!(host.meter.consumed(budget), 4);
}

const EXITS: &str = r#"
(module
  (func $leaf (result i32) (i32.const 9))
  (func (export "ret") (param $n i32) (result i32)
    (loop $l
      (if (i32.eqz (local.get $n)) (then (return (i32.const 7))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l))
    (i32.const 0))
  (func (export "br_if") (param $n i32) (result i32)
    (i32.const 5)
    (loop $l (param i32) (result i32)
      (br_if 1 (i32.eqz (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
  (func (export "br_table") (param $n i32)
    (block $b
      (loop $l
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br_table $l 2 (i32.eqz (local.get $n)))))))
"#;

/// Tail calls, which Wasmer does not run.
const TAIL_EXIT: &str = r#"
(module
  (func $leaf (result i32) (i32.const 9))
  (func (export "return_call") (param $n i32) (result i32)
    (loop $l
      (if (i32.eqz (local.get $n)) (then (return_call $leaf)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l))
    (i32.const 0)))
"#;

/// Each way out of a function that keeps its budget in a local (loops) stores it to
/// the global first: the exported budget then tells the exact charge, with and
/// without yields on the way.
#[test]
fn loop_functions_store_the_budget_on_every_way_out() {
    let n = 50u64;
    // (function, results, charge): entry region + loop region per header (+ callee).
    let cases: [(&str, &[i64], u64); 4] = [
        ("ret", &[7], 3 + 12 * (n + 1)),
        ("br_if", &[5], 3 + 9 * (n + 1)),
        ("br_table", &[], 4 + 8 * n),
        ("return_call", &[9], 3 + 11 * (n + 1) + 2),
    ];
    for slice in [1_000_000, 10] {
        let options = Options {
            initial_budget: slice,
            ..Options::default()
        };
        for (name, result, charge) in cases {
            let host = Host::new(slice, slice, None);
            let args = [wasmtime::Val::I32(n as i32)];
            let wat = if name == "return_call" {
                TAIL_EXIT
            } else {
                EXITS
            };
            let (outcome, host, budget) =
                on_wasmtime(wat, &options, host, name, &args, result.len());
            assert_eq!(outcome.unwrap(), result, "{name}");
            assert_eq!(host.meter.consumed(budget), charge, "{name}, slice {slice}");
            if name == "return_call" {
                continue; // Wasmer runs no tail calls
            }
            let host = Host::new(slice, slice, None);
            let args = [wasmer::Value::I32(n as i32)];
            let (outcome, host, budget) = on_wasmer(EXITS, &options, host, name, &args);
            assert_eq!(outcome.unwrap(), result, "wasmer {name}");
            assert_eq!(
                host.meter.consumed(budget),
                charge,
                "wasmer {name}, slice {slice}"
            );
        }
    }
}

/// A function that keeps its budget in a local stores it before each call, so a host
/// function sees the exact charge so far, and reloads it after.
#[test]
fn callees_of_loop_functions_see_the_current_budget() {
    let wat = r#"
    (module
      (import "env" "observe" (func $observe))
      (func (export "run") (param $n i32)
        (loop $l
          (call $observe)
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))
    "#;
    let budget = 1_000_000i64;
    let options = Options {
        initial_budget: budget,
        ..Options::default()
    };
    // Entry: `loop`, `end` (2). Loop body: call, local.get, i32.const, i32.sub,
    // local.tee, br_if, end (7), charged at the header before the call.
    let expected: Vec<i64> = (1..=5).map(|k| budget - 2 - 7 * k).collect();

    use wasmtime::{Caller, Linker, Module, Store, Val};
    let wasm = preempt::instrument(&wasm(wat), &options).unwrap();
    let engine = wasmtime_engine();
    let mut linker = Linker::new(engine);
    linker
        .func_wrap("funk", "yield", |_: i64| -> i64 {
            unreachable!("no yield with this budget")
        })
        .unwrap();
    linker
        .func_wrap("env", "observe", |mut caller: Caller<'_, Vec<i64>>| {
            let global = caller
                .get_export("funk_budget")
                .unwrap()
                .into_global()
                .unwrap();
            let seen = global.get(&mut caller).unwrap_i64();
            caller.data_mut().push(seen);
        })
        .unwrap();
    let mut store = Store::new(engine, Vec::new());
    store.set_fuel(u64::MAX).unwrap();
    let instance = linker
        .instantiate(&mut store, &Module::new(engine, &wasm).unwrap())
        .unwrap();
    let run = instance.get_func(&mut store, "run").unwrap();
    run.call(&mut store, &[Val::I32(5)], &mut []).unwrap();
    assert_eq!(*store.data(), expected);
}

/// A function that catches exceptions keeps its budget in the global: a handler is
/// entered from a callee's `throw`, past the reload after the call, so a local copy
/// would write the callee's charges off. (Run on Wasmer: this Wasmtime has no
/// exceptions.)
#[test]
fn catching_a_callees_exception_does_not_refund_its_charges() {
    let wat = r#"
    (module
      (tag $e)
      (func $work (param $k i32)
        (loop $l (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
        (throw $e))
      (func (export "run") (param $n i32) (result i32)
        (loop $l
          (block $caught (try_table (catch $e $caught) (call $work (i32.const 100))))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (i32.const 1)))
    "#;
    // $work: entry `loop`, `throw`, `end` (3) + 100 headers of 6. $run: entry `loop`,
    // `i32.const`, `end` (3) + per header 12 (block, try_table, i32.const, call, two
    // ends, local.get, i32.const, i32.sub, local.tee, br_if, end).
    let n = 20u64;
    let charge = 3 + n * (12 + 3 + 600);
    for slice in [1_000_000, 50] {
        let options = Options {
            initial_budget: slice,
            ..Options::default()
        };
        let args = [wasmer::Value::I32(n as i32)];
        let (outcome, host, budget) =
            on_wasmer(wat, &options, Host::new(slice, slice, None), "run", &args);
        assert_eq!(outcome.unwrap(), [1]);
        assert_eq!(host.meter.consumed(budget), charge, "slice {slice}");
    }
}

// ---------------------------------------------------------------------------
// Refusals and metadata
// ---------------------------------------------------------------------------

#[test]
fn instrumenting_twice_is_refused() {
    let once = preempt::instrument(&wasm(SPIN), &Options::default()).unwrap();
    let err = preempt::instrument(&once, &Options::default()).unwrap_err();
    assert_eq!(
        err,
        InstrumentError::ImportTaken {
            module: "funk".into(),
            name: "yield".into()
        }
    );
    assert!(err.to_string().contains("instrumented already"), "{err}");
}

#[test]
fn a_taken_budget_export_name_is_refused_and_none_exports_nothing() {
    let wat = r#"(module (global (export "funk_budget") i32 (i32.const 0)))"#;
    let err = preempt::instrument(&wasm(wat), &Options::default()).unwrap_err();
    assert_eq!(err, InstrumentError::ExportTaken("funk_budget".into()));

    let options = Options {
        budget_export: None,
        ..Options::default()
    };
    let out = preempt::instrument(&wasm(wat), &options).unwrap();
    let module = wasmtime::Module::new(wasmtime_engine(), &out).unwrap();
    let exports: Vec<_> = module.exports().map(|e| e.name().to_owned()).collect();
    assert_eq!(exports, ["funk_budget"], "only the module's own export");
}

#[test]
fn invalid_modules_and_components_are_refused() {
    let err = preempt::instrument(b"\0asm\x01\0\0\0\x0a", &Options::default()).unwrap_err();
    assert!(matches!(err, InstrumentError::Invalid { .. }), "{err}");

    let invalid = wasm("(module (func (result i32) (i64.const 0)))");
    let err = preempt::instrument(&invalid, &Options::default()).unwrap_err();
    assert!(err.to_string().contains("type mismatch"), "{err}");

    let component = wat::parse_str("(component)").unwrap();
    let err = preempt::instrument(&component, &Options::default()).unwrap_err();
    assert!(err.to_string().contains("component"), "{err}");
}

/// A module with one function `body`, no globals and one type, in the binary format:
/// the text format would refuse the out-of-range indices.
fn raw_module(body: &[u8]) -> Vec<u8> {
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    module.extend([1, 4, 1, 0x60, 0, 0]); // type section: (func)
    module.extend([3, 2, 1, 0]); // function section: one function of type 0
    let mut code = vec![1, body.len() as u8 + 1, 0]; // one body, no locals
    code.extend(body);
    module.extend([10, code.len() as u8]);
    module.extend(code);
    module
}

#[test]
fn a_body_naming_the_indices_the_pass_will_add_is_refused() {
    // The budget global and the yield type take the first free indices: naming them
    // in an invalid module must not come out valid. (The yield function cannot be
    // named: every index from its own up moves.)
    for (what, body) in [
        ("the budget global", &[0x23, 0, 0x1a, 0x0b][..]), // global.get 0; drop
        ("the yield type", &[0x42, 0, 0x02, 1, 0x0b, 0x1a, 0x0b][..]), // i64.const 0; block (type 1) end; drop
    ] {
        let err = preempt::instrument(&raw_module(body), &Options::default()).unwrap_err();
        assert!(
            matches!(err, InstrumentError::Invalid { .. }),
            "{what}: {err}"
        );
    }
    // The same module with a valid body instruments.
    preempt::instrument(&raw_module(&[0x0b]), &Options::default()).unwrap();
}

#[test]
fn an_empty_module_gets_the_type_import_global_and_export() {
    let out = preempt::instrument(&wasm("(module)"), &Options::default()).unwrap();
    let module = wasmtime::Module::new(wasmtime_engine(), &out).unwrap();
    let imports: Vec<_> = module
        .imports()
        .map(|i| (i.module().to_owned(), i.name().to_owned()))
        .collect();
    assert_eq!(imports, [("funk".to_owned(), "yield".to_owned())]);
    let exports: Vec<_> = module.exports().map(|e| e.name().to_owned()).collect();
    assert_eq!(exports, ["funk_budget"]);
}

#[test]
fn custom_import_and_export_names_are_used() {
    let options = Options {
        import_module: "lunatic::process".into(),
        import_name: "preempt".into(),
        budget_export: Some("__reductions".into()),
        initial_budget: 5,
    };
    let out = preempt::instrument(&wasm(SPIN), &options).unwrap();
    let module = wasmtime::Module::new(wasmtime_engine(), &out).unwrap();
    let import = module.imports().next().unwrap();
    assert_eq!(
        (import.module(), import.name()),
        ("lunatic::process", "preempt")
    );
    assert!(module.exports().any(|e| e.name() == "__reductions"));
}

/// The function names of a module's name section, by index.
fn function_names(wasm: &[u8]) -> Vec<(u32, String)> {
    let mut names = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::CustomSection(section) = payload.unwrap()
            && let wasmparser::KnownCustom::Name(reader) = section.as_known()
        {
            for subsection in reader {
                if let wasmparser::Name::Function(map) = subsection.unwrap() {
                    for naming in map {
                        let naming = naming.unwrap();
                        names.push((naming.index, naming.name.to_owned()));
                    }
                }
            }
        }
    }
    names
}

#[test]
fn the_name_section_follows_moved_function_indices() {
    let wat = r#"
    (module
      (import "env" "first" (func $first))
      (func $second (call $third))
      (func $third (call $first)))
    "#;
    let out = preempt::instrument(&wasm(wat), &Options::default()).unwrap();
    assert_eq!(
        function_names(&out),
        [
            (0, "first".into()),
            (1, "funk::yield".into()),
            (2, "second".into()),
            (3, "third".into()),
            (4, "funk::yield slow path".into()),
        ]
    );
}

#[test]
fn dwarf_and_branch_hints_are_dropped_other_custom_sections_kept() {
    let mut module = wasm(SPIN);
    for (name, data) in [
        (".debug_info", &b"dwarf"[..]),
        ("metadata.code.branch_hint", b""),
        ("producers", b"\0"),
        ("keep", b"me"),
    ] {
        use wasm_encoder::Encode;
        module.push(0); // the custom section id; the encoding brings its size
        wasm_encoder::CustomSection {
            name: name.into(),
            data: data.into(),
        }
        .encode(&mut module);
    }
    let out = preempt::instrument(&module, &Options::default()).unwrap();
    let customs: Vec<String> = wasmparser::Parser::new(0)
        .parse_all(&out)
        .filter_map(|p| match p.unwrap() {
            wasmparser::Payload::CustomSection(s) => Some(s.name().to_owned()),
            _ => None,
        })
        .collect();
    assert!(
        customs.iter().any(|n| n == "keep") && customs.iter().any(|n| n == "producers"),
        "{customs:?}"
    );
    assert!(
        !customs
            .iter()
            .any(|n| n.starts_with(".debug") || n.starts_with("metadata.code")),
        "{customs:?}"
    );
}

/// The cost immediates of the checks after each `loop` of the first function body.
fn loop_charges(wasm: &[u8]) -> Vec<i64> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
            let ops: Vec<_> = body
                .get_operators_reader()
                .unwrap()
                .into_iter()
                .map(|op| op.unwrap())
                .collect();
            return ops
                .windows(3)
                .filter_map(|w| match w {
                    [
                        wasmparser::Operator::Loop { .. },
                        wasmparser::Operator::GlobalGet { .. }
                        | wasmparser::Operator::LocalGet { .. },
                        wasmparser::Operator::I64Const { value },
                    ] => Some(*value),
                    _ => None,
                })
                .collect();
        }
    }
    Vec::new()
}

#[test]
fn a_function_over_a_megabyte_gets_exact_padded_charges() {
    // Pairs of a 4-byte `i32.const` and a 1-byte `i32.add`: a body over 1 MiB needs
    // a four-byte cost immediate.
    let pairs = 220_000;
    let mut wat = String::from(
        "(module (func (result i32) (i32.const 0) (loop $l (param i32) (result i32)\n",
    );
    for _ in 0..pairs {
        wat.push_str("i32.const 1000000 i32.add\n");
    }
    wat.push_str(")))");
    let wasm = wasm(&wat);
    assert!(wasm.len() > 1 << 20);
    let out = preempt::instrument(&wasm, &Options::default()).unwrap();
    wasmparser::Validator::new().validate_all(&out).unwrap();
    // The loop's region: the pairs and its `end`.
    assert_eq!(loop_charges(&out), [2 * pairs as i64 + 1]);
}

/// The locals of the first function body: declared count.
fn declared_locals(wasm: &[u8]) -> u32 {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
            let reader = body.get_locals_reader().unwrap();
            return reader.into_iter().map(|l| l.unwrap().0).sum();
        }
    }
    0
}

#[test]
fn a_loop_function_at_the_locals_limit_keeps_its_budget_in_the_global() {
    let module = |locals: usize| {
        let types = vec!["i32"; locals].join(" ");
        wasm(&format!(
            "(module (func (param i32) (local {types}) (loop $l (br_if $l (local.get 0)))))"
        ))
    };
    // One parameter and 49 999 locals: the limit of 50 000, no room for the budget.
    let full = preempt::instrument(&module(49_999), &Options::default()).unwrap();
    wasmparser::Validator::new().validate_all(&full).unwrap();
    assert_eq!(declared_locals(&full), 49_999);
    // One fewer: the budget local fits.
    let room = preempt::instrument(&module(49_998), &Options::default()).unwrap();
    wasmparser::Validator::new().validate_all(&room).unwrap();
    assert_eq!(declared_locals(&room), 49_999);
}
