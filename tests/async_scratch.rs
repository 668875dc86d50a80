#![cfg(feature = "wasmtime")]
use funk::wasmtime::{Host, bind_memory, link};
use wasmtime::{Engine, Linker, Module, Store};

struct Sleepy {
    log: Vec<String>,
}

#[funk::host_functions(namespace = "env")]
impl Sleepy {
    async fn shout(&mut self, text: &str, out: &mut [u8]) -> u32 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        self.log.push(text.to_owned());
        for (o, b) in out.iter_mut().zip(text.bytes()) {
            *o = b.to_ascii_uppercase();
        }
        text.len() as u32
    }
    fn count(&self) -> u32 {
        self.log.len() as u32
    }
}

#[tokio::test]
async fn scratch() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
        (import "env" "shout" (func $shout (param i32 i32 i32 i32) (result i32)))
        (import "env" "count" (func $count (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 16) "abc")
        (func (export "run") (result i32)
          (drop (call $shout (i32.const 16) (i32.const 3) (i32.const 32) (i32.const 3)))
          (i32.add (i32.load8_u (i32.const 32)) (i32.mul (call $count) (i32.const 1000)))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    link(&mut linker, |h: &mut Host<Sleepy>| &mut h.state).unwrap();
    let mut store = Store::new(&engine, Host::new(Sleepy { log: vec![] }));
    let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
    bind_memory(&mut store, &instance).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(
        run.call_async(&mut store, ()).await.unwrap(),
        1000 + b'A' as i32
    );
}
