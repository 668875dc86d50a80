struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn show(&self, value: impl std::fmt::Display) {
        println!("{value}");
    }
}

fn main() {}
