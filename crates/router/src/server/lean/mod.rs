//! The lean HTTP/1.1 server path: the connection's task reads request heads itself and serves
//! bodiless requests without hyper's dispatcher, and hands the connection over to hyper, for
//! the rest of its life, at the first request it does not serve itself.
//!
//! The request goes through the same pipeline as hyper's, and its response is written as
//! hyper would write it (see [`encode`]): one write for the head and a body that is ready,
//! then the rest as it comes. Between requests the connection holds no read or write buffer:
//! reads land in a buffer on the stack and are copied to the heap only when bytes arrive, and
//! an emptied buffer is released (hyper keeps an 8 KiB write buffer and an 8–16 KiB read
//! buffer for each connection, idle or not).
//!
//! What the lean path serves is decided by [`head::read`]: a head that is well-formed by the
//! parser hyper uses, within the listener's limits, with no body (`Transfer-Encoding`, or a
//! `Content-Length` other than one `0`), no `Upgrade`, `CONNECT` or `Expect`. Anything else —
//! malformed heads included — is replayed to hyper from its first byte ([`Rewind`]), so every
//! framing, smuggling, upgrade and body rule is hyper's and the listener's, as before.

mod date;
mod encode;
mod head;
mod rewind;
mod writer;

use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Poll, ready};

use bytes::BytesMut;
use http::header::CONNECTION;
use http_body::Body;
use prometheus::IntCounter;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::activity::{Activity, Deadlines, Expired};
use super::{Phase, Shutdown};
use crate::body::ResponseBody;
use crate::pipeline::{Connection, Pipeline};
use crate::proxy::UpstreamBodyError;
use encode::{Asked, BodyLength};
pub(super) use head::HeadLimits;
use head::{Head, SimpleRequest};
pub(super) use rewind::Rewind;

/// Bytes read from the client at a time (into a buffer on the stack).
const READ_SIZE: usize = 8 * 1024;

/// One connection's lean HTTP/1.1 serving, until it ends or is handed over.
#[derive(Debug)]
pub(super) struct LeanHttp1<'a> {
    pub(super) pipeline: &'a Pipeline,
    pub(super) connection: &'a Connection,
    pub(super) activity: &'a Arc<Activity>,
    pub(super) deadlines: Deadlines,
    pub(super) limits: HeadLimits,
    pub(super) shutdown: Shutdown,
    /// `tollgate_connection_errors_total{kind="header_timeout"}`.
    pub(super) header_timeouts: IntCounter,
}

/// How the lean path left a connection.
#[derive(Debug)]
pub(super) enum Ended<IO> {
    /// Closed: the client closed, the connection's deadline or shutdown ended it while idle,
    /// or a response closed it.
    Closed,
    /// hyper serves the rest, starting with the bytes read and not served.
    HandedOver(Rewind<IO>),
}

/// Why the lean path dropped a connection.
#[derive(Debug, thiserror::Error)]
pub(super) enum LeanError {
    #[error("client connection: {0}")]
    Io(#[source] io::Error),
    #[error("response body: {0}")]
    Body(#[source] UpstreamBodyError),
    #[error("the response body's length differs from its Content-Length")]
    BodyLength,
    #[error("request head not complete within the header timeout")]
    HeadTimeout,
}

// === impl LeanHttp1 ===

impl LeanHttp1<'_> {
    /// Serves `io` until it closes or a request needs hyper.
    pub(super) async fn serve<IO>(mut self, mut io: IO) -> Result<Ended<IO>, LeanError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let mut buf = BytesMut::new();
        let mut expired = pin!(self.activity.expired(self.deadlines));
        loop {
            if !buf.is_empty() {
                match head::read(&mut buf, self.limits) {
                    Head::Simple(simple) => {
                        if self.respond(&mut io, simple).await? {
                            return close(io).await;
                        }
                        if buf.is_empty() {
                            // Released while idle; the next request's bytes get a new one.
                            buf = BytesMut::new();
                        }
                        continue;
                    }
                    Head::HandOver(reason) => {
                        tracing::trace!(?reason, "handing the connection over to hyper");
                        return Ok(Ended::HandedOver(Rewind::new(buf.freeze(), io)));
                    }
                    Head::Partial => {}
                }
            }
            tokio::select! {
                read = read_some(&mut io, &mut buf) => match read.map_err(LeanError::Io)? {
                    // A partial head at the end is hyper's to report, as before.
                    0 if !buf.is_empty() => return Ok(Ended::HandedOver(Rewind::new(buf.freeze(), io))),
                    0 => return Ok(Ended::Closed),
                    _ => {}
                },
                () = self.shutdown.closing() => return close(io).await,
                expired = expired.as_mut() => match expired {
                    Expired::Idle => return close(io).await,
                    Expired::Head => {
                        self.header_timeouts.inc();
                        return Err(LeanError::HeadTimeout);
                    }
                },
            }
        }
    }

    /// Answers one request; `true` when the connection closes after it.
    async fn respond<IO: AsyncWrite + Unpin>(&self, io: &mut IO, simple: SimpleRequest) -> Result<bool, LeanError> {
        let in_flight = self.activity.request_started(false);
        let method = simple.request.method().clone();
        let version = simple.request.version();
        // Boxed per request, as in hyper's service: the connection's future stays small.
        let response = Box::pin(self.pipeline.handle_bodiless(simple.request, self.connection.clone())).await;
        if response.headers().get(CONNECTION).is_some_and(|value| value == "close") {
            self.activity.input_left_unread();
        }
        let keep_alive = simple.keep_alive && self.shutdown.phase() < Phase::Closing;
        let (mut parts, body) = response.into_parts();
        let mut out = Vec::with_capacity(512);
        let asked = Asked { method: &method, version, keep_alive };
        let encoded = encode::encode(&mut parts, body_length(&body), asked, &mut out);
        writer::write(io, out, body, encoded.framing).await?;
        drop(in_flight);
        Ok(encoded.close)
    }
}

/// What hyper would take the body's length to be.
fn body_length(body: &ResponseBody) -> BodyLength {
    if body.is_end_stream() {
        return BodyLength::Empty;
    }
    body.size_hint().exact().map_or(BodyLength::Unknown, BodyLength::Known)
}

/// Closes the write side (lingering when the client may still be sending; see `client_io`).
async fn close<IO: AsyncWrite + Unpin>(mut io: IO) -> Result<Ended<IO>, LeanError> {
    io.shutdown().await.map_err(LeanError::Io)?;
    Ok(Ended::Closed)
}

/// Reads what has arrived into a buffer on the stack and appends it to `buf`, so a waiting
/// connection holds no read buffer; 0 at the end of the stream.
async fn read_some<IO: AsyncRead + Unpin>(io: &mut IO, buf: &mut BytesMut) -> io::Result<usize> {
    poll_fn(|cx| {
        let mut scratch = [MaybeUninit::<u8>::uninit(); READ_SIZE];
        let mut read = ReadBuf::uninit(&mut scratch);
        ready!(Pin::new(&mut *io).poll_read(cx, &mut read))?;
        buf.extend_from_slice(read.filled());
        Poll::Ready(Ok(read.filled().len()))
    })
    .await
}

#[cfg(test)]
mod tests;
