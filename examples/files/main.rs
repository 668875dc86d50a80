//! An in-memory file system exposed to a guest, run on every engine the
//! build enables:
//!
//! ```sh
//! cargo run --example files                                         # Wasmtime
//! cargo run --example files --no-default-features --features wasmer # Wasmer
//! cargo run --example files --all-features                          # both
//! ```
//!
//! The guest opens `/hello`, reads it with a two-buffer iovec, closes it,
//! tries a missing file (status code), then passes a pointer past the end of
//! its memory (trap).
//!
//! The host API is in `api.rs`; the guest here is WAT, so every pointer is
//! visible. A Rust guest gets the same calls from generated bindings
//! (README "Guest bindings"; tests/bindings/guest/src/readme.rs is that
//! guest, built and run by tests/guest_bindings.rs).

mod api;

use api::Files;

const GUEST: &str = r#"(module
  (import "fs" "open" (func $open (param i32 i32 i32) (result i32)))
  (import "fs" "read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "fs" "close" (func $close (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x100) "/hello")
  (data (i32.const 0x110) "/missing")
  ;; iovecs at 0x300: {0x400, 5} {0x500, 64}
  (data (i32.const 0x300) "\00\04\00\00\05\00\00\00\00\05\00\00\40\00\00\00")

  ;; Returns the number of bytes read from /hello.
  (func (export "read_hello") (result i32)
    (local $fd i32)
    (if (call $open (i32.const 0x100) (i32.const 6) (i32.const 0x200))
      (then unreachable))
    (local.set $fd (i32.load (i32.const 0x200)))
    (if (call $read (local.get $fd) (i32.const 0x300) (i32.const 2) (i32.const 0x204))
      (then unreachable))
    (call $close (local.get $fd))
    (i32.load (i32.const 0x204)))

  ;; Returns the errno of opening /missing.
  (func (export "open_missing") (result i32)
    (call $open (i32.const 0x110) (i32.const 8) (i32.const 0x200)))

  ;; Passes a path that runs off the end of memory.
  (func (export "open_out_of_bounds") (result i32)
    (call $open (i32.const 0xfffc) (i32.const 8) (i32.const 0x200))))"#;

/// What the guest saw, read back from its memory.
fn report(engine: &str, nread: u32, memory: &[u8], missing: i32, trap: String) {
    let first = String::from_utf8_lossy(&memory[0x400..0x405]);
    let rest = String::from_utf8_lossy(&memory[0x500..0x500 + nread as usize - 5]);
    println!("[{engine}] read {nread} bytes: {first:?} + {rest:?}");
    println!("[{engine}] open(\"/missing\") -> errno {missing}");
    println!("[{engine}] open(out of bounds) -> trap: {trap}");
}

#[cfg(feature = "wasmtime")]
fn on_wasmtime() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use funk::wasmtime::{Host, bind_memory, link};
    use wasmtime::{Engine, Linker, Module, Store};

    let engine = Engine::default();
    let module = Module::new(&engine, GUEST)?;
    let mut linker = Linker::new(&engine);
    link(&mut linker, |host: &mut Host<Files>| &mut host.state)?;
    let mut store = Store::new(&engine, Host::new(Files::with_hello()));
    let instance = linker.instantiate(&mut store, &module)?;
    let memory = bind_memory(&mut store, &instance)?;

    let nread = instance
        .get_typed_func::<(), u32>(&mut store, "read_hello")?
        .call(&mut store, ())?;
    let missing = instance
        .get_typed_func::<(), i32>(&mut store, "open_missing")?
        .call(&mut store, ())?;
    let trap = instance
        .get_typed_func::<(), i32>(&mut store, "open_out_of_bounds")?
        .call(&mut store, ())
        .expect_err("out-of-bounds path must trap");
    let trap = trap.downcast_ref::<funk::Trap>().expect("a funk trap");
    report(
        "wasmtime",
        nread,
        memory.data(&store),
        missing,
        trap.to_string(),
    );
    Ok(())
}

#[cfg(feature = "wasmer")]
fn on_wasmer() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use funk::wasmer::{Host, bind_memory, link};
    use wasmer::{FunctionEnv, Imports, Instance, Module, Store, TypedFunction};

    let mut store = Store::default();
    let module = Module::new(&store, GUEST)?;
    let env = FunctionEnv::new(&mut store, Host::new(Files::with_hello()));
    let mut imports = Imports::new();
    link(&mut store, &env, &mut imports, |host: &mut Host<Files>| {
        &mut host.state
    })?;
    let instance = Instance::new(&mut store, &module, &imports)?;
    let memory = bind_memory(&mut store, &env, &instance)?;

    let read_hello: TypedFunction<(), u32> =
        instance.exports.get_typed_function(&store, "read_hello")?;
    let nread = read_hello.call(&mut store)?;
    let open_missing: TypedFunction<(), i32> = instance
        .exports
        .get_typed_function(&store, "open_missing")?;
    let missing = open_missing.call(&mut store)?;
    let open_oob: TypedFunction<(), i32> = instance
        .exports
        .get_typed_function(&store, "open_out_of_bounds")?;
    let trap = open_oob
        .call(&mut store)
        .expect_err("out-of-bounds path must trap");
    let trap = trap.downcast_ref::<funk::Trap>().expect("a funk trap");
    let bytes = memory.view(&store).copy_to_vec()?;
    report("wasmer", nread, &bytes, missing, trap.to_string());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    #[cfg(feature = "wasmtime")]
    on_wasmtime()?;
    #[cfg(feature = "wasmer")]
    on_wasmer()?;
    Ok(())
}
