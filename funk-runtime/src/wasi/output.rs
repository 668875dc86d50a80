//! Where a process's stdout and stderr go.
//!
//! An [`Output`] is a cloneable sink: the host's stdout or stderr, an
//! in-memory capture, or nothing. Clones share one destination, so a
//! capture can collect several streams of several processes in the order
//! their writes happened (Lunatic's test mode puts a test process's stdout
//! and stderr, and those of its children, into one capture).
//!
//! Writes are synchronous. A capture or the null sink never waits; the
//! host's stdout and stderr are written and flushed on the calling thread,
//! as a native program's `println!` would, so a terminal or pipe that stops
//! reading eventually stalls the writer. funk hands `fd_write` the guest's
//! buffers in place, so a write copies the guest's bytes once, into the
//! sink.

use std::io::{IoSlice, Write};
use std::sync::{Arc, Mutex, PoisonError};

/// A cloneable sink for a process's output stream.
#[derive(Clone, Debug)]
pub struct Output(Sink);

#[derive(Clone, Debug)]
enum Sink {
    Stdout,
    Stderr,
    Capture(Arc<Mutex<Vec<u8>>>),
    Null,
}

/// Reads what an [`Output::capture`] sink (and every clone of it) has
/// received so far.
#[derive(Clone, Debug)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Output {
    /// The host process's stdout.
    pub fn stdout() -> Output {
        Output(Sink::Stdout)
    }

    /// The host process's stderr.
    pub fn stderr() -> Output {
        Output(Sink::Stderr)
    }

    /// An in-memory sink, and the handle that reads it.
    ///
    /// ```
    /// use funk_runtime::wasi::Output;
    ///
    /// let (out, captured) = Output::capture();
    /// let err = out.clone(); // stdout and stderr into one capture
    /// out.write(&[std::io::IoSlice::new(b"out ")]).unwrap();
    /// err.write(&[std::io::IoSlice::new(b"err")]).unwrap();
    /// assert_eq!(captured.text(), "out err");
    /// ```
    pub fn capture() -> (Output, Captured) {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        (Output(Sink::Capture(bytes.clone())), Captured(bytes))
    }

    /// Whether this is a terminal: only the host's stdout or stderr can be,
    /// when the host's is one (asked once per host process).
    pub fn is_terminal(&self) -> bool {
        match self.0 {
            Sink::Stdout => super::terminal::stdout(),
            Sink::Stderr => super::terminal::stderr(),
            Sink::Capture(_) | Sink::Null => false,
        }
    }

    /// A sink that discards everything (and reports it written).
    pub fn null() -> Output {
        Output(Sink::Null)
    }

    /// Writes `bufs` in order and returns the number of bytes taken, which
    /// may be fewer than offered only for the host's streams (a partial
    /// write, as `writev` may do).
    pub fn write(&self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
        match &self.0 {
            Sink::Stdout => write_flushed(&mut std::io::stdout().lock(), bufs),
            Sink::Stderr => write_flushed(&mut std::io::stderr().lock(), bufs),
            Sink::Capture(bytes) => {
                let mut bytes = bytes.lock().unwrap_or_else(PoisonError::into_inner);
                let before = bytes.len();
                for buf in bufs {
                    bytes.extend_from_slice(buf);
                }
                Ok(bytes.len() - before)
            }
            Sink::Null => Ok(bufs.iter().map(|buf| buf.len()).sum()),
        }
    }
}

fn write_flushed(stream: &mut impl Write, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
    let written = stream.write_vectored(bufs)?;
    stream.flush()?;
    Ok(written)
}

impl Captured {
    /// The bytes written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The bytes written so far, as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.contents()).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_of_a_capture_share_it_and_null_takes_everything() {
        let (out, captured) = Output::capture();
        let copy = out.clone();
        let bufs = [IoSlice::new(b"ab"), IoSlice::new(b""), IoSlice::new(b"c")];
        assert_eq!(out.write(&bufs).unwrap(), 3);
        assert_eq!(copy.write(&bufs[..1]).unwrap(), 2);
        assert_eq!(captured.contents(), b"abcab");
        assert_eq!(Output::null().write(&bufs).unwrap(), 3);
    }
}
