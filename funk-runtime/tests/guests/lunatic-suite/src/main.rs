//! Scenarios for funk-runtime, written the way a Lunatic user writes them.
//! Each `#[lunatic::test]` is run as its own process by `funk test`; a
//! panic (or a kill) is a failure unless the test says `should_panic`.

mod configs;
mod links;
mod messages;
mod otp;
mod processes;

/// `funk run` of this program prints a greeting and exits with the code
/// given as its first argument.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("lunatic-suite: {} argument(s)", args.len());
    let code = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(0);
    std::process::exit(code);
}
