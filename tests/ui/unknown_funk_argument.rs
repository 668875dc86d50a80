struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    #[funk(rename = "x")]
    fn ping(&self) {}
}

fn main() {}
