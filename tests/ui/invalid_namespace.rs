struct State;

#[funk::host_functions(namespace = "my env")]
impl State {
    fn ping(&self) {}
}

fn main() {}
