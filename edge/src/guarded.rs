//! A connection that ends for sure: [`Guarded`] wraps a socket so that every read and write
//! fails once its [`Killer`] fires, waking whoever waits on it. A session task spawned by a
//! library (russh runs each session in a task of its own, which outlives its handle) then ends
//! and drops the socket too.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// Ends a connection for sure: its [`Guarded`] stream fails every read and write from then on.
#[derive(Clone)]
pub struct Killer(pub(crate) CancellationToken);

impl Killer {
    /// Closes the connection.
    pub fn kill(&self) {
        self.0.cancel();
    }
}

/// A stream that fails once its connection is killed, waking whoever waits on it.
pub struct Guarded<S> {
    inner: S,
    killed: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl<S> Guarded<S> {
    pub(crate) fn new(inner: S, token: CancellationToken) -> Self {
        Guarded { inner, killed: Box::pin(token.cancelled_owned()) }
    }

    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        match self.killed.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(io::ErrorKind::ConnectionAborted, "connection closed by the server")),
            Poll::Pending => Ok(()),
        }
    }
}

impl Guarded<TcpStream> {
    /// The address the client connected to (this end of the socket).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Reads without consuming (what the client sent first).
    pub async fn peek(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        tokio::select! {
            () = self.killed.as_mut() => Err(io::Error::new(io::ErrorKind::ConnectionAborted, "connection closed by the server")),
            n = self.inner.peek(buf) => n,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check(cx)?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
