// Async host functions accept iovecs as `&[IoSlice]` and `&mut [IoSliceMut]`,
// exactly like synchronous ones; a shared slice of mutable iovecs is neither.
use std::io::IoSliceMut;

struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    async fn read(&mut self, bufs: &[IoSliceMut<'_>]) -> u32 {
        bufs.len() as u32
    }
}

fn main() {}
