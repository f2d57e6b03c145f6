//! What a client connection is doing, for its idle and request-head deadlines.
//!
//! hyper's own HTTP/1.1 `header_read_timeout` starts as soon as a keep-alive connection waits
//! for its next request, so it would also bound idle connections; it is off, and the
//! connection's task follows [`Activity`] instead: with no request in flight, the connection
//! is idle until a byte of a next request head arrives (HTTP/1.1), and from then on that head
//! must be complete within the header timeout.
//!
//! The deadline is kept lazily, as nginx keeps its timers: a request changes only atomics, and
//! the connection's one timer, never set further ahead than the shorter of the two timeouts,
//! looks at the phase when it fires and sets itself to the exact deadline when one is within
//! reach. Re-arming a timer and waking the connection's task at each request's start and end
//! cost about a microsecond per request.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// How an HTTP/2 prior-knowledge connection starts (RFC 9113 §3.4).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One connection's requests in flight and when it last became idle; shared by its IO (which
/// reports reads), its service (requests start) and its response bodies (requests end).
#[derive(Debug)]
pub(super) struct Activity {
    origin: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `origin` when the last request ended.
    idle_since: AtomicU64,
    /// 1 + milliseconds after `origin` when the first byte of the next request head arrived;
    /// 0 while none did.
    head_since: AtomicU64,
    /// HTTP/2 frames arriving between requests (PING, SETTINGS) do not start a head.
    http2: AtomicBool,
    /// An HTTP/1.1 answer said `Connection: close` while the client may still be sending its
    /// body: the close lingers (see `client_io`).
    unread_input: AtomicBool,
}

/// Counts one request as in flight until dropped (with its response body).
#[derive(Debug)]
pub(super) struct InFlight(Arc<Activity>);

/// Why a connection's deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expired {
    /// No request in flight for the idle timeout: finish gracefully.
    Idle,
    /// A request head begun but not complete within the header timeout: close.
    Head,
}

/// The connection deadlines (`[listener]` settings).
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadlines {
    pub(super) idle: Duration,
    pub(super) head: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Busy,
    Idle(u64),
    Head(u64),
}

// === impl Activity ===

impl Activity {
    pub(super) fn new(http2: bool) -> Arc<Self> {
        Arc::new(Activity {
            origin: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
            http2: AtomicBool::new(http2),
            unread_input: AtomicBool::new(false),
        })
    }

    /// The client may still be sending when the connection closes.
    pub(super) fn input_left_unread(&self) {
        self.unread_input.store(true, Ordering::Relaxed);
    }

    pub(super) fn has_unread_input(&self) -> bool {
        self.unread_input.load(Ordering::Relaxed)
    }

    /// A request reached the service; `http2` tells a plain connection's protocol.
    pub(super) fn request_started(self: &Arc<Self>, http2: bool) -> InFlight {
        if http2 {
            self.http2.store(true, Ordering::Relaxed);
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(0, Ordering::Release);
        InFlight(self.clone())
    }

    /// The connection read `bytes`. On the plain listener, the HTTP/2 prior-knowledge preface
    /// tells an HTTP/2 connection before its first request.
    pub(super) fn bytes_read(&self, bytes: &[u8]) {
        let between_requests = self.in_flight.load(Ordering::Acquire) == 0;
        if !between_requests || self.http2.load(Ordering::Relaxed) || self.head_since.load(Ordering::Acquire) != 0 {
            return;
        }
        if bytes.starts_with(HTTP2_PREFACE) {
            self.http2.store(true, Ordering::Relaxed);
            return;
        }
        self.head_since.store(self.now() + 1, Ordering::Release);
    }

    /// Resolves when the connection has been idle, or inside a request head, for too long.
    pub(super) async fn expired(&self, deadlines: Deadlines) -> Expired {
        // A head or an idle period that starts after the timer was set ends after it fires.
        let reach = deadlines.idle.min(deadlines.head);
        let mut sleep = pin!(tokio::time::sleep(reach));
        loop {
            sleep.as_mut().await;
            let (since, limit, expired) = match self.phase() {
                Phase::Busy => {
                    sleep.as_mut().reset(Instant::now() + reach);
                    continue;
                }
                Phase::Idle(since) => (since, deadlines.idle, Expired::Idle),
                Phase::Head(since) => (since, deadlines.head, Expired::Head),
            };
            let deadline = self.origin + Duration::from_millis(since) + limit;
            let now = Instant::now();
            if deadline <= now {
                return expired;
            }
            sleep.as_mut().reset(deadline.min(now + reach));
        }
    }

    fn phase(&self) -> Phase {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Phase::Busy;
        }
        match self.head_since.load(Ordering::Acquire) {
            0 => Phase::Idle(self.idle_since.load(Ordering::Acquire)),
            since => Phase::Head(since - 1),
        }
    }

    fn request_ended(&self) {
        self.idle_since.store(self.now(), Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

// === impl InFlight ===

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINES: Deadlines = Deadlines { idle: Duration::from_secs(15), head: Duration::from_secs(10) };

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_expires_after_the_idle_timeout() {
        let activity = Activity::new(false);
        let started = Instant::now();
        assert_eq!(activity.expired(DEADLINES).await, Expired::Idle);
        assert_eq!(started.elapsed(), DEADLINES.idle);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_holds_the_connection_and_idleness_counts_from_its_end()
    -> Result<(), tokio::task::JoinError> {
        let activity = Activity::new(true);
        let request = activity.request_started(true);
        let ended = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            drop(request);
        });
        let started = Instant::now();
        assert_eq!(activity.expired(DEADLINES).await, Expired::Idle);
        assert_eq!(started.elapsed(), Duration::from_secs(60) + DEADLINES.idle);
        ended.await
    }

    #[tokio::test(start_paused = true)]
    async fn a_begun_http1_head_gets_the_header_timeout_from_its_first_byte() {
        let activity = Activity::new(false);
        tokio::time::sleep(Duration::from_secs(12)).await;
        activity.bytes_read(b"GET / HTTP/1.1\r\n");
        let started = Instant::now();
        assert_eq!(activity.expired(DEADLINES).await, Expired::Head);
        assert_eq!(started.elapsed(), DEADLINES.head);
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_begun_while_the_deadline_runs_ends_exactly_at_its_own_deadline()
    -> Result<(), tokio::task::JoinError> {
        let activity = Activity::new(false);
        let writer = activity.clone();
        let head = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(12)).await;
            writer.bytes_read(b"GET / HTTP/1.1\r\n");
        });
        let started = Instant::now();
        assert_eq!(activity.expired(DEADLINES).await, Expired::Head);
        assert_eq!(started.elapsed(), Duration::from_secs(12) + DEADLINES.head);
        head.await
    }

    #[tokio::test(start_paused = true)]
    async fn http2_frames_between_requests_do_not_start_a_head() {
        let activity = Activity::new(true);
        activity.bytes_read(b"\0\0\x08\x06\0\0\0\0\0");
        assert_eq!(activity.expired(DEADLINES).await, Expired::Idle);
        let prior_knowledge = Activity::new(false);
        prior_knowledge.bytes_read(HTTP2_PREFACE);
        prior_knowledge.bytes_read(b"\0\0\x08\x06\0\0\0\0\0");
        assert_eq!(prior_knowledge.expired(DEADLINES).await, Expired::Idle);
    }
}
