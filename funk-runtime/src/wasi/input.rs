//! Where a process's stdin comes from.
//!
//! An [`Input`] is the host's stdin, a fixed byte string, or nothing.
//! `fd_read` on it is an async host function, so reading never blocks the
//! thread that polls the guest: a blocking source (the host's stdin, or any
//! [`Read`] given to [`Input::reader`]) is read on a thread of its own, one
//! chunk at a time and only when a guest is waiting for data. The chunk
//! goes into a buffer shared by every `Input` of that source, so a read
//! that is cancelled (the process is killed while it waits) loses nothing:
//! the bytes stay for the next reader.
//!
//! Why a reader thread rather than tokio's `stdin()`: tokio also reads on a
//! blocking thread, but the bytes a cancelled read had asked for belong to
//! that one handle and are lost with it, and separate handles race for the
//! stream. One shared reader per source avoids both, and needs no runtime.

use std::collections::VecDeque;
use std::io::{IoSliceMut, Read};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use tokio::sync::Notify;

/// How much a reader thread asks its source for at once.
const CHUNK: usize = 64 * 1024;

/// The source of a process's stdin.
#[derive(Debug)]
pub struct Input(Source);

#[derive(Debug)]
enum Source {
    /// The host process's stdin.
    HostStdin(SharedReader),
    Reader(SharedReader),
    Bytes {
        data: Vec<u8>,
        at: usize,
    },
    Empty,
}

impl Input {
    /// The host process's stdin, shared by every process given it.
    pub fn stdin() -> Input {
        static STDIN: OnceLock<SharedReader> = OnceLock::new();
        let reader = STDIN.get_or_init(|| SharedReader::spawn(std::io::stdin()));
        Input(Source::HostStdin(reader.clone()))
    }

    /// No input: every read is at the end.
    pub fn empty() -> Input {
        Input(Source::Empty)
    }

    /// `data`, then the end.
    pub fn bytes(data: Vec<u8>) -> Input {
        Input(Source::Bytes { data, at: 0 })
    }

    /// A blocking reader, read on a thread of its own when a guest waits
    /// for data (the thread ends once this `Input` is dropped and its last
    /// read has returned).
    pub fn reader(reader: impl Read + Send + 'static) -> Input {
        Input(Source::Reader(SharedReader::spawn(reader)))
    }

    /// Whether this is a terminal: only the host's stdin can be, when the
    /// host's is one (asked once per host process).
    pub fn is_terminal(&self) -> bool {
        matches!(self.0, Source::HostStdin(_)) && super::terminal::stdin()
    }

