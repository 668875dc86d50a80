struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn size(&self, path: &str) -> Result<u64, std::io::Error> {
        std::fs::metadata(path).map(|m| m.len())
    }
}

fn main() {}
