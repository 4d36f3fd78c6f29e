//! Lingering close: a connection the server is done with is shut down for writing and read
//! to its end before the socket is closed.
//!
//! Closing a TCP socket that still has unread input makes the kernel answer with a reset,
//! and a reset makes the peer drop what it has received but not yet read. When a drained
//! HTTP/2 connection closes, the client has usually just sent a `WINDOW_UPDATE` for the
//! last response: without lingering, the tail of that response is lost and the caller
//! sees `connection reset` for a call the server answered in full.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How long a closed connection may linger, reading what the peer still sends.
const LINGER: Duration = Duration::from_secs(2);

/// Connections still lingering, so that shutdown can wait for them.
#[derive(Debug, Default)]
pub struct Lingering {
    count: AtomicUsize,
    none_left: Notify,
}

impl Lingering {
    /// Wraps an accepted connection.
    pub fn track(self: &Arc<Self>, stream: TcpStream) -> Connection {
        Connection {
            stream: Some(stream),
            lingering: Arc::clone(self),
        }
    }

    /// Waits until no connection is lingering (each lingers at most [`LINGER`]).
    pub async fn settled(&self) {
        loop {
            let notified = self.none_left.notified();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    fn done(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.none_left.notify_waiters();
        }
    }
}

/// An accepted connection that lingers when dropped.
#[derive(Debug)]
pub struct Connection {
    stream: Option<TcpStream>,
    lingering: Arc<Lingering>,
}

impl Connection {
    fn stream(self: Pin<&mut Self>) -> Pin<&mut TcpStream> {
        // `Connection` is `Unpin`, and the stream is only taken out in `drop`.
        match &mut self.get_mut().stream {
            Some(stream) => Pin::new(stream),
            None => unreachable!("the stream is present until the connection is dropped"),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let Some(mut stream) = self.stream.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.lingering.count.fetch_add(1, Ordering::AcqRel);
        let lingering = Arc::clone(&self.lingering);
        runtime.spawn(async move {
            let _ = stream.shutdown().await;
            let mut sink = [0u8; 4096];
            let _ = tokio::time::timeout(LINGER, async {
                while let Ok(n) = stream.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
            drop(stream);
            lingering.done();
        });
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match &self.stream {
            Some(stream) => stream.connect_info(),
            None => TcpConnectInfo {
                local_addr: None,
                remote_addr: None,
            },
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.stream().poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.stream().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.stream().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.stream().poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.stream().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(TcpStream::is_write_vectored)
    }
}
