// An async method's unsupported parameter type is one error too, at the type,
// with the async message.
use std::collections::HashMap;

struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    async fn count(&mut self, x: u32, map: HashMap<u32, u32>) -> u32 {
        x + map.len() as u32
    }
}

fn main() {}
