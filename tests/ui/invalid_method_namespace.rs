struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    #[funk(namespace = "wasi snapshot")]
    fn ping(&self) {}
}

fn main() {}
