//! Running a module on Wasmer and observing it, the same way as on Wasmtime.

use wasmer::{
    Engine, Extern, ExternType, Function, FunctionEnv, FunctionEnvMut, Imports, Instance,
    InstantiationError, LinkError, Module, RuntimeError, Store, Type, Value, imports,
};

use super::observe::{self, Arg, BUDGET_EXPORT, Compared, Observation, Plan};

/// The host state of a run.
#[derive(Debug, Default)]
pub struct State {
    pub yields: u64,
    pub refill: i64,
}

/// Extra host definitions a module needs besides the yield import.
pub type Link<'a> = &'a dyn Fn(&mut Store, &mut Imports);

/// No extra host definitions.
pub fn no_imports(_: &mut Store, _: &mut Imports) {}

/// Instantiates `module`, makes `plan`'s calls and records what happens.
pub fn observe(
    engine: &Engine,
    module: &Module,
    plan: &Plan,
    link: Link<'_>,
) -> Result<Observation, String> {
    let mut store = Store::new(engine.clone());
    let env = FunctionEnv::new(
        &mut store,
        State {
            refill: plan.refill,
            ..State::default()
        },
    );
    let yield_ = Function::new_typed_with_env(
        &mut store,
        &env,
        |mut env: FunctionEnvMut<'_, State>, _left: i64| -> i64 {
            let state = env.data_mut();
            state.yields += 1;
            state.refill
        },
    );
    let mut imports = imports! { "funk" => { "yield" => yield_ } };
    link(&mut store, &mut imports);

    let mut obs = Observation::default();
    let instance = match Instance::new(&mut store, module, &imports) {
        Ok(instance) => {
            obs.push("start: ok");
            instance
        }
        Err(InstantiationError::Start(err) | InstantiationError::Link(LinkError::Trap(err))) => {
            match classify(err) {
                Ok(trap) => obs.push(format!("start: {trap}")),
                Err(why) => obs.inconclusive = Some(why),
            }
            obs.yields = env.as_ref(&store).yields;
            return Ok(obs);
        }
        Err(err) => return Err(format!("instantiate: {err}")),
    };

    let calls: Vec<(String, Option<Vec<Value>>)> = match &plan.calls {
        Some(calls) => calls
            .iter()
            .map(|(name, args)| (name.clone(), Some(args.iter().map(to_value).collect())))
            .collect(),
        None => module
            .exports()
            .filter_map(|export| match export.ty() {
                ExternType::Function(ty) => {
                    let args = ty.params().iter().map(default_for).collect();
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
            .exports
            .get_function(&name)
            .map_err(|e| format!("export {name}: {e}"))?
            .clone();
        match func.call(&mut store, &args) {
            Ok(results) => {
                let results: Vec<String> = results.iter().map(show).collect();
                obs.push(format!("call {name}: [{}]", results.join(", ")));
            }
            Err(err) => match classify(err) {
                Ok(trap) => obs.push(format!("call {name}: {trap}")),
                Err(why) => {
                    obs.inconclusive = Some(format!("call {name}: {why}"));
                    break;
                }
            },
        }
        obs.push(state(&mut store, module, &instance));
    }
    obs.yields = env.as_ref(&store).yields;
    Ok(obs)
}

/// Runs `wasm` and its instrumented form under `plan` on Wasmer and compares them.
pub fn differential(
    engine: &Engine,
    wasm: &[u8],
    plan: &Plan,
    link: Link<'_>,
) -> Result<(Compared, u64), String> {
    let instrumented = funk_runtime::preempt::instrument(wasm, &plan.options())
        .map_err(|e| format!("instrument: {e}"))?;
    let store = Store::new(engine.clone());
    let Ok(original) = Module::new(&store, wasm) else {
        let unsupported = Compared {
            unsupported: true,
            ..Compared::default()
        };
        return Ok((unsupported, 0));
    };
    let instrumented = Module::new(&store, &instrumented)
        .map_err(|e| format!("instrumented module does not compile: {e}"))?;
    let original = observe(engine, &original, plan, link)?;
    let after =
        observe(engine, &instrumented, plan, link).map_err(|e| format!("instrumented: {e}"))?;
    let compared = observe::compare(&original, &after).map_err(|m| m.to_string())?;
    Ok((compared, after.yields))
}

/// A trap's name, or why the run is inconclusive.
fn classify(err: RuntimeError) -> Result<String, String> {
    let message = err.message();
    // The trap code type is not re-exported: tell it by name.
    match err.to_trap().map(|code| format!("{code:?}")) {
        Some(code) if code == "StackOverflow" => Err("stack overflow".into()),
        Some(code) => Ok(format!("trap {code}")),
        None => Ok(format!("error {message}")),
    }
}

fn default_for(ty: &Type) -> Option<Value> {
    Some(match ty {
        Type::I32 => Value::I32(0),
        Type::I64 => Value::I64(0),
        Type::F32 => Value::F32(0.0),
        Type::F64 => Value::F64(0.0),
        Type::V128 => Value::V128(0),
        Type::FuncRef => Value::FuncRef(None),
        Type::ExternRef => Value::ExternRef(None),
        Type::ExceptionRef => Value::ExceptionRef(None),
    })
}

fn to_value(arg: &Arg) -> Value {
    match *arg {
        Arg::I32(v) => Value::I32(v),
        Arg::I64(v) => Value::I64(v),
        Arg::F32(v) => Value::F32(v),
        Arg::F64(v) => Value::F64(v),
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::I32(v) => format!("i32:{v}"),
        Value::I64(v) => format!("i64:{v}"),
        Value::F32(v) => observe::f32_bits(v.to_bits()),
        Value::F64(v) => observe::f64_bits(v.to_bits()),
        Value::V128(v) => format!("v128:{v:#x}"),
        Value::FuncRef(f) => if f.is_none() {
            "funcref:null"
        } else {
            "funcref"
        }
        .into(),
        Value::ExternRef(r) => if r.is_none() {
            "externref:null"
        } else {
            "externref"
        }
        .into(),
        Value::ExceptionRef(r) => if r.is_none() { "exnref:null" } else { "exnref" }.into(),
    }
}

fn state(store: &mut Store, module: &Module, instance: &Instance) -> String {
    let mut parts = Vec::new();
    for export in module.exports() {
        let name = export.name();
        if name == BUDGET_EXPORT {
            continue;
        }
        match instance.exports.get_extern(name) {
            Some(Extern::Global(g)) => parts.push(format!("{name}={}", show(&g.get(store)))),
            Some(Extern::Memory(m)) => {
                let data = m.view(store).copy_to_vec().unwrap_or_default();
                parts.push(format!("{name}={}:{:x}", data.len(), observe::hash(&data)));
            }
            Some(Extern::Table(t)) => parts.push(format!("{name}=table[{}]", t.size(store))),
            _ => {}
        }
    }
    format!("state: {}", parts.join(" "))
}
