//! The client connection's byte stream as hyper sees it: writes that cannot make progress for
//! the send timeout fail, and reads are reported to the connection's [`Activity`].
//!
//! A client that stops reading (or a zero TCP window) leaves hyper waiting to write for as long
//! as the client likes, while the response's upstream connection waits behind it. Failing the
//! write ends the connection: HTTP/1.1 closes, HTTP/2 drops every stream, and their response
//! bodies — with their upstream connections — are dropped. (A single HTTP/2 stream with a
//! zero flow-control window never gets that far: see [`super::streams`].)
//!
//! When hyper closes an HTTP/1.1 connection while the client may still be sending (a body the
//! gateway did not read, after an answer that says `Connection: close`), closing at once would
//! make the kernel reset the connection, and a reset can discard the answer before the client
//! reads it. So such a close lingers, as nginx's `lingering_close` does: the write side is shut
//! down, then what the client still sends is read and dropped until it closes too, for at most
//! [`LINGER`].

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
    /// Set once the write side is shut down and the close lingers, until this deadline.
    lingering: Option<Pin<Box<Sleep>>>,
}

/// The longest a close lingers for a client that keeps sending.
pub(super) const LINGER: Duration = Duration::from_secs(2);

/// Reads of discarded bytes per poll while lingering, so a fast sender cannot hold the task.
const LINGER_READS_PER_POLL: usize = 16;

// === impl ClientIo ===

impl<IO> ClientIo<IO> {
    pub(super) fn new(inner: IO, activity: Arc<Activity>, send_timeout: Duration, send_timeouts: IntCounter) -> Self {
        ClientIo {
            inner,
            activity,
            send_timeout,
            send_timeouts,
            stalled: None,
            waiting: false,
            timed_out: false,
            lingering: None,
        }
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

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ClientIo<IO> {
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
        if this.lingering.is_none() {
            let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
            ready!(this.progress(polled, cx))?;
            if !this.activity.has_unread_input() {
                return Poll::Ready(Ok(()));
            }
            this.lingering = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        this.poll_linger(cx)
    }
}

impl<IO: AsyncRead + Unpin> ClientIo<IO> {
    /// Drops what the client still sends until it closes, or until [`LINGER`] has passed.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut scratch = [0u8; 2048];
        for _ in 0..LINGER_READS_PER_POLL {
            let mut discarded = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut discarded) {
                Poll::Ready(Ok(())) if discarded.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => return self.poll_linger_deadline(cx),
            }
        }
        cx.waker().wake_by_ref();
        self.poll_linger_deadline(cx)
    }

    fn poll_linger_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.lingering.as_mut().map(|deadline| deadline.as_mut().poll(cx)) {
            Some(Poll::Pending) => Poll::Pending,
            _ => Poll::Ready(Ok(())),
        }
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
