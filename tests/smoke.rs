use funk::wasmtime::{Host, bind_memory, link};
use wasmtime::{Engine, Linker, Module, Store};

struct Greeter {
    greeted: Vec<String>,
}

#[funk::host_functions(namespace = "env")]
impl Greeter {
    fn greet(&mut self, name: &str) -> u32 {
        self.greeted.push(name.to_owned());
        self.greeted.len() as u32
    }
    fn boom(&self) {
        panic!("kaboom")
    }
}

#[test]
fn smoke() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
        (import "env" "greet" (func $greet (param i32 i32) (result i32)))
        (import "env" "boom" (func $boom))
        (memory (export "memory") 1)
        (data (i32.const 16) "Ada")
        (func (export "run") (result i32) (call $greet (i32.const 16) (i32.const 3)))
        (func (export "bad") (result i32) (call $greet (i32.const 65530) (i32.const 30)))
        (func (export "boom") (call $boom)))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    link(&mut linker, |host: &mut Host<Greeter>| &mut host.state).unwrap();
    let mut store = Store::new(&engine, Host::new(Greeter { greeted: vec![] }));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    bind_memory(&mut store, &instance).unwrap();
    let run = instance
        .get_typed_func::<(), u32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 1);
    let bad = instance
        .get_typed_func::<(), u32>(&mut store, "bad")
        .unwrap();
    let err = bad.call(&mut store, ()).unwrap_err();
    let trap = err.downcast_ref::<funk::Trap>().unwrap();
    assert_eq!(
        trap.to_string(),
        "env::greet: argument name: range 0xfffa..0x10018 outside memory of 0x10000 bytes"
    );
    let boom = instance
        .get_typed_func::<(), ()>(&mut store, "boom")
        .unwrap();
    let err = boom.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<funk::Trap>().unwrap().to_string(),
        "env::boom: host function panicked: kaboom"
    );
}

/// A key-value block as a newcomer writes it, for the import check.
struct Kv;

#[funk::host_functions(namespace = "kv")]
impl Kv {
    /// The value stored under `key`.
    fn get(&mut self, key: &str) -> Vec<u8> {
        key.as_bytes().to_vec()
    }
    fn len(&mut self, key: &str) -> u32 {
        key.len() as u32
    }
}

/// A guest that forgot `get`'s length out-pointer and misspelled `len`.
const BAD_KV_GUEST: &str = r#"(module
    (import "kv" "get" (func (param i32 i32 i32 i32)))
    (import "kv" "lenght" (func (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1))"#;

const BAD_KV_REPORT: &str = "kv.get expects (key_ptr: i32, key_len: i32, result_ptr: i32, result_cap: i32, result_len_out: i32); the guest declared 4 parameters: result_len_out is missing\n\
    kv.lenght: the host has no function `lenght` in namespace `kv` (it has: get, len)";

#[test]
fn imports_are_checked_in_host_terms_on_wasmtime() {
    let engine = Engine::default();
    let module = Module::new(&engine, BAD_KV_GUEST).unwrap();
    let errors = funk::wasmtime::check_imports::<Kv>(&module).unwrap_err();
    assert_eq!(errors.to_string(), BAD_KV_REPORT);
}

#[cfg(feature = "wasmer")]
#[test]
fn imports_are_checked_in_host_terms_on_wasmer() {
    let store = wasmer::Store::default();
    let module = wasmer::Module::new(&store, BAD_KV_GUEST).unwrap();
    let errors = funk::wasmer::check_imports::<Kv>(&module).unwrap_err();
    assert_eq!(errors.to_string(), BAD_KV_REPORT);
}

#[test]
fn the_interface_describes_each_import_in_host_terms() {
    let interface = funk::describe::Interface::of::<Kv>();
    assert_eq!(
        interface.to_string(),
        "kv.get(key_ptr: i32, key_len: i32, result_ptr: i32, result_cap: i32, result_len_out: i32)\n    \
         fn get(&mut self, key: &str) -> Vec<u8>\n\
         kv.len(key_ptr: i32, key_len: i32) -> result: i32\n    \
         fn len(&mut self, key: &str) -> u32\n"
    );
    assert_eq!(interface.functions[0].docs, "The value stored under `key`.");
}

/// Host functions that opt out of turning panics into traps.
struct Unwinding;

#[funk::host_functions(namespace = "env", panics = "unwind")]
impl Unwinding {
    fn add_one(&mut self, x: i32) -> i32 {
        x.wrapping_add(1)
    }
    fn boom(&mut self) {
        panic!("kaboom")
    }
}

#[test]
fn panics_unwind_opt_in_lets_the_panic_reach_the_embedder() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
        (import "env" "add_one" (func $add_one (param i32) (result i32)))
        (import "env" "boom" (func $boom))
        (func (export "run") (result i32) (call $add_one (i32.const 41)))
        (func (export "boom") (call $boom)))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    link(&mut linker, |host: &mut Host<Unwinding>| &mut host.state).unwrap();
    let mut store = Store::new(&engine, Host::new(Unwinding));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 42);
    let boom = instance
        .get_typed_func::<(), ()>(&mut store, "boom")
        .unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = boom.call(&mut store, ());
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"kaboom"));
}
