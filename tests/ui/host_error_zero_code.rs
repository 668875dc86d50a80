// Status code 0 means success: a variant that lowers to 0 would tell the
// guest the call worked. The implicit first discriminant is 0.
#[derive(funk::HostError)]
enum Errno {
    Interrupted,
    NoEnt = 44,
}

fn main() {}
