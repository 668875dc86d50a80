// Each unsupported parameter type is one error, at the type: nothing about
// the shims, the ABI lists or the engines follows from it.
use std::collections::HashMap;

struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn count(&mut self, map: HashMap<u32, u32>) -> u32 {
        map.len() as u32
    }

    fn add(&mut self, x: u32, map: &HashMap<u32, u32>) -> u32 {
        x + map.len() as u32
    }

    fn both(&mut self, map: HashMap<u32, u32>, bytes: &[u8]) {
        let _ = (map, bytes);
    }
}

fn main() {}
