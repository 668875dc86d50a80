struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn finish(self) -> u32 {
        0
    }
}

fn main() {}
