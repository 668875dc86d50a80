//! Several instances and one set of host functions: every call reaches the
//! memory of the instance that made it, never another's. Wasmtime resolves
//! the calling instance's memory per call (by index after `bind_memory`);
//! `pin_memory` is the explicit opt-in for one-instance stores. Wasmer tells
//! a host function only its environment, so an environment refuses to be
//! bound to a second instance's memory.

/// The byte at `ptr` in the caller's memory.
struct Peek;

#[funk::host_functions(namespace = "env")]
impl Peek {
    fn peek(&mut self, byte: &u8) -> u32 {
        u32::from(*byte)
    }
}

/// A module whose memory holds `byte` at address 8.
fn module(byte: u8) -> String {
    format!(
        r#"(module
            (import "env" "peek" (func $peek (param i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 8) "\{byte:02x}")
            (func (export "run") (result i32) (call $peek (i32.const 8))))"#
    )
}

#[cfg(feature = "wasmtime")]
mod on_wasmtime {
    use super::*;
    use funk::wasmtime::{Host, bind_memory, link, pin_memory};
    use wasmtime::{Engine, Instance, Linker, Module, Store};

    fn run(store: &mut Store<Host<Peek>>, instance: &Instance) -> u32 {
        let run = instance
            .get_typed_func::<(), u32>(&mut *store, "run")
            .unwrap();
        run.call(&mut *store, ()).unwrap()
    }

    /// Two instances of one module and one of another, in one store.
    fn three(engine: &Engine) -> (Store<Host<Peek>>, [Instance; 3]) {
        let mut linker = Linker::new(engine);
        link(&mut linker, |host: &mut Host<Peek>| &mut host.state).unwrap();
        let twin = Module::new(engine, module(0x11)).unwrap();
        let other = Module::new(engine, module(0x33)).unwrap();
        let mut store = Store::new(engine, Host::new(Peek));
        let a = linker.instantiate(&mut store, &twin).unwrap();
        let b = linker.instantiate(&mut store, &twin).unwrap();
        let c = linker.instantiate(&mut store, &other).unwrap();
        // b's memory differs from a's although both come from one module.
        b.get_memory(&mut store, "memory")
            .unwrap()
            .data_mut(&mut store)[8] = 0x22;
        (store, [a, b, c])
    }

    #[test]
    fn each_call_uses_its_own_instances_memory() {
        let engine = Engine::default();
        // Unbound: by name. Bound to each instance in turn: by index, still
        // per caller.
        for bind in [&[][..], &[0, 1, 2][..], &[2][..], &[1][..]] {
            let (mut store, instances) = three(&engine);
            for &i in bind {
                bind_memory(&mut store, &instances[i]).unwrap();
            }
            let seen: Vec<u32> = instances.iter().map(|i| run(&mut store, i)).collect();
            assert_eq!(seen, [0x11, 0x22, 0x33], "bound {bind:?}");
        }
    }

    #[test]
    fn pinning_is_the_explicit_one_instance_opt_in() {
        let engine = Engine::default();
        let (mut store, [a, b, _]) = three(&engine);
        pin_memory(&mut store, &a).unwrap();
        assert_eq!(run(&mut store, &a), 0x11);
        // What the docs warn about: with a pinned memory a second instance's
        // calls reach the first one's memory.
        assert_eq!(run(&mut store, &b), 0x11);
        // bind_memory undoes the pin.
        bind_memory(&mut store, &a).unwrap();
        assert_eq!(run(&mut store, &b), 0x22);
    }
}

#[cfg(feature = "wasmer")]
mod on_wasmer {
    use super::*;
    use funk::MemoryUnavailable;
    use funk::wasmer::{Host, bind_memory, link};
    use wasmer::{FunctionEnv, Imports, Instance, Module, Store};

    fn run(store: &mut Store, instance: &Instance) -> u32 {
        let run = instance
            .exports
            .get_typed_function::<(), u32>(&*store, "run")
            .unwrap();
        run.call(store).unwrap()
    }

    fn linked(store: &mut Store) -> (FunctionEnv<Host<Peek>>, Imports) {
        let env = FunctionEnv::new(store, Host::new(Peek));
        let mut imports = Imports::new();
        link(store, &env, &mut imports, |host: &mut Host<Peek>| {
            &mut host.state
        })
        .unwrap();
        (env, imports)
    }

    #[test]
    fn an_environment_serves_one_instance() {
        let mut store = Store::default();
        let twin = Module::new(&store, module(0x11)).unwrap();
        let (env, imports) = linked(&mut store);
        let a = Instance::new(&mut store, &twin, &imports).unwrap();
        let b = Instance::new(&mut store, &twin, &imports).unwrap();
        bind_memory(&mut store, &env, &a).unwrap();
        // Binding the same instance again is fine; another one is refused.
        bind_memory(&mut store, &env, &a).unwrap();
        let error = bind_memory(&mut store, &env, &b).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "cannot bind guest memory: {}",
                MemoryUnavailable::AnotherInstance
            )
        );
        assert_eq!(run(&mut store, &a), 0x11);

        // One environment per instance: each call reaches its own memory.
        let (env_b, imports_b) = linked(&mut store);
        let b = Instance::new(&mut store, &twin, &imports_b).unwrap();
        let memory = b.exports.get_memory("memory").unwrap();
        memory.view(&store).write(8, &[0x22]).unwrap();
        bind_memory(&mut store, &env_b, &b).unwrap();
        assert_eq!((run(&mut store, &a), run(&mut store, &b)), (0x11, 0x22));
    }
}