    /// Reads into `bufs`, in order; `Ok(0)` at the end. Waits (without
    /// blocking the thread) until there is data or the end.
    pub(crate) async fn read(&mut self, bufs: &mut [IoSliceMut<'_>]) -> std::io::Result<usize> {
        match &mut self.0 {
            Source::HostStdin(reader) | Source::Reader(reader) => reader.read(bufs).await,
            Source::Bytes { data, at } => {
                let mut rest = &data[*at..];
                let mut copied = 0;
                for buf in bufs {
                    let n = buf.len().min(rest.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    rest = &rest[n..];
                    copied += n;
                }
                *at += copied;
                Ok(copied)
            }
            Source::Empty => Ok(0),
        }
    }

    /// Waits until a read would not wait; returns the bytes available and
    /// whether the end has been reached (`poll_oneoff`'s `fd_read`).
    pub(crate) async fn ready(&mut self) -> (u64, bool) {
        match &mut self.0 {
            Source::HostStdin(reader) | Source::Reader(reader) => reader.ready().await,
            Source::Bytes { .. } | Source::Empty => self.peek().expect("never waits"),
        }
    }

    /// What [`ready`](Self::ready) would return, if it would not wait.
    pub(crate) fn peek(&self) -> Option<(u64, bool)> {
        match &self.0 {
            Source::HostStdin(reader) | Source::Reader(reader) => reader.peek(),
            Source::Bytes { data, at } => {
                let left = (data.len() - *at) as u64;
                Some((left, left == 0))
            }
            Source::Empty => Some((0, true)),
        }
    }
}

/// A blocking source read by a thread of its own, with the bytes it has
/// read and not yet handed out.
#[derive(Clone, Debug)]
struct SharedReader {
    shared: Arc<Shared>,
    /// Asks the thread for one more chunk.
    demand: Sender<()>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<ReaderState>,
    /// Told whenever the thread has finished a read.
    arrived: Notify,
}

#[derive(Debug, Default)]
struct ReaderState {
    buffered: VecDeque<u8>,
    eof: bool,
    /// An error from the source, for the next reader.
    error: Option<std::io::Error>,
    /// The thread has been asked for a chunk and not yet answered.
    requested: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ReaderState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SharedReader {
    fn spawn(mut source: impl Read + Send + 'static) -> SharedReader {
        let shared = Arc::new(Shared::default());
        let (demand, demands) = channel::<()>();
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("funk-wasi-input".into())
            .spawn(move || {
                let mut chunk = vec![0; CHUNK];
                // Ends when every `SharedReader` handle is gone.
                for () in demands {
                    let result = loop {
                        match source.read(&mut chunk) {
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            result => break result,
                        }
                    };
                    let mut state = thread_shared.lock();
                    match result {
                        Ok(0) => state.eof = true,
                        Ok(n) => state.buffered.extend(&chunk[..n]),
                        Err(error) => state.error = Some(error),
                    }
                    state.requested = false;
                    drop(state);
                    thread_shared.arrived.notify_waiters();
                }
            })
            .expect("cannot start the WASI input thread");
        SharedReader { shared, demand }
    }

    /// What a read would see now, without waiting: `Some((bytes, eof))`.
    fn peek(&self) -> Option<(u64, bool)> {
        let state = self.shared.lock();
        if !state.buffered.is_empty() || state.eof || state.error.is_some() {
            Some((state.buffered.len() as u64, state.eof))
        } else {
            None
        }
    }

    /// Runs `take` on the state once it has data, the end or an error,
    /// asking the thread for a chunk and waiting as needed.
    async fn when_ready<T>(&self, mut take: impl FnMut(&mut ReaderState) -> T) -> T {
        loop {
            let mut arrived = std::pin::pin!(self.shared.arrived.notified());
            // Registered before the state is checked, so an arrival between
            // the check and the `.await` is not missed.
            arrived.as_mut().enable();
            {
                let mut state = self.shared.lock();
                if !state.buffered.is_empty() || state.eof || state.error.is_some() {
                    return take(&mut state);
                }
                if !state.requested {
                    state.requested = true;
                    // The thread only ends once every handle, this one
                    // included, is gone, so the send cannot fail.
                    let _ = self.demand.send(());
                }
            }
            arrived.await;
        }
    }

    async fn read(&self, bufs: &mut [IoSliceMut<'_>]) -> std::io::Result<usize> {
        self.when_ready(|state| {
            if let Some(error) = state.error.take() {
                return Err(error);
            }
            let mut copied = 0;
            for buf in bufs.iter_mut() {
                let n = buf.len().min(state.buffered.len());
                for (to, from) in buf[..n].iter_mut().zip(state.buffered.drain(..n)) {
                    *to = from;
                }
                copied += n;
            }
            Ok(copied)
        })
        .await
    }

    async fn ready(&self) -> (u64, bool) {
        self.when_ready(|state| (state.buffered.len() as u64, state.eof))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(input: &mut Input, chunk: usize) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut all = Vec::new();
        loop {
            let mut a = vec![0; chunk];
            let mut b = vec![0; 1];
            let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
            let n = runtime.block_on(input.read(&mut bufs)).unwrap();
            if n == 0 {
                return all;
            }
            let joined: Vec<u8> = a.iter().chain(&b).copied().collect();
            all.extend_from_slice(&joined[..n]);
        }
    }

    #[test]
    fn bytes_are_read_across_buffers_then_the_end() {
        let mut input = Input::bytes(b"hello world".to_vec());
        assert_eq!(read_all(&mut input, 3), b"hello world");
        assert_eq!(read_all(&mut Input::empty(), 3), b"");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_blocking_reader_does_not_block_the_executor_and_loses_nothing() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        let mut input = Input::reader(reader);
        assert_eq!(input.peek(), None);
        // A read that waits, cancelled: the thread is now blocked in the
        // pipe, and the single-threaded executor still runs other tasks.
        let mut buf = [0; 8];
        let waited = tokio::time::timeout(std::time::Duration::from_millis(20), async {
            input.read(&mut [IoSliceMut::new(&mut buf)]).await
        })
        .await;
        assert!(waited.is_err());
        assert_eq!(tokio::spawn(async { 7 }).await.unwrap(), 7);
        // What the cancelled read asked for arrives and waits for the next.
        writer.write_all(b"abc").unwrap();
        assert_eq!(input.ready().await, (3, false));
        let n = input.read(&mut [IoSliceMut::new(&mut buf)]).await.unwrap();
        assert_eq!(&buf[..n], b"abc");
        drop(writer);
        assert_eq!(
            input.read(&mut [IoSliceMut::new(&mut buf)]).await.unwrap(),
            0
        );
        assert_eq!(input.ready().await, (0, true));
    }
}
