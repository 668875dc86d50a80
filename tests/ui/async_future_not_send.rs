use std::rc::Rc;

struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    async fn count(&mut self) -> u32 {
        let shared = Rc::new(1u32);
        std::future::ready(()).await;
        *shared
    }
}

fn main() {}
