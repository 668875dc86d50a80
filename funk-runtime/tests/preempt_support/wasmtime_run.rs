//! Running a module on Wasmtime and observing it; the differential check.

use wasmtime::{
    Caller, Config, Engine, Extern, ExternType, Func, Instance, Linker, Module, Store, Trap, Val,
};

use super::observe::{self, Arg, BUDGET_EXPORT, Compared, Observation, Plan};

/// Wasmtime fuel per call: a safety net for loops that `ensure_termination` does not
/// bound. Running out of it makes a run inconclusive.
pub const FUEL: u64 = 1_000_000_000;

/// The host state of a run.
#[derive(Debug, Default)]
pub struct State {
    /// Yield calls so far.
    pub yields: u64,
    /// What yield returns.
    pub refill: i64,
    /// The arguments yield received.
    pub lefts: Vec<i64>,
}

/// An engine with the proposals wasm-smith is asked for, fuel on as a safety net.
/// Same engine for the original and the instrumented module.
pub fn engine() -> Engine {
    let mut config = Config::new();
    config
        .consume_fuel(true)
        .wasm_tail_call(true)
        .wasm_multi_memory(true)
        .wasm_memory64(true)
        .wasm_wide_arithmetic(true)
        .wasm_custom_page_sizes(true)
        .relaxed_simd_deterministic(true)
        // Many small modules: compile them fast.
        .cranelift_opt_level(wasmtime::OptLevel::None);
    Engine::new(&config).expect("engine config")
}

/// Extra host definitions a module needs besides the yield import.
pub type Link<'a> = &'a dyn Fn(&mut Store<State>, &mut Linker<State>) -> wasmtime::Result<()>;

/// No extra host definitions.
pub fn no_imports(_: &mut Store<State>, _: &mut Linker<State>) -> wasmtime::Result<()> {
    Ok(())
}

/// Instantiates `module`, makes `plan`'s calls and records what happens. `Err` is for
/// failures of the harness (link errors), not of the guest.
pub fn observe(
    engine: &Engine,
    module: &Module,
    plan: &Plan,
    link: Link<'_>,
) -> Result<Observation, String> {
    let module = module.clone();
    let mut store = Store::new(
        engine,
        State {
            refill: plan.refill,
            ..State::default()
        },
    );
    let mut linker = Linker::new(engine);
    linker
        .func_wrap(
            "funk",
            "yield",
            |mut caller: Caller<'_, State>, left: i64| -> i64 {
                let state = caller.data_mut();
                state.yields += 1;
                state.lefts.push(left);
                state.refill
            },
        )
        .map_err(|e| format!("link: {e:#}"))?;
    link(&mut store, &mut linker).map_err(|e| format!("link: {e:#}"))?;

    let mut obs = Observation::default();
    store.set_fuel(FUEL).expect("fuel is on");
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(instance) => {
            obs.push("start: ok");
            instance
        }
        Err(err) => {
            match classify(&err) {
                Outcome::Trap(trap) => obs.push(format!("start: {trap}")),
                Outcome::Inconclusive(why) => obs.inconclusive = Some(why),
                Outcome::Error(e) => return Err(format!("instantiate: {e}")),
            }
            obs.yields = store.data().yields;
            return Ok(obs);
        }
    };

    let calls: Vec<(String, Option<Vec<Val>>)> = match &plan.calls {
        Some(calls) => calls
            .iter()
            .map(|(name, args)| (name.clone(), Some(args.iter().map(to_val).collect())))
            .collect(),
        None => module
            .exports()
            .filter_map(|export| match export.ty() {
                ExternType::Func(ty) => {
                    let args = ty.params().map(|t| Val::default_for_ty(&t)).collect();
                    Some((export.name().to_owned(), args))
                }
                _ => None,
            })
            .collect(),
    };
    for (name, args) in calls {
        let Some(args) = args else {
            obs.push(format!("call {name}: skipped, a parameter has no default"));
            continue;
        };
        let func = instance
            .get_func(&mut store, &name)
            .ok_or_else(|| format!("no exported function {name}"))?;
        let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
        store.set_fuel(FUEL).expect("fuel is on");
        match func.call(&mut store, &args, &mut results) {
            Ok(()) => {
                let results: Vec<String> = results.iter().map(show).collect();
                obs.push(format!("call {name}: [{}]", results.join(", ")));
            }
            Err(err) => match classify(&err) {
                Outcome::Trap(trap) => obs.push(format!("call {name}: {trap}")),
                Outcome::Inconclusive(why) => {
                    obs.inconclusive = Some(format!("call {name}: {why}"));
                    break;
                }
                Outcome::Error(e) => obs.push(format!("call {name}: error {e}")),
            },
        }
        obs.push(state(&mut store, &module, &instance));
    }
    obs.yields = store.data().yields;
    Ok(obs)
}

