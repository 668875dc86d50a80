//! One driver per engine with the same surface, so every conformance case
//! runs on every enabled engine: write the test once inside `each_engine!`
//! and it is compiled twice, once against each `Guest`.
#![allow(dead_code)]

pub mod asynchronous;

/// A wasm value passed to or returned from a guest export.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
}

impl Val {
    pub fn i32(self) -> i32 {
        match self {
            Val::I32(v) => v,
            other => panic!("expected i32, got {other:?}"),
        }
    }
    pub fn i64(self) -> i64 {
        match self {
            Val::I64(v) => v,
            other => panic!("expected i64, got {other:?}"),
        }
    }
}

/// Expands the items once per enabled engine, in modules `on_wasmtime` and
/// `on_wasmer`, with `Guest` naming that engine's driver.
#[macro_export]
macro_rules! each_engine {
    ($($body:tt)*) => {
        #[cfg(feature = "wasmtime")]
        mod on_wasmtime {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::common::wasmtime_guest::Guest;
            #[allow(unused_imports)]
            use $crate::common::asynchronous::wasmtime_async::AsyncGuest;
            $($body)*
        }
        #[cfg(feature = "wasmer")]
        mod on_wasmer {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::common::wasmer_guest::Guest;
            #[allow(unused_imports)]
            use $crate::common::asynchronous::wasmer_async::AsyncGuest;
            $($body)*
        }
    };
}

/// The message of a failed guest call: funk's `Trap` when there is one,
/// otherwise the engine's own error text.
fn message(trap: Option<&funk::Trap>, engine_error: impl std::fmt::Display) -> String {
    match trap {
        Some(trap) => trap.to_string(),
        None => engine_error.to_string(),
    }
}

#[cfg(feature = "wasmtime")]
pub mod wasmtime_guest {
    use super::Val;
    use funk::__private::HostFunctions;
    use funk::wasmtime::{Host, Linking, bind_memory, link};
    use wasmtime::{Engine, Instance, Linker, Module, Store};

    pub type Getter<S> = fn(&mut Host<S>) -> &mut S;

    pub fn state_of<S>(host: &mut Host<S>) -> &mut S {
        &mut host.state
    }

    /// The test's values as Wasmtime's.
    pub fn to_engine(args: &[Val]) -> Vec<wasmtime::Val> {
        args.iter()
            .map(|v| match *v {
                Val::I32(v) => wasmtime::Val::I32(v),
                Val::I64(v) => wasmtime::Val::I64(v),
                Val::F32(v) => wasmtime::Val::F32(v.to_bits()),
                Val::F64(v) => wasmtime::Val::F64(v.to_bits()),
            })
            .collect()
    }

    /// Wasmtime's results as the test's values.
    pub fn from_engine(results: &[wasmtime::Val]) -> Vec<Val> {
        results
            .iter()
            .map(|v| match v {
                wasmtime::Val::I32(v) => Val::I32(*v),
                wasmtime::Val::I64(v) => Val::I64(*v),
                wasmtime::Val::F32(v) => Val::F32(f32::from_bits(*v)),
                wasmtime::Val::F64(v) => Val::F64(f64::from_bits(*v)),
                other => panic!("unexpected result {other:?}"),
            })
            .collect()
    }

    /// The message of a failed call: funk's `Trap`, or Wasmtime's error.
    pub fn message_of(error: wasmtime::Error) -> String {
        super::message(error.downcast_ref::<funk::Trap>(), format!("{error:#}"))
    }

    /// One instance of a WAT module in its own Wasmtime store.
    pub struct Guest<S: 'static> {
        pub store: Store<Host<S>>,
        pub instance: Instance,
    }

    impl<S: Send + 'static> Guest<S> {
        pub const ENGINE: &'static str = "wasmtime";

        /// Instantiates `wat` with the functions of `S` linked.
        pub fn new(wat: &str, state: S) -> Self
        where
            S: for<'l> HostFunctions<Linking<'l, Host<S>, S, Getter<S>>>,
        {
            Self::try_new(wat, state).unwrap()
        }

        pub fn try_new(wat: &str, state: S) -> Result<Self, String>
        where
            S: for<'l> HostFunctions<Linking<'l, Host<S>, S, Getter<S>>>,
        {
            let engine = Engine::default();
            let module = Module::new(&engine, wat).map_err(|e| format!("{e:#}"))?;
            let mut linker = Linker::new(&engine);
            link(&mut linker, state_of::<S> as Getter<S>).map_err(|e| e.to_string())?;
            let mut store = Store::new(&engine, Host::new(state));
            let instance = linker
                .instantiate(&mut store, &module)
                .map_err(|e| format!("{e:#}"))?;
            // Modules without a memory are allowed: calls that need one trap.
            let _ = bind_memory(&mut store, &instance);
            Ok(Guest { store, instance })
        }

        /// Calls export `name`; an error is the trap message.
        pub fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, String> {
            let func = self
                .instance
                .get_func(&mut self.store, name)
                .unwrap_or_else(|| panic!("no export {name}"));
            let count = func.ty(&self.store).results().len();
            let mut results = vec![wasmtime::Val::I32(0); count];
            func.call(&mut self.store, &to_engine(args), &mut results)
                .map(|()| from_engine(&results))
                .map_err(message_of)
        }

        pub fn state(&mut self) -> &mut S {
            &mut self.store.data_mut().state
        }

        /// Copies `len` bytes of guest memory at `at`.
        pub fn read(&mut self, at: u32, len: usize) -> Vec<u8> {
            let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
            memory.data(&self.store)[at as usize..][..len].to_vec()
        }

        /// Copies `bytes` into guest memory at `at`.
        pub fn write(&mut self, at: u32, bytes: &[u8]) {
            let memory = self.instance.get_memory(&mut self.store, "memory").unwrap();
            memory.write(&mut self.store, at as usize, bytes).unwrap();
        }
    }
}

