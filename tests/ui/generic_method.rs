struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn echo<T: Copy>(&self, value: T) -> T {
        value
    }
}

fn main() {}
