//! Processes, messages, a request/response server and a supervisor that
//! restarts a crashing child, the way a Lunatic user writes them.

use std::time::Duration;

use lunatic::ap::handlers::{Message, Request};
use lunatic::ap::{AbstractProcess, Config, MessageHandler, ProcessRef, RequestHandler, State};
use lunatic::supervisor::{Supervisor, SupervisorConfig, SupervisorStrategy};
use lunatic::{Mailbox, Process};

/// A counter server.
struct Counter(u64);

impl AbstractProcess for Counter {
    type Arg = u64;
    type State = Counter;
    type Serializer = lunatic::serializer::Bincode;
    type Handlers = (Message<Add>, Request<Get>, Message<Crash>);
    type StartupError = ();

    fn init(_: Config<Self>, start: u64) -> Result<Counter, ()> {
        println!("  counter starts at {start}");
        Ok(Counter(start))
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Add(u64);
impl MessageHandler<Add> for Counter {
    fn handle(mut state: State<Self>, Add(n): Add) {
        state.0 += n;
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Get;
impl RequestHandler<Get> for Counter {
    type Response = u64;
    fn handle(state: State<Self>, _: Get) -> u64 {
        state.0
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Crash;
impl MessageHandler<Crash> for Counter {
    fn handle(_: State<Self>, _: Crash) {
        panic!("the counter was asked to crash");
    }
}

struct Sup;
impl Supervisor for Sup {
    type Arg = ();
    type Children = (Counter,);

    fn init(config: &mut SupervisorConfig<Self>, _: ()) {
        config.set_strategy(SupervisorStrategy::OneForOne);
        config.set_args((100,));
        config.set_names((Some("counter".to_owned()),));
    }
}

#[lunatic::main]
fn main(mailbox: Mailbox<String>) {
    println!("1. ping-pong between processes");
    let pong = Process::spawn(mailbox.this(), |parent, pings: Mailbox<u32>| loop {
        let n = pings.receive();
        parent.send(format!("pong {n}"));
    });
    for n in 1..=3 {
        pong.send(n);
        println!("  {}", mailbox.receive());
    }

    println!("2. a supervised counter server");
    let _supervisor = Sup::link().start(()).unwrap();
    let counter = ProcessRef::<Counter>::lookup(&"counter").unwrap();
    counter.send(Add(5));
    println!("  counter = {}", counter.request(Get));

    println!("3. the counter crashes; its supervisor restarts it");
    counter.send(Crash);
    loop {
        lunatic::sleep(Duration::from_millis(10));
        if let Some(restarted) = ProcessRef::<Counter>::lookup(&"counter") {
            if restarted.id() != counter.id() {
                println!("  restarted counter = {}", restarted.request(Get));
                break;
            }
        }
    }
    println!("done");
}
