//! Plain-HTTP/1.1 upstream connections, pooled per authority: the common case of a gateway in
//! front of in-cluster services, kept off hyper-util's general client.
//!
//! Why: that client clones itself, races a pool checkout against a lazily built connect
//! future, rewrites the URI to origin form and formats `Host` on every request, and spawns a
//! task per HTTP/1.1 response to return the connection to its pool. Here a request costs one
//! short lock to take a ready connection and one to put it back; the URI is built in origin
//! form and `Host` comes precomputed with the target.
//!
//! Each connection's [`SendRequest`] is either lent to one request or idle in the pool. It
//! goes back as soon as the response head arrives, while the body may still be streaming;
//! a checkout takes the most recently returned one that is ready (its previous exchange is
//! over) and drops closed ones on the way. A request that finds its connection closed before
//! a byte was written comes back and is sent on another (a fresh one if need be), like
//! hyper-util's retry of canceled requests. Idle connections older than the idle timeout are
//! swept periodically; dropping the sender closes the connection.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use http::uri::Authority;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

use super::body::AttemptBody;
use super::idle::{self, IdleConnections, State, Sweep};

#[cfg(test)]
#[path = "tests/pool.rs"]
mod tests;

/// The HTTP/1.1 connections to plain-HTTP upstreams of one connect-timeout profile.
#[derive(Debug)]
pub(super) struct Http1Pool {
    connect_timeout: Duration,
    idle: IdleConnections<SendRequest<AttemptBody>>,
}

/// Why a request got no response from a pooled connection.
#[derive(Debug, thiserror::Error)]
pub(super) enum PoolError {
    /// No connection could be made: nothing was sent.
    #[error("connect to {authority}: {source}")]
    Connect { authority: Authority, source: io::Error },
    /// The HTTP/1.1 handshake on a fresh connection failed: nothing was sent.
    #[error("HTTP/1.1 handshake with {authority}: {source}")]
    Handshake { authority: Authority, source: hyper::Error },
    /// The exchange failed once the request was on its way.
    #[error(transparent)]
    Exchange(hyper::Error),
}

// === impl Http1Pool ===

impl Http1Pool {
    /// A pool swept as [`idle::swept`] says. Must be called within a tokio runtime.
    pub(super) fn start(connect_timeout: Duration, idle_timeout: Duration, max_idle_per_host: usize) -> Arc<Self> {
        idle::swept(Http1Pool { connect_timeout, idle: IdleConnections::new(max_idle_per_host) }, idle_timeout)
    }

    /// Sends `request` (origin-form URI, `Host` set) to `authority` on an idle connection,
    /// or on a new one when none is ready.
    pub(super) async fn send(
        &self,
        authority: &Authority,
        mut request: Request<AttemptBody>,
    ) -> Result<Response<Incoming>, PoolError> {
        while let Some(mut sender) = self.checkout(authority) {
            match sender.try_send_request(request).await {
                Ok(response) => {
                    self.checkin(authority, sender);
                    return Ok(response);
                }
                Err(mut failed) => match failed.take_message() {
                    // Closed before anything was written: the request is intact, try another.
                    Some(unsent) => request = unsent,
                    None => return Err(PoolError::Exchange(failed.into_error())),
                },
            }
        }
        let mut sender = self.connect(authority).await?;
        let response = sender.send_request(request).await.map_err(PoolError::Exchange)?;
        self.checkin(authority, sender);
        Ok(response)
    }

    /// The most recently returned ready connection to `authority`; closed ones are dropped.
    fn checkout(&self, authority: &Authority) -> Option<SendRequest<AttemptBody>> {
        self.idle.take(authority, |sender| match () {
            _ if sender.is_closed() => State::Closed,
            _ if sender.is_ready() => State::Ready,
            _ => State::Busy,
        })
    }

    fn checkin(&self, authority: &Authority, sender: SendRequest<AttemptBody>) {
        if !sender.is_closed() {
            self.idle.put(authority, sender);
        }
    }

    async fn connect(&self, authority: &Authority) -> Result<SendRequest<AttemptBody>, PoolError> {
        let stream = idle::connect(authority, self.connect_timeout)
            .await
            .map_err(|source| PoolError::Connect { authority: authority.clone(), source })?;
        let handshake = http1::Builder::new().handshake(TokioIo::new(stream)).await;
        let (sender, connection) =
            handshake.map_err(|source| PoolError::Handshake { authority: authority.clone(), source })?;
        tokio::spawn(async move {
            if let Err(error) = connection.with_upgrades().await {
                tracing::debug!(%error, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle.count(|_| true)
    }

    #[cfg(test)]
    fn idle_closed_count(&self) -> usize {
        self.idle.count(|sender| sender.is_closed())
    }
}

impl Sweep for Http1Pool {
    /// Drops idle connections that are closed or stale.
    fn sweep(&self) {
        self.idle.sweep(|sender| !sender.is_closed());
    }
}

impl PoolError {
    /// `true` when nothing was sent, so the next target may be tried with the same body.
    pub(super) fn is_connect(&self) -> bool {
        matches!(self, PoolError::Connect { .. } | PoolError::Handshake { .. })
    }
}
