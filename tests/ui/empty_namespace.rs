struct State;

#[funk::host_functions(namespace = "")]
impl State {
    fn ping(&self) {}
}

fn main() {}
