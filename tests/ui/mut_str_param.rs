struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn upper(&self, text: &mut str) {
        text.make_ascii_uppercase();
    }
}

fn main() {}