#[cfg(feature = "wasmer")]
pub mod wasmer_guest {
    use super::Val;
    use funk::__private::HostFunctions;
    use funk::wasmer::{Host, Linking, bind_memory, link};
    use wasmer::{FunctionEnv, Imports, Instance, Module, Store, Value};

    pub type Getter<S> = fn(&mut Host<S>) -> &mut S;

    fn state_of<S>(host: &mut Host<S>) -> &mut S {
        &mut host.state
    }

    /// One instance of a WAT module in its own Wasmer store.
    pub struct Guest<S: Send + 'static> {
        pub store: Store,
        pub env: FunctionEnv<Host<S>>,
        pub instance: Instance,
    }

    impl<S: Send + 'static> Guest<S> {
        pub const ENGINE: &'static str = "wasmer";

        /// Instantiates `wat` with the functions of `S` linked.
        pub fn new(wat: &str, state: S) -> Self
        where
            S: for<'l> HostFunctions<Linking<'l, Host<S>, S, Getter<S>, Store>>,
        {
            Self::try_new(wat, state).unwrap()
        }

        pub fn try_new(wat: &str, state: S) -> Result<Self, String>
        where
            S: for<'l> HostFunctions<Linking<'l, Host<S>, S, Getter<S>, Store>>,
        {
            let mut store = Store::default();
            let module = Module::new(&store, wat).map_err(|e| e.to_string())?;
            let env = FunctionEnv::new(&mut store, Host::new(state));
            let mut imports = Imports::new();
            link(&mut store, &env, &mut imports, state_of::<S> as Getter<S>)
                .map_err(|e| e.to_string())?;
            let instance =
                Instance::new(&mut store, &module, &imports).map_err(|e| e.to_string())?;
            // Modules without a memory are allowed: calls that need one trap.
            let _ = bind_memory(&mut store, &env, &instance);
            Ok(Guest {
                store,
                env,
                instance,
            })
        }

        /// Calls export `name`; an error is the trap message.
        pub fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, String> {
            let func = self
                .instance
                .exports
                .get_function(name)
                .unwrap_or_else(|_| panic!("no export {name}"))
                .clone();
            let params: Vec<Value> = args
                .iter()
                .map(|v| match *v {
                    Val::I32(v) => Value::I32(v),
                    Val::I64(v) => Value::I64(v),
                    Val::F32(v) => Value::F32(v),
                    Val::F64(v) => Value::F64(v),
                })
                .collect();
            match func.call(&mut self.store, &params) {
                Ok(results) => Ok(results
                    .iter()
                    .map(|v| match v {
                        Value::I32(v) => Val::I32(*v),
                        Value::I64(v) => Val::I64(*v),
                        Value::F32(v) => Val::F32(*v),
                        Value::F64(v) => Val::F64(*v),
                        other => panic!("unexpected result {other:?}"),
                    })
                    .collect()),
                Err(e) => Err(super::message(e.downcast_ref::<funk::Trap>(), &e)),
            }
        }

        pub fn state(&mut self) -> &mut S {
            &mut self.env.as_mut(&mut self.store).state
        }

        /// Copies `len` bytes of guest memory at `at`.
        pub fn read(&mut self, at: u32, len: usize) -> Vec<u8> {
            let memory = self.instance.exports.get_memory("memory").unwrap();
            let mut bytes = vec![0; len];
            memory
                .view(&self.store)
                .read(at.into(), &mut bytes)
                .unwrap();
            bytes
        }

        /// Copies `bytes` into guest memory at `at`.
        pub fn write(&mut self, at: u32, bytes: &[u8]) {
            let memory = self.instance.exports.get_memory("memory").unwrap();
            memory.view(&self.store).write(at.into(), bytes).unwrap();
        }
    }
}

/// An import the generated module declares and re-exports: namespace,
/// name, wasm parameter types, wasm result types.
pub type Sig = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// A module with one page of exported memory that imports each signature
/// and exports a forwarding function `"{namespace}.{name}"` for it, so tests
/// can call any host function with any raw arguments. Writing the expected
/// wasm signature here also pins the ABI: a mismatch fails instantiation.
pub fn forwarding_module(sigs: &[Sig]) -> String {
    let mut wat = String::from("(module\n");
    let list = |kind: &str, types: &[&str]| {
        if types.is_empty() {
            String::new()
        } else {
            format!("({kind} {})", types.join(" "))
        }
    };
    for (i, (ns, name, params, results)) in sigs.iter().enumerate() {
        wat += &format!(
            "  (import \"{ns}\" \"{name}\" (func $f{i} {} {}))\n",
            list("param", params),
            list("result", results)
        );
    }
    wat += "  (memory (export \"memory\") 1)\n";
    for (i, (ns, name, params, results)) in sigs.iter().enumerate() {
        let gets: String = (0..params.len())
            .map(|p| format!("local.get {p} "))
            .collect();
        wat += &format!(
            "  (func (export \"{ns}.{name}\") {} {} {gets}call $f{i})\n",
            list("param", params),
            list("result", results)
        );
    }
    wat + ")"
}
