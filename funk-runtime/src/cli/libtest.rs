//! The parts of libtest's command line and output that cargo and tools
//! built on it (nextest, IDEs) rely on.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::Duration;

/// libtest arguments the harness understands; unknown flags are ignored,
/// as a runner must accept whatever cargo passes.
#[derive(Debug, Default, Clone)]
pub struct TestArgs {
    /// Substring filters (any one must match); empty runs everything.
    pub filters: Vec<String>,
    /// Substrings that exclude a test.
    pub skip: Vec<String>,
    /// Filters must equal the name.
    pub exact: bool,
    /// Run only ignored tests.
    pub ignored: bool,
    /// Run ignored tests too.
    pub include_ignored: bool,
    /// Stream the tests' output instead of capturing it.
    pub nocapture: bool,
    /// Show the output of passing tests too.
    pub show_output: bool,
    /// List the tests instead of running them.
    pub list: bool,
    /// `--format terse`.
    pub terse: bool,
    /// Most tests running at once (`None`: libtest's default).
    pub threads: Option<usize>,
}

/// Flags that take a value, so the value is not read as a filter.
const WITH_VALUE: &[&str] = &[
    "--test-threads",
    "--format",
    "--color",
    "--logfile",
    "--skip",
    "-Z",
    "--report-time",
    "--shuffle-seed",
];

impl TestArgs {
    /// Parses libtest's arguments (`--flag value` and `--flag=value`).
    pub fn parse(args: &[String]) -> Self {
        let mut parsed = TestArgs::default();
        let mut args = args.iter().peekable();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with('-') => (flag, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            let mut value = || {
                inline.clone().or_else(|| {
                    if WITH_VALUE.contains(&flag) {
                        args.next().cloned()
                    } else {
                        None
                    }
                })
            };
            match flag {
                "--exact" => parsed.exact = true,
                "--ignored" => parsed.ignored = true,
                "--include-ignored" => parsed.include_ignored = true,
                "--nocapture" | "--no-capture" => parsed.nocapture = true,
                "--show-output" => parsed.show_output = true,
                "--list" => parsed.list = true,
                "--format" => parsed.terse = value().as_deref() == Some("terse"),
                "--skip" => parsed.skip.extend(value()),
                "--test-threads" => {
                    parsed.threads = value().and_then(|v| v.parse().ok()).filter(|n| *n > 0)
                }
                flag if flag.starts_with('-') => {
                    // Unknown flag; swallow its value if it takes one.
                    if WITH_VALUE.contains(&flag) {
                        value();
                    }
                }
                filter => parsed.filters.push(filter.to_owned()),
            }
        }
        parsed
    }

    /// Whether the test `name` is selected by the filters.
    pub fn selects(&self, name: &str) -> bool {
        let matches = |filter: &String| {
            if self.exact {
                name == filter
            } else {
                name.contains(filter.as_str())
            }
        };
        (self.filters.is_empty() || self.filters.iter().any(matches))
            && !self.skip.iter().any(|s| {
                if self.exact {
                    name == s
                } else {
                    name.contains(s.as_str())
                }
            })
    }
}

/// How one test went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Passed.
    Ok,
    /// Failed.
    Failed,
    /// `should_panic` and it panicked as expected.
    PanicOk,
    /// `should_panic` and it did not (or not with the expected message).
    PanicFailed,
    /// Not run.
    Ignored,
}

/// One finished test.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Its name.
    pub name: String,
    /// How it went.
    pub status: Status,
    /// What it printed (when captured), plus the harness's notes.
    pub output: String,
}

/// Prints the per-test lines and the summary, libtest style.
pub struct Report {
    color: bool,
    successes: Vec<Finished>,
    failures: Vec<Finished>,
    ignored: usize,
}

impl Report {
    /// A report for `count` tests.
    pub fn start(count: usize) -> Self {
        println!(
            "\nrunning {count} {}",
            if count == 1 { "test" } else { "tests" }
        );
        Report {
            color: std::io::stdout().is_terminal(),
            successes: Vec::new(),
            failures: Vec::new(),
            ignored: 0,
        }
    }

