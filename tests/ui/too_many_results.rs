// A user result type with three wasm results; the engines' typed host
// functions return at most two, so linking must fail to compile.

use funk::{LowerCx, ReturnValue, Trap};

struct Rgb(u32, u32, u32);

impl<S> ReturnValue<S> for Rgb {
    type Results = (u32, (u32, (u32, ())));
    type OutPtrs = ();
    const MEMORY: bool = false;
    fn lower(self, _: &mut LowerCx<'_, '_, S>, (): ()) -> Result<Self::Results, Trap> {
        Ok((self.0, (self.1, (self.2, ()))))
    }
}

struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn color(&self) -> Rgb {
        Rgb(1, 2, 3)
    }
}

fn main() {
    let engine = wasmtime::Engine::default();
    let mut linker = wasmtime::Linker::new(&engine);
    funk::wasmtime::link(&mut linker, |h: &mut funk::wasmtime::Host<State>| {
        &mut h.state
    })
    .unwrap();
}
