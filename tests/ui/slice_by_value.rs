struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn sum(&self, data: [u8]) -> u32 {
        data.len() as u32
    }
}

fn main() {}
