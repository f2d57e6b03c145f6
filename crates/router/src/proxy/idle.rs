//! What both plain-HTTP/1.1 pools share: idle connections kept per upstream authority, a
//! periodic sweep of the stale ones, and the TCP connect.
//!
//! Staleness is counted in sweeps, not read from the clock on every return to the pool: a
//! sweep runs every idle timeout, and drops what was returned before the previous sweep, so
//! an unused connection is closed after between one and two idle timeouts.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use http::uri::Authority;
use tokio::net::TcpStream;

/// Idle connections by upstream authority as configured (`Authority` hashes byte by byte,
/// case-folded; the configured text hashes in one go).
type ByAuthority<C> = HashMap<Box<str>, Vec<Idle<C>>, foldhash::fast::RandomState>;

/// The idle connections of one pool.
#[derive(Debug)]
pub(super) struct IdleConnections<C> {
    max_per_host: usize,
    /// Sweeps so far.
    sweeps: AtomicU64,
    idle: Mutex<ByAuthority<C>>,
}

#[derive(Debug)]
struct Idle<C> {
    connection: C,
    /// Sweeps done when the connection was returned.
    since: u64,
}

/// What a checkout finds an idle connection to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Free for the next request.
    Ready,
    /// Still finishing its previous exchange: left in the pool.
    Busy,
    /// Closed (or unusable): dropped.
    Closed,
}

/// A pool whose stale idle connections a periodic sweep drops.
pub(super) trait Sweep: Send + Sync + 'static {
    fn sweep(&self);
}

// === impl IdleConnections ===

impl<C> IdleConnections<C> {
    pub(super) fn new(max_per_host: usize) -> Self {
        IdleConnections { max_per_host, sweeps: AtomicU64::new(0), idle: Mutex::default() }
    }

    /// The most recently returned connection to `authority` that `state` finds ready; the
    /// closed ones met on the way are dropped.
    pub(super) fn take(&self, authority: &Authority, mut state: impl FnMut(&mut C) -> State) -> Option<C> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let connections = idle.get_mut(authority.as_str())?;
        let mut index = connections.len();
        while index > 0 {
            index -= 1;
            match state(&mut connections[index].connection) {
                State::Ready => return Some(connections.swap_remove(index).connection),
                State::Busy => {}
                State::Closed => drop(connections.swap_remove(index)),
            }
        }
        None
    }

    /// Keeps `connection` for the next request to `authority`, unless the cap is reached
    /// (then it is dropped, which closes it).
    pub(super) fn put(&self, authority: &Authority, connection: C) {
        let connection = Idle { connection, since: self.sweeps.load(Ordering::Relaxed) };
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        match idle.get_mut(authority.as_str()) {
            Some(connections) if connections.len() < self.max_per_host => connections.push(connection),
            Some(_) => {}
            None => {
                idle.insert(authority.as_str().into(), vec![connection]);
            }
        }
    }

    /// Drops the connections that were returned before the previous sweep, and those that
    /// `alive` finds closed.
    pub(super) fn sweep(&self, mut alive: impl FnMut(&mut C) -> bool) {
        let previous = self.sweeps.fetch_add(1, Ordering::Relaxed);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.retain(|_, connections| {
            connections.retain_mut(|c| c.since >= previous && alive(&mut c.connection));
            !connections.is_empty()
        });
    }

    #[cfg(test)]
    pub(super) fn count(&self, mut matching: impl FnMut(&mut C) -> bool) -> usize {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.values_mut().flatten().map(|c| matching(&mut c.connection)).filter(|matched| *matched).count()
    }
}

/// `pool`, swept every `idle_timeout` (at least every second) for as long as it lives.
pub(super) fn swept<P: Sweep>(pool: P, idle_timeout: Duration) -> Arc<P> {
    let pool = Arc::new(pool);
    tokio::spawn(sweep_every(Arc::downgrade(&pool), idle_timeout.max(Duration::from_secs(1))));
    pool
}

async fn sweep_every<P: Sweep>(pool: Weak<P>, every: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match pool.upgrade() {
            Some(pool) => pool.sweep(),
            None => return,
        }
    }
}

/// A TCP connection to `authority` (port 80 by default) with `TCP_NODELAY`, within `timeout`.
pub(super) async fn connect(authority: &Authority, timeout: Duration) -> io::Result<TcpStream> {
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    let stream = match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(connected) => connected?,
        Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
    };
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "set_nodelay failed on an upstream connection");
    }
    Ok(stream)
}
