//! Sockets the host gave a process: `sock_accept`, `sock_recv`,
//! `sock_send`, `sock_shutdown`, and their readiness in `poll_oneoff`.
//!
//! Preview 1 cannot create, bind or connect sockets: a guest only uses
//! sockets the host opened for it, as descriptors after the preopened
//! directories ([`WasiSetup::sockets`](super::WasiSetup::sockets)). A TCP
//! listener accepts streams; a stream sends, receives and shuts down. All
//! of it waits on tokio's reactor, never on a thread, and so needs a tokio
//! runtime with I/O enabled; a socket first used outside one traps, naming
//! the call. A descriptor with `fdflags::nonblock` does not wait: a call
//! that would is `again`.

use std::io;
use std::sync::Arc;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::Errno;

/// A socket an embedder gives a process.
#[derive(Debug)]
pub enum HostSocket {
    /// A listening TCP socket: the guest accepts connections on it.
    TcpListener(std::net::TcpListener),
    /// A connected TCP stream.
    TcpStream(std::net::TcpStream),
}

/// A socket descriptor: as the host gave it until first used, then
/// registered with tokio's reactor.
#[derive(Debug)]
pub struct Socket(State);

#[derive(Debug)]
enum State {
    Host(Option<HostSocket>),
    Listener(Arc<AsyncFd<std::net::TcpListener>>),
    Stream(Arc<tokio::net::TcpStream>),
}

/// A registered socket, cloned out of the descriptor for one call.
#[derive(Clone, Debug)]
pub enum Live {
    /// A listener.
    Listener(Arc<AsyncFd<std::net::TcpListener>>),
    /// A stream.
    Stream(Arc<tokio::net::TcpStream>),
}

impl Socket {
    /// A socket from the host.
    pub fn new(socket: HostSocket) -> Socket {
        Socket(State::Host(Some(socket)))
    }

    /// An accepted stream.
    fn accepted(stream: std::net::TcpStream) -> io::Result<Socket> {
        stream.set_nonblocking(true)?;
        Ok(Socket(State::Stream(Arc::new(
            tokio::net::TcpStream::from_std(stream)?,
        ))))
    }

    /// The socket registered with the reactor (registering it on first
    /// use).
    pub fn live(&mut self) -> Result<Live, Errno> {
        if let State::Host(host) = &mut self.0 {
            let registered = match host.take() {
                Some(HostSocket::TcpListener(listener)) => listener
                    .set_nonblocking(true)
                    .and_then(|()| {
                        // SAFETY: the listener owns its descriptor, which
                        // stays open and the same until the `AsyncFd`
                        // (which never gives the listener back) drops it.
                        unsafe { AsyncFd::register(listener) }.map_err(io::Error::from)
                    })
                    .map(|fd| State::Listener(Arc::new(fd))),
                Some(HostSocket::TcpStream(stream)) => stream
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::TcpStream::from_std(stream))
                    .map(|s| State::Stream(Arc::new(s))),
                None => return Err(Errno::BadF),
            };
            self.0 = registered.map_err(|e| Errno::from_io(&e))?;
        }
        match &self.0 {
            State::Listener(listener) => Ok(Live::Listener(listener.clone())),
            State::Stream(stream) => Ok(Live::Stream(stream.clone())),
            State::Host(_) => Err(Errno::BadF),
        }
    }
}

/// Runs `attempt` once the socket is ready for `interest` (or once, if
/// `nonblock`): `again` for a non-blocking call that would wait.
async fn when_ready<T>(
    live: &Live,
    interest: Interest,
    nonblock: bool,
    mut attempt: impl FnMut() -> io::Result<T>,
) -> Result<T, Errno> {
    loop {
        match attempt() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if nonblock {
                    return Err(Errno::Again);
                }
            }
            result => return result.map_err(|e| Errno::from_io(&e)),
        }
        let ready = match live {
            Live::Listener(listener) => listener
                .ready(interest)
                .await
                .map(|mut guard| guard.clear_ready()),
            Live::Stream(stream) => stream.ready(interest).await.map(drop),
        };
        ready.map_err(|e| Errno::from_io(&e))?;
    }
}

impl Live {
    /// Accepts a connection: `inval` on a stream.
    pub async fn accept(&self, nonblock: bool) -> Result<Socket, Errno> {
        let Live::Listener(listener) = self else {
            return Err(Errno::Inval);
        };
        let (stream, _) = when_ready(self, Interest::READABLE, nonblock, || {
            listener.get_ref().accept()
        })
        .await?;
        Socket::accepted(stream).map_err(|e| Errno::from_io(&e))
    }

    fn stream(&self) -> Result<&tokio::net::TcpStream, Errno> {
        match self {
            Live::Stream(stream) => Ok(stream),
            Live::Listener(_) => Err(Errno::NotConn),
        }
    }

    /// Receives up to `len` bytes (`peek`: leaving them queued; `waitall`:
    /// until `len` or the end).
    pub async fn recv(
        &self,
        len: usize,
        peek: bool,
        waitall: bool,
        nonblock: bool,
    ) -> Result<Vec<u8>, Errno> {
        let stream = self.stream()?;
        let mut data = vec![0; len];
        let mut filled = 0;
        loop {
            let n = if peek {
                match nonblock {
                    true => futures::FutureExt::now_or_never(stream.peek(&mut data[filled..]))
                        .unwrap_or(Err(io::ErrorKind::WouldBlock.into())),
                    false => stream.peek(&mut data[filled..]).await,
                }
                .map_err(|e| Errno::from_io(&e))?
            } else {
                let buf = &mut data[filled..];
                when_ready(self, Interest::READABLE, nonblock, || stream.try_read(buf)).await?
            };
            filled += n;
            if !waitall || peek || n == 0 || filled == len {
                break;
            }
        }
        data.truncate(filled);
        Ok(data)
    }

    /// Sends `data`; returns how much was sent.
    pub async fn send(&self, data: &[u8], nonblock: bool) -> Result<usize, Errno> {
        let stream = self.stream()?;
        when_ready(self, Interest::WRITABLE, nonblock, || {
            stream.try_write(data)
        })
        .await
    }

    /// Shuts down reading (`rd`), writing (`wr`) or both.
    pub fn shutdown(&self, rd: bool, wr: bool) -> Result<(), Errno> {
        let how = match (rd, wr) {
            (true, true) => rustix::net::Shutdown::Both,
            (true, false) => rustix::net::Shutdown::Read,
            (false, true) => rustix::net::Shutdown::Write,
            (false, false) => return Err(Errno::Inval),
        };
        rustix::net::shutdown(self.stream()?, how).map_err(|e| Errno::from_io(&e.into()))
    }

    /// Waits until the socket is ready for `interest`.
    pub async fn ready(&self, interest: Interest) -> Result<(), Errno> {
        let ready = match self {
            Live::Listener(listener) => listener.ready(interest).await.map(drop),
            Live::Stream(stream) => stream.ready(interest).await.map(drop),
        };
        ready.map_err(|e| Errno::from_io(&e))
    }
}