/// Runs `wasm` and its instrumented form under `plan` and compares them. Also checks
/// that the instrumented module validates.
pub fn differential(
    engine: &Engine,
    wasm: &[u8],
    plan: &Plan,
    link: Link<'_>,
) -> Result<(Compared, u64), String> {
    let instrumented = funk_runtime::preempt::instrument(wasm, &plan.options())
        .map_err(|e| format!("instrument: {e}"))?;
    let Ok(original) = Module::new(engine, wasm) else {
        let unsupported = Compared {
            unsupported: true,
            ..Compared::default()
        };
        return Ok((unsupported, 0));
    };
    let features = wasmparser::WasmFeatures::all();
    wasmparser::Validator::new_with_features(features)
        .validate_all(&instrumented)
        .map_err(|e| format!("instrumented module does not validate: {e}"))?;
    let instrumented = Module::new(engine, &instrumented)
        .map_err(|e| format!("instrumented module does not compile: {e:#}"))?;
    let original = observe(engine, &original, plan, link)?;
    let after =
        observe(engine, &instrumented, plan, link).map_err(|e| format!("instrumented: {e}"))?;
    let compared = observe::compare(&original, &after).map_err(|m| m.to_string())?;
    Ok((compared, after.yields))
}

enum Outcome {
    Trap(String),
    Inconclusive(String),
    Error(String),
}

fn classify(err: &wasmtime::Error) -> Outcome {
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Outcome::Inconclusive("out of wasmtime fuel".into()),
        Some(Trap::StackOverflow) => Outcome::Inconclusive("stack overflow".into()),
        Some(trap) => Outcome::Trap(format!("trap {trap:?}")),
        None => Outcome::Error(format!("{err:#}")),
    }
}

fn to_val(arg: &Arg) -> Val {
    match *arg {
        Arg::I32(v) => Val::I32(v),
        Arg::I64(v) => Val::I64(v),
        Arg::F32(v) => Val::F32(v.to_bits()),
        Arg::F64(v) => Val::F64(v.to_bits()),
    }
}

fn show(val: &Val) -> String {
    match val {
        Val::I32(v) => format!("i32:{v}"),
        Val::I64(v) => format!("i64:{v}"),
        Val::F32(bits) => observe::f32_bits(*bits),
        Val::F64(bits) => observe::f64_bits(*bits),
        Val::V128(v) => format!("v128:{:#x}", v.as_u128()),
        Val::FuncRef(f) => null_or("funcref", f.is_none()),
        Val::ExternRef(r) => null_or("externref", r.is_none()),
        Val::AnyRef(r) => null_or("anyref", r.is_none()),
        Val::ExnRef(r) => null_or("exnref", r.is_none()),
        Val::ContRef(r) => null_or("contref", r.is_none()),
    }
}

fn null_or(kind: &str, null: bool) -> String {
    if null {
        format!("{kind}:null")
    } else {
        kind.to_owned()
    }
}

/// The exports' state: globals by value, memories by size and hash, tables by size.
fn state(store: &mut Store<State>, module: &Module, instance: &Instance) -> String {
    let mut parts = Vec::new();
    for export in module.exports() {
        let name = export.name();
        if name == BUDGET_EXPORT {
            continue;
        }
        match instance.get_export(&mut *store, name) {
            Some(Extern::Global(g)) => parts.push(format!("{name}={}", show(&g.get(&mut *store)))),
            Some(Extern::Memory(m)) => {
                let data = m.data(&*store);
                parts.push(format!("{name}={}:{:x}", data.len(), observe::hash(data)));
            }
            Some(Extern::Table(t)) => parts.push(format!("{name}=table[{}]", t.size(&*store))),
            _ => {}
        }
    }
    format!("state: {}", parts.join(" "))
}

/// A host function for tests that need one: `env::f() -> i32` returning 7.
pub fn seven(store: &mut Store<State>) -> Func {
    Func::wrap(store, || 7i32)
}
