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
