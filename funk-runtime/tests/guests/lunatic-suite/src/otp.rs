//! AbstractProcess and Supervisor.

use std::time::Duration;

use lunatic::ap::handlers::{Message, Request};
use lunatic::ap::{AbstractProcess, Config, MessageHandler, ProcessRef, RequestHandler, State};
use lunatic::supervisor::{Supervisor, SupervisorConfig, SupervisorStrategy};

/// A counter server.
struct Counter(u64);

impl AbstractProcess for Counter {
    type Arg = u64;
    type State = Counter;
    type Serializer = lunatic::serializer::Bincode;
    type Handlers = (Message<Add>, Request<Get>, Message<Crash>);
    type StartupError = ();

    fn init(_: Config<Self>, start: u64) -> Result<Counter, ()> {
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
        panic!("the counter crashes on request");
    }
}

#[lunatic::test]
fn an_abstract_process_handles_messages_and_requests() {
    let counter = Counter::link().start(10).unwrap();
    counter.send(Add(5));
    counter.send(Add(7));
    assert_eq!(counter.request(Get), 22);
    assert_eq!(counter.with_timeout(Duration::from_secs(5)).request(Get), Ok(22));
}

#[lunatic::test]
fn an_abstract_process_is_found_by_name() {
    Counter::link().start_as(&"suite-counter", 1).unwrap();
    let found = ProcessRef::<Counter>::lookup(&"suite-counter").expect("registered");
    found.send(Add(1));
    assert_eq!(found.request(Get), 2);
}

struct Sup;
impl Supervisor for Sup {
    type Arg = ();
    type Children = (Counter,);

    fn init(config: &mut SupervisorConfig<Self>, _: ()) {
        config.set_strategy(SupervisorStrategy::OneForOne);
        config.set_args((100,));
        config.set_names((Some("suite-supervised".to_owned()),));
    }
}

#[lunatic::test]
fn a_supervisor_restarts_a_child_that_panics() {
    let _sup = Sup::link().start(()).unwrap();
    let child = ProcessRef::<Counter>::lookup(&"suite-supervised").expect("started");
    child.send(Add(1));
    assert_eq!(child.request(Get), 101);
    child.send(Crash);
    // The restarted child starts from its argument again, under the same name.
    for _ in 0..500 {
        if let Some(restarted) = ProcessRef::<Counter>::lookup(&"suite-supervised") {
            if restarted.id() != child.id() {
                assert_eq!(restarted.request(Get), 100);
                return;
            }
        }
        lunatic::sleep(Duration::from_millis(10));
    }
    panic!("the child was not restarted");
}
