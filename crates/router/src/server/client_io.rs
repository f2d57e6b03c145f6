//! The client connection's byte stream as hyper sees it: writes that cannot make progress for
//! the send timeout fail, and reads are reported to the connection's [`Activity`].
//!
//! A client that stops reading (or a zero TCP window) leaves hyper waiting to write for as long
//! as the client likes, while the response's upstream connection waits behind it. Failing the
//! write ends the connection: HTTP/1.1 closes, HTTP/2 drops every stream, and their response
//! bodies — with their upstream connections — are dropped. (A single HTTP/2 stream with a
//! zero flow-control window never gets that far: see [`super::streams`].)

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use prometheus::IntCounter;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::activity::Activity;

/// An IO stream with a send timeout; see the module docs.
pub(super) struct ClientIo<IO> {
    inner: IO,
    activity: Arc<Activity>,
    send_timeout: Duration,
    /// `tollgate_connection_errors_total{kind="send_timeout"}`.
    send_timeouts: IntCounter,
    /// Created on the first write that has to wait, then reset.
    stalled: Option<Pin<Box<Sleep>>>,
    /// Whether `stalled` runs for the current wait.
    waiting: bool,
    /// The send timeout passed: every later write fails too.
    timed_out: bool,
}

// === impl ClientIo ===

impl<IO> ClientIo<IO> {
    pub(super) fn new(inner: IO, activity: Arc<Activity>, send_timeout: Duration, send_timeouts: IntCounter) -> Self {
        ClientIo { inner, activity, send_timeout, send_timeouts, stalled: None, waiting: false, timed_out: false }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for ClientIo<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.activity.bytes_read(&buf.filled()[before..]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for ClientIo<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        this.progress(polled, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.progress(polled, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.progress(polled, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.progress(polled, cx)
    }
}

impl<IO> ClientIo<IO> {
    /// Passes a finished write on; a pending one fails once it has waited the send timeout.
    fn progress<T>(&mut self, polled: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if self.timed_out {
            return Poll::Ready(Err(send_timed_out()));
        }
        if polled.is_ready() {
            self.waiting = false;
            return polled;
        }
        let deadline = Instant::now() + self.send_timeout;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.waiting {
            stalled.as_mut().reset(deadline);
            self.waiting = true;
        }
        ready!(stalled.as_mut().poll(cx));
        tracing::debug!(send_timeout = ?self.send_timeout, "the client did not take response bytes in time");
        self.send_timeouts.inc();
        self.timed_out = true;
        Poll::Ready(Err(send_timed_out()))
    }
}

fn send_timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "send timeout: the client stopped reading")
}
