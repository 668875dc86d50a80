use funk::{GuestError, GuestView, Lift};

/// A port number, checked to fit in 16 bits. It implements `Lift` but not
/// `LiftAsync`, so synchronous host functions accept it and async ones don't.
#[derive(Clone, Copy)]
struct Port(u16);

impl<'a, S> Lift<'a, S> for Port {
    type Abi = u32;
    const MEMORY: bool = false;
    fn lift(_: &'a GuestView<'_>, _: &mut S, raw: u32) -> Result<Self, GuestError> {
        u16::try_from(raw).map(Port).map_err(|_| GuestError::Custom(format!("port {raw}")))
    }
}

struct State;

#[funk::host_functions(namespace = "net")]
impl State {
    async fn connect(&mut self, port: Port) -> u32 {
        port.0.into()
    }
}

fn main() {}
