struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn open(&mut self, path: &str) -> std::fs::File {
        std::fs::File::open(path).unwrap()
    }
}

fn main() {}
