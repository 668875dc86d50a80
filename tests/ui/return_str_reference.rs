struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn name(&self) -> &'static str {
        "state"
    }
}

fn main() {}
