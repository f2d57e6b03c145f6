//! The lean HTTP/1.1 exchange: a request without a body to a plain-HTTP target, written and
//! answered on a pooled connection inside the client connection's own task.
//!
//! Why: most API calls are bodiless `GET`s to in-cluster services, and hyper's client drives
//! each connection from a task of its own, so every exchange crosses tasks four times (the
//! request through a channel, the response head through a oneshot, each body chunk through
//! another channel). Here the request head is written straight to the socket and the
//! response head parsed (httparse, as hyper) from the same read buffer the body then streams
//! from; measured, that is most of the gateway's remaining user time per request.
//!
//! Scope, so that nothing subtle is reimplemented: only requests whose body is known to be
//! empty and that do not ask for an upgrade. Request bodies, WebSocket upgrades, TLS and
//! HTTP/2 targets stay on hyper. Responses are framed per RFC 9112 6.3 (see
//! [`head`]): `Content-Length` (conflicting values are an error), chunked (strict, see
//! [`chunked`]), or until close; interim 1xx heads are skipped, an unsolicited `101` is an
//! error. A connection is reused only after its body was read to the end with nothing
//! left over, on HTTP/1.1 without `Connection: close`. Idle connections that the upstream
//! closed are noticed at checkout from the socket's readiness, without a system call.

mod body;
mod chunked;
mod head;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use http::uri::Authority;
use http::{HeaderMap, HeaderValue, Method, Response};

pub(crate) use body::LeanBody;
pub(crate) use chunked::ChunkError;
pub(crate) use head::{HeadError, OriginForm};

use super::asserted::Asserted;
use super::idle::{self, IdleConnections, State, Sweep};
use body::Connection;

#[cfg(test)]
#[path = "../tests/lean.rs"]
mod tests;

/// Pooled lean connections to the plain-HTTP upstreams of one connect-timeout profile.
#[derive(Debug)]
pub(crate) struct LeanPool {
    connect_timeout: Duration,
    idle: IdleConnections<Box<Connection>>,
}

/// What the lean exchange sends: a request without a body.
#[derive(Debug, Clone, Copy)]
pub(super) struct LeanRequest<'a> {
    pub(super) method: &'a Method,
    pub(super) target: OriginForm<'a>,
    /// The `Host` value.
    pub(super) host: &'a HeaderValue,
    /// Prepared for forwarding; `Host` and body framing headers are ignored.
    pub(super) headers: &'a HeaderMap,
    /// Sent after `headers`.
    pub(super) asserted: &'a Asserted,
}

/// Why a lean exchange failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LeanError {
    /// No connection could be made: nothing was sent.
    #[error("connect to {authority}: {source}")]
    Connect { authority: Authority, source: io::Error },
    #[error("writing the request: {0}")]
    Write(io::Error),
    #[error("reading the response: {0}")]
    Read(io::Error),
    /// The request target holds a byte that may not appear in a request line (the parts
    /// come validated, so this is a guard): nothing was sent.
    #[error("request target with a space or control character")]
    Target,
    #[error("connection closed before a complete response head")]
    Closed,
    #[error(transparent)]
    Head(#[from] HeadError),
    #[error("chunked response body: {0}")]
    Chunk(#[from] ChunkError),
    #[error("connection closed before the end of the response body")]
    Truncated,
}

// === impl LeanPool ===

impl LeanPool {
    /// A pool swept as [`idle::swept`] says. Must be called within a tokio runtime.
    pub(super) fn start(connect_timeout: Duration, idle_timeout: Duration, max_idle_per_host: usize) -> Arc<Self> {
        idle::swept(LeanPool { connect_timeout, idle: IdleConnections::new(max_idle_per_host) }, idle_timeout)
    }

    /// Sends `request` to `authority` on an idle connection, or on a new one when none is
    /// ready; resolves once the response head has arrived. A request whose write fails on
    /// a reused connection (closed under it) is written once more on a fresh one: the
    /// upstream cannot have received it whole.
    pub(super) async fn send(
        self: &Arc<Self>,
        authority: &Authority,
        request: LeanRequest<'_>,
    ) -> Result<Response<LeanBody>, LeanError> {
        if !request.target.is_safe() {
            return Err(LeanError::Target);
        }
        let (mut connection, reused) = match self.idle.take(authority, |c| c.idle_state()) {
            Some(idle) => (idle, true),
            None => (Box::pin(self.connect(authority)).await?, false),
        };
        connection.output.clear();
        head::write_request(&mut connection.output, &request);
        if let Err(error) = connection.write_output().await {
            if !reused {
                return Err(LeanError::Write(error));
            }
            let mut fresh = Box::pin(self.connect(authority)).await?;
            std::mem::swap(&mut fresh.output, &mut connection.output);
            connection = fresh;
            connection.write_output().await.map_err(LeanError::Write)?;
        }
        let head = loop {
            if let Some(head) = head::parse_response(&mut connection.input, request.method)? {
                break head;
            }
            match connection.fill().await {
                Ok(0) => return Err(LeanError::Closed),
                Ok(_) => {}
                Err(error) => return Err(LeanError::Read(error)),
            }
        };
        let home = (Arc::clone(self), authority.clone());
        let body = LeanBody::new(connection, head.framing, head.reusable, home);
        Ok(head.response.map(|()| body))
    }

    fn checkin(&self, authority: &Authority, connection: Box<Connection>) {
        self.idle.put(authority, connection);
    }

    /// A new connection. Awaited boxed: connecting is rare, and its future (name resolution
    /// included) would otherwise make every exchange's future, moved on every request, larger.
    async fn connect(&self, authority: &Authority) -> Result<Box<Connection>, LeanError> {
        match idle::connect(authority, self.connect_timeout).await {
            Ok(stream) => Ok(Box::new(Connection::new(stream))),
            Err(source) => Err(LeanError::Connect { authority: authority.clone(), source }),
        }
    }

    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle.count(|_| true)
    }

    #[cfg(test)]
    fn idle_closed_count(&self) -> usize {
        self.idle.count(|connection| connection.idle_state() == State::Closed)
    }
}

impl Sweep for LeanPool {
    /// Drops idle connections that are closed or stale.
    fn sweep(&self) {
        self.idle.sweep(|connection| connection.idle_state() == State::Ready);
    }
}

/// Reads `wire` as an upstream's whole answer to a `GET`, the way the lean exchange does:
/// the head (1xx skipped), then the body by its framing. `None` when the bytes are rejected
/// or end before the response does. For fuzzing (`fuzz/fuzz_targets/upstream_response.rs`)
/// and tests; it must never panic, whatever `wire` holds.
pub fn decode_response(wire: &[u8]) -> Option<(http::StatusCode, Vec<u8>)> {
    let mut input = bytes::BytesMut::from(wire);
    let head = head::parse_response(&mut input, &Method::GET).ok()??;
    let mut reading = body::Reading::new(head.framing);
    let mut body = Vec::new();
    loop {
        match reading.step(&mut input).ok()? {
            chunked::Step::Data(data) => body.extend_from_slice(&data),
            chunked::Step::Done => break,
            // The input is all there is: only a body read until close may end here.
            chunked::Step::NeedMore if reading == body::Reading::UntilClose => break,
            chunked::Step::NeedMore => return None,
        }
    }
    Some((head.response.status(), body))
}

impl LeanError {
    /// `true` when nothing was sent, so the next target may be tried.
    pub(super) fn is_connect(&self) -> bool {
        matches!(self, LeanError::Connect { .. } | LeanError::Target)
    }
}
