//! Async drivers with one surface per engine: `AsyncGuest::new(wat, state)`
//! instantiates, `call(name, args)` returns the future of one guest call,
//! `with_state(f)` reaches the host state between calls.

#[cfg(feature = "wasmtime")]
pub mod wasmtime_async {
    use crate::common::Val;
    use crate::common::wasmtime_guest::{Getter, from_engine, message_of, state_of, to_engine};
    use funk::__private::HostFunctions;
    use funk::wasmtime::{Host, Linking, bind_memory, link};
    use std::future::Future;
    use wasmtime::{Engine, Instance, Linker, Module, Store};

    pub struct AsyncGuest<S: 'static> {
        pub store: Store<Host<S>>,
        pub instance: Instance,
    }

    impl<S: Send + 'static> AsyncGuest<S> {
        pub const ENGINE: &'static str = "wasmtime";

        pub async fn new(wat: &str, state: S) -> Self
        where
            S: for<'l> HostFunctions<Linking<'l, Host<S>, S, Getter<S>>>,
        {
            let engine = Engine::default();
            let module = Module::new(&engine, wat).unwrap();
            let mut linker = Linker::new(&engine);
            link(&mut linker, state_of::<S> as Getter<S>).unwrap();
            let mut store = Store::new(&engine, Host::new(state));
            let instance = linker.instantiate_async(&mut store, &module).await.unwrap();
            let _ = bind_memory(&mut store, &instance);
            AsyncGuest { store, instance }
        }

        /// The future of one call of export `name`; an error is the trap
        /// message.
        pub fn call(
            &mut self,
            name: &str,
            args: &[Val],
        ) -> impl Future<Output = Result<Vec<Val>, String>> + Send + '_ {
            let func = self
                .instance
                .get_func(&mut self.store, name)
                .unwrap_or_else(|| panic!("no export {name}"));
            let params = to_engine(args);
            let count = func.ty(&self.store).results().len();
            async move {
                let mut results = vec![wasmtime::Val::I32(0); count];
                func.call_async(&mut self.store, &params, &mut results)
                    .await
                    .map(|()| from_engine(&results))
                    .map_err(message_of)
            }
        }

        pub async fn with_state<R: Send + 'static>(
            &mut self,
            f: impl FnOnce(&mut S) -> R + Send + 'static,
        ) -> R {
            f(&mut self.store.data_mut().state)
        }
    }
}

#[cfg(feature = "wasmer")]
pub mod wasmer_async {
    use crate::common::Val;
    use crate::common::wasmer_guest::{Getter, Guest};
    use funk::__private::HostFunctions;
    use funk::wasmer::{GuestThread, Host, Linking};
    use std::future::Future;
    use wasmer::Store;

    pub struct AsyncGuest<S: Send + 'static> {
        pub thread: GuestThread<Guest<S>>,
    }

    impl<S: Send + 'static> AsyncGuest<S> {
        pub const ENGINE: &'static str = "wasmer";

        pub async fn new(wat: &str, state: S) -> Self
        where
            S: for<'l> HostFunctions<Linking<'l, Host<S>, S, Getter<S>, Store>>,
        {
            let wat = wat.to_owned();
            let thread = GuestThread::spawn(move || Guest::try_new(&wat, state))
                .await
                .unwrap();
            AsyncGuest { thread }
        }

        /// The future of one call of export `name` on the guest thread; an
        /// error is the trap message.
        pub fn call(
            &mut self,
            name: &str,
            args: &[Val],
        ) -> impl Future<Output = Result<Vec<Val>, String>> + Send + '_ {
            let (name, args) = (name.to_owned(), args.to_vec());
            self.thread.call(move |guest| guest.call(&name, &args))
        }

        pub async fn with_state<R: Send + 'static>(
            &mut self,
            f: impl FnOnce(&mut S) -> R + Send + 'static,
        ) -> R {
            self.thread.call(move |guest| f(guest.state())).await
        }
    }
}
