//! The [Wasmtime](https://docs.rs/wasmtime) backend of funk.
//!
//! [`link`] defines every function of a `#[host_functions]` block in a
//! [`wasmtime::Linker`]; each becomes a typed Wasmtime host function that
//! calls the generated shim directly.
//!
//! The store data keeps a [`MemorySlot`] (through [`HasMemory`]) that says
//! how a call finds the calling instance's `memory`. Without a binding,
//! each call that needs memory looks the export up by name. After
//! instantiating, [`bind_memory`] makes that an index lookup, still per
//! calling instance, so any number of instances may share a store;
//! [`pin_memory`] removes the lookup for a store that holds exactly one
//! instance (funk's runtime does), at the cost of that rule.
//!
//! ```
//! use funk::wasmtime::{Host, bind_memory, link};
//! use wasmtime::{Engine, Linker, Module, Store};
//!
//! struct Greeter { greeted: Vec<String> }
//!
//! #[funk::host_functions(namespace = "env")]
//! impl Greeter {
//!     fn greet(&mut self, name: &str) -> u32 {
//!         self.greeted.push(name.to_owned());
//!         self.greeted.len() as u32
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module
//!     (import "env" "greet" (func $greet (param i32 i32) (result i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 16) "Ada")
//!     (func (export "run") (result i32) (call $greet (i32.const 16) (i32.const 3))))"#)?;
//! let mut linker = Linker::new(&engine);
//! link(&mut linker, |host: &mut Host<Greeter>| &mut host.state)?;
//! let mut store = Store::new(&engine, Host::new(Greeter { greeted: vec![] }));
//! let instance = linker.instantiate(&mut store, &module)?;
//! bind_memory(&mut store, &instance)?;
//! let run = instance.get_typed_func::<(), u32>(&mut store, "run")?;
//! assert_eq!(run.call(&mut store, ())?, 1);
//! assert_eq!(store.data().state.greeted, ["Ada"]);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod define;
mod define_async;
mod dynamic;
mod imports;
mod memory;
mod results;

pub use define::{Linking, link};
pub use imports::{check_imports, check_interface, module_imports};
pub use memory::{BindError, HasMemory, Host, MemorySlot, bind_memory, pin_memory};
pub use results::NativeResults;
