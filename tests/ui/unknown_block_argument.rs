use funk::host_functions;

struct State;

#[host_functions(nmspace = "x")]
impl State {
    fn ping(&self) {}
}

fn main() {}
