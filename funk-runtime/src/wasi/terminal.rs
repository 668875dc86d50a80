//! Whether the host's stdin, stdout and stderr are terminals.
//!
//! Every process's WASI state reports its stdio descriptors' type (a
//! character device for a terminal), so asking the kernel each time cost
//! an `ioctl` per stream on every spawn. The answer is asked once per host
//! process and kept: a host that redirects its own standard streams while
//! it runs (`dup2` over fd 0-2) is not followed, as a program's terminal
//! detection at start-up would not be either.

use std::io::IsTerminal;
use std::sync::OnceLock;

/// Which of the host's standard streams are terminals.
struct HostStdio {
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

/// The host's answer, asked on first use.
fn host() -> &'static HostStdio {
    static ANSWER: OnceLock<HostStdio> = OnceLock::new();
    ANSWER.get_or_init(|| HostStdio {
        stdin: std::io::stdin().is_terminal(),
        stdout: std::io::stdout().is_terminal(),
        stderr: std::io::stderr().is_terminal(),
    })
}

/// The host's stdin is a terminal.
pub(crate) fn stdin() -> bool {
    host().stdin
}

/// The host's stdout is a terminal.
pub(crate) fn stdout() -> bool {
    host().stdout
}

/// The host's stderr is a terminal.
pub(crate) fn stderr() -> bool {
    host().stderr
}
