struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    async fn ping(&self) -> u32 {
        0
    }
}

fn main() {}
