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

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use http::uri::Authority;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::body::AttemptBody;

#[cfg(test)]
#[path = "tests/pool.rs"]
mod tests;

/// Idle connections of one pool, by upstream authority as configured (`Authority` hashes
/// byte by byte, case-folded; the configured text hashes in one go).
type Idle = HashMap<Box<str>, Vec<IdleConnection>, foldhash::fast::RandomState>;

/// The HTTP/1.1 connections to plain-HTTP upstreams of one connect-timeout profile.
#[derive(Debug)]
pub(super) struct Http1Pool {
    connect_timeout: Duration,
    idle_timeout: Duration,
    max_idle_per_host: usize,
    idle: Mutex<Idle>,
}

#[derive(Debug)]
struct IdleConnection {
    sender: SendRequest<AttemptBody>,
    since: Instant,
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
    /// A pool whose idle connections are swept every `idle_timeout` (at least every second)
    /// for as long as the pool lives. Must be called within a tokio runtime.
    pub(super) fn start(connect_timeout: Duration, idle_timeout: Duration, max_idle_per_host: usize) -> Arc<Self> {
        let pool = Arc::new(Http1Pool { connect_timeout, idle_timeout, max_idle_per_host, idle: Mutex::default() });
        tokio::spawn(sweep_every(Arc::downgrade(&pool), idle_timeout.max(Duration::from_secs(1))));
        pool
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
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let connections = idle.get_mut(authority.as_str())?;
        while let Some(index) = connections.iter().rposition(|c| c.sender.is_ready() || c.sender.is_closed()) {
            let connection = connections.swap_remove(index);
            if !connection.sender.is_closed() {
                return Some(connection.sender);
            }
        }
        None
    }

    fn checkin(&self, authority: &Authority, sender: SendRequest<AttemptBody>) {
        if sender.is_closed() {
            return;
        }
        let connection = IdleConnection { sender, since: Instant::now() };
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        match idle.get_mut(authority.as_str()) {
            Some(connections) if connections.len() < self.max_idle_per_host => connections.push(connection),
            Some(_) => {} // Over the cap: dropping the sender closes the connection.
            None => {
                idle.insert(authority.as_str().into(), vec![connection]);
            }
        }
    }

    async fn connect(&self, authority: &Authority) -> Result<SendRequest<AttemptBody>, PoolError> {
        let connect_error = |source| PoolError::Connect { authority: authority.clone(), source };
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let stream = match tokio::time::timeout(self.connect_timeout, TcpStream::connect((host, port))).await {
            Ok(connected) => connected.map_err(connect_error)?,
            Err(_) => return Err(connect_error(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))),
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "set_nodelay failed on an upstream connection");
        }
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

    /// Drops idle connections that are closed or, at `now`, older than the idle timeout.
    fn sweep(&self, now: Instant) {
        let Some(oldest) = now.checked_sub(self.idle_timeout) else { return };
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.retain(|_, connections| {
            connections.retain(|c| !c.sender.is_closed() && c.since > oldest);
            !connections.is_empty()
        });
    }

    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).values().map(Vec::len).sum()
    }

    #[cfg(test)]
    fn idle_closed_count(&self) -> usize {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.values().flatten().filter(|c| c.sender.is_closed()).count()
    }
}

impl PoolError {
    /// `true` when nothing was sent, so the next target may be tried with the same body.
    pub(super) fn is_connect(&self) -> bool {
        matches!(self, PoolError::Connect { .. } | PoolError::Handshake { .. })
    }
}

async fn sweep_every(pool: Weak<Http1Pool>, every: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match pool.upgrade() {
            Some(pool) => pool.sweep(Instant::now()),
            None => return,
        }
    }
}
