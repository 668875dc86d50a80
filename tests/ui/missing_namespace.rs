struct State;

#[funk::host_functions]
impl State {
    fn ping(&self) {}
}

fn main() {}
