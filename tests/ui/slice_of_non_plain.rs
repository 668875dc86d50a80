#[derive(Clone, Copy)]
#[repr(C)]
struct Point {
    x: i32,
    y: i32,
}

struct State;

#[funk::host_functions(namespace = "env")]
impl State {
    fn draw(&mut self, points: &[Point]) -> u32 {
        points.len() as u32
    }
}

fn main() {}
