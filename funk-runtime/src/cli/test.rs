//! Test mode: each `#[lunatic::test]` of a test binary as its own process.
//!
//! The guest crate exports every test as a function named
//! `#lunatic_test_[#ignore_][#panic_<expected>#]<module path>::<name>`
//! (a `#` inside `<expected>` is escaped as `\#`). Each selected test runs
//! in a node of its own (its own processes and registry), with its output
//! (and its children's) captured unless `--nocapture` is given.

use std::time::Instant;

use funk_runtime::{Module, ProcessConfig, Runtime, Spawn, Stdio};
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::libtest::{Finished, Report, Status, TestArgs, panic_message};

const PREFIX: &str = "#lunatic_test_";

/// A test found among the module's exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFunction {
    /// The export to call.
    pub export: String,
    /// `module::path::name`.
    pub name: String,
    /// `#[ignore]`.
    pub ignored: bool,
    /// `#[should_panic]`, with the expected substring ("" for any panic).
    pub should_panic: Option<String>,
}

/// Decodes one export name; `None` if it is not a test.
pub fn parse_export(export: &str) -> Option<TestFunction> {
    let mut rest = export.strip_prefix(PREFIX)?;
    let ignored = match rest.strip_prefix("#ignore_") {
        Some(after) => {
            rest = after;
            true
        }
        None => false,
    };
    let mut should_panic = None;
    if let Some(after) = rest.strip_prefix("#panic_") {
        let mut expected = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' if after[i + 1..].starts_with('#') => {
                    expected.push('#');
                    chars.next();
                }
                '#' => {
                    end = Some(i);
                    break;
                }
                c => expected.push(c),
            }
        }
        rest = &after[end? + 1..];
        should_panic = Some(expected);
    }
    Some(TestFunction {
        export: export.to_owned(),
        name: rest.to_owned(),
        ignored,
        should_panic,
    })
}

/// Runs the selected tests; returns the exit code (101 if any failed).
pub async fn run_tests(
    runtime: &Runtime,
    module: &Module,
    config: ProcessConfig,
    args: &[String],
) -> Result<i32, String> {
    let args = TestArgs::parse(args);
    let mut tests: Vec<TestFunction> = module
        .function_names()
        .iter()
        .filter_map(|name| parse_export(name))
        .collect();
    tests.sort_by(|a, b| a.name.cmp(&b.name));
    let total = tests.len();
    let selected: Vec<TestFunction> = tests
        .into_iter()
        .filter(|t| args.selects(&t.name))
        .filter(|t| !args.ignored || t.ignored)
        .collect();
    let filtered_out = total - selected.len();
    if args.list {
        for test in &selected {
            println!("{}: test", test.name);
        }
        if !args.terse {
            println!("\n{} tests, 0 benchmarks", selected.len());
        }
        return Ok(0);
    }
    let started = Instant::now();
    let mut report = Report::start(selected.len());
    let run_ignored = args.ignored || args.include_ignored;
    let limit = args.threads.unwrap_or_else(default_test_threads);
    let mut pending = selected.into_iter();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < limit {
            let Some(test) = pending.next() else { break };
            if test.ignored && !run_ignored {
                report.record(Finished {
                    name: test.name,
                    status: Status::Ignored,
                    output: String::new(),
                });
                continue;
            }
            running.push(run_one(runtime, module, &config, test, args.nocapture));
        }
        match running.next().await {
            Some(finished) => report.record(finished),
            None => break,
        }
    }
    let passed = report.finish(args.show_output, filtered_out, started.elapsed());
    Ok(if passed { 0 } else { 101 })
}

/// As libtest: `RUST_TEST_THREADS`, else one test per CPU. Many Lunatic
/// tests wait a few milliseconds for something to happen; running more
/// tests than CPUs at once makes them flaky.
fn default_test_threads() -> usize {
    std::env::var("RUST_TEST_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
}

async fn run_one(
    runtime: &Runtime,
    module: &Module,
    config: &ProcessConfig,
    test: TestFunction,
    nocapture: bool,
) -> Finished {
    let node = runtime.new_node();
    let (stdio, captured) = if nocapture {
        (Stdio::inherit(), None)
    } else {
        let (output, captured) = funk_runtime::wasi::Output::capture();
        let stdio = Stdio {
            stdout: output.clone(),
            stderr: output,
            stdin: false,
        };
        (stdio, Some(captured))
    };
    let spawned = runtime.spawn_with(Spawn {
        module,
        entry: &test.export,
        args: Vec::new(),
        config: ProcessConfig {
            args: Vec::new(),
            ..config.clone()
        },
        stdio,
        node: Some(&node),
    });
    let exit = match spawned {
        Ok(process) => process.wait().await,
        Err(error) => {
            return Finished {
                name: test.name,
                status: Status::Failed,
                output: format!("note: {error}\n"),
            };
        }
    };
    let mut output = captured
        .map(|c| String::from_utf8_lossy(&c.contents()).into_owned())
        .unwrap_or_default();
    let status = match (&test.should_panic, exit.status.is_success()) {
        (None, true) => Status::Ok,
        (None, false) => {
            if panic_message(&output).is_none() {
                output.push_str(&format!("note: the test process {}\n", exit.status));
            }
            Status::Failed
        }
        (Some(_), true) => {
            output.push_str("note: test did not panic as expected\n");
            Status::PanicFailed
        }
        (Some(expected), false) => match panic_message(&output) {
            _ if expected.is_empty() => Status::PanicOk,
            Some(message) if message.contains(expected.as_str()) => Status::PanicOk,
            Some(message) => {
                output.push_str(&format!(
                    "note: panic did not contain expected string\n      panic message: `{message:?}`,\n expected substring: `{expected:?}`\n"
                ));
                Status::PanicFailed
            }
            // Output streamed, not captured: the message cannot be checked.
            None if nocapture => Status::PanicOk,
            None => {
                output.push_str(&format!(
                    "note: the test process {}, but did not panic with `{expected}`\n",
                    exit.status
                ));
                Status::PanicFailed
            }
        },
    };
    Finished {
        name: test.name,
        status,
        output,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_names_decode() {
        assert_eq!(
            parse_export("#lunatic_test_mailbox::receive"),
            Some(TestFunction {
                export: "#lunatic_test_mailbox::receive".into(),
                name: "mailbox::receive".into(),
                ignored: false,
                should_panic: None,
            })
        );
        let t = parse_export("#lunatic_test_#ignore_#panic_a \\# b#x::y").unwrap();
        assert!(t.ignored);
        assert_eq!(t.should_panic.as_deref(), Some("a # b"));
        assert_eq!(t.name, "x::y");
        assert_eq!(
            parse_export("#lunatic_test_#panic_#z")
                .unwrap()
                .should_panic
                .as_deref(),
            Some("")
        );
        assert_eq!(parse_export("_start"), None);
        assert_eq!(parse_export("#lunatic_test_#panic_unterminated"), None);
    }
}
