#[derive(Clone, Copy, funk::Plain)]
#[repr(C)]
struct Header {
    a: u8,
    b: u32,
}

fn main() {}
