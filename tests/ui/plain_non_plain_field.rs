#[derive(Clone, Copy, funk::Plain)]
#[repr(C)]
struct Entry {
    id: u32,
    live: bool,
    _pad: [u8; 3],
}

fn main() {}
