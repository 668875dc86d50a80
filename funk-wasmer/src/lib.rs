//! The [Wasmer](https://docs.rs/wasmer) backend of funk.
//!
//! [`link`] defines every function of a `#[host_functions]` block in a
//! [`wasmer::Imports`]; each becomes a typed Wasmer host function over a
//! [`wasmer::FunctionEnv`] that calls the generated shim directly.
//!
//! Wasmer host functions cannot ask the calling instance for its exports, so
//! the environment keeps a [`MemorySlot`] (through [`HasMemory`]) that
//! [`bind_memory`] fills after instantiation. A call that needs memory
//! before that traps with "no guest memory is bound to this store".
//!
//! ```
//! use funk::wasmer::{Host, bind_memory, link};
//! use wasmer::{FunctionEnv, Imports, Instance, Module, Store, TypedFunction};
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
//! let mut store = Store::default();
//! let module = Module::new(&store, r#"(module
//!     (import "env" "greet" (func $greet (param i32 i32) (result i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 16) "Ada")
//!     (func (export "run") (result i32) (call $greet (i32.const 16) (i32.const 3))))"#)?;
//! let env = FunctionEnv::new(&mut store, Host::new(Greeter { greeted: vec![] }));
//! let mut imports = Imports::new();
//! link(&mut store, &env, &mut imports, |host: &mut Host<Greeter>| &mut host.state)?;
//! let instance = Instance::new(&mut store, &module, &imports)?;
//! bind_memory(&mut store, &env, &instance)?;
//! let run: TypedFunction<(), u32> = instance.exports.get_typed_function(&store, "run")?;
//! assert_eq!(run.call(&mut store)?, 1);
//! assert_eq!(env.as_ref(&store).state.greeted, ["Ada"]);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod define;
mod define_async;
mod dynamic;
mod guest_thread;
mod imports;
mod memory;
mod results;

pub use define::{Keep, Linking, link, link_filtered};
pub use guest_thread::{GuestCall, GuestThread};
pub use imports::{check_imports, check_interface, module_imports};
pub use memory::{BindError, HasMemory, Host, MemorySlot, bind_memory};
pub use results::NativeResults;
