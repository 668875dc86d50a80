use std::io::IoSlice;

struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    async fn write(&mut self, bufs: &[IoSlice<'_>]) -> u32 {
        bufs.len() as u32
    }
}

fn main() {}