    fn paint(&self, text: &str, code: u8) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Prints one test's line.
    pub fn record(&mut self, test: Finished) {
        let (suffix, verdict) = match test.status {
            Status::Ok => ("", self.paint("ok", 32)),
            Status::Failed => ("", self.paint("FAILED", 31)),
            Status::PanicOk => (" - should panic", self.paint("ok", 32)),
            Status::PanicFailed => (" - should panic", self.paint("FAILED", 31)),
            Status::Ignored => ("", self.paint("ignored", 33)),
        };
        println!("test {}{suffix} ... {verdict}", test.name);
        match test.status {
            Status::Ok | Status::PanicOk => self.successes.push(test),
            Status::Failed | Status::PanicFailed => self.failures.push(test),
            Status::Ignored => self.ignored += 1,
        }
    }

    /// Prints the outputs and the summary line; `true` if nothing failed.
    pub fn finish(self, show_output: bool, filtered_out: usize, elapsed: Duration) -> bool {
        let mut out = String::new();
        if show_output && self.successes.iter().any(|t| !t.output.is_empty()) {
            out.push_str("\nsuccesses:\n");
            for test in self.successes.iter().filter(|t| !t.output.is_empty()) {
                let _ = write!(out, "\n---- {} stdout ----\n{}", test.name, test.output);
            }
            out.push_str("\nsuccesses:\n");
            for test in &self.successes {
                let _ = writeln!(out, "    {}", test.name);
            }
        }
        if !self.failures.is_empty() {
            out.push_str("\nfailures:\n");
            for test in self.failures.iter().filter(|t| !t.output.is_empty()) {
                let _ = write!(out, "\n---- {} stdout ----\n{}", test.name, test.output);
                if !test.output.ends_with('\n') {
                    out.push('\n');
                }
            }
            out.push_str("\nfailures:\n");
            for test in &self.failures {
                let _ = writeln!(out, "    {}", test.name);
            }
        }
        let passed = self.failures.is_empty();
        let verdict = if passed {
            self.paint("ok", 32)
        } else {
            self.paint("FAILED", 31)
        };
        let _ = writeln!(
            out,
            "\ntest result: {verdict}. {} passed; {} failed; {} ignored; 0 measured; {filtered_out} filtered out; finished in {:.2}s\n",
            self.successes.len(),
            self.failures.len(),
            self.ignored,
            elapsed.as_secs_f64()
        );
        print!("{out}");
        passed
    }
}

/// The message of the first Rust panic in `output`, in the format of
/// either older (`panicked at 'msg', file:line:col`) or newer Rust
/// (`panicked at file:line:col:` and the message on the next lines).
pub fn panic_message(output: &str) -> Option<String> {
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        let Some((_, rest)) = line.split_once("panicked at ") else {
            continue;
        };
        if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.rfind("', ").unwrap_or(quoted.len());
            return Some(quoted[..end].to_owned());
        }
        let message: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("note: ") && !l.starts_with("stack backtrace"))
            .collect();
        return Some(message.join("\n"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> TestArgs {
        TestArgs::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn cargo_style_arguments_parse() {
        let a = args(&[
            "--test-threads",
            "1",
            "mailbox",
            "--exact",
            "--skip=slow",
            "-q",
        ]);
        assert_eq!(a.filters, ["mailbox"]);
        assert_eq!(a.threads, Some(1));
        assert!(a.exact);
        assert_eq!(a.skip, ["slow"]);
        assert!(a.selects("mailbox") && !a.selects("mailbox::x"));
        let a = args(&["--list", "--format", "terse", "--ignored"]);
        assert!(a.list && a.terse && a.ignored && a.filters.is_empty());
    }

    #[test]
    fn panic_messages_in_both_rust_formats() {
        let old = "thread 'main' panicked at 'boom here', src/lib.rs:3:5\nnote: run with";
        assert_eq!(panic_message(old).as_deref(), Some("boom here"));
        let new = "thread '<unnamed>' panicked at tests/a.rs:9:5:\nassertion failed: x\nsecond line\nnote: run with `RUST_BACKTRACE=1`";
        assert_eq!(
            panic_message(new).as_deref(),
            Some("assertion failed: x\nsecond line")
        );
        assert_eq!(panic_message("all good\n"), None);
    }
}
