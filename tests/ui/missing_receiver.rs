struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn version() -> u32 {
        1
    }
}

fn main() {}
