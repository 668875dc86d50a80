// A status error is one code per variant: no fields, no structs.
#[derive(funk::HostError)]
enum Errno {
    NoEnt,
    Other(i32),
}

#[derive(funk::HostError)]
struct Code(i32);

fn main() {}
