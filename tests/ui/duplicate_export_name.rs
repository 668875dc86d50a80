struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    #[funk(name = "x")]
    fn first(&self) {}

    #[funk(name = "x")]
    fn second(&self) {}
}

fn main() {}
