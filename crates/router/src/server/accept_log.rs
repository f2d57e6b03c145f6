//! Accept failures logged without flooding. With file descriptors exhausted every `accept`
//! fails (the pending connection stays queued), and the listener retries every 50 ms: one
//! warning per failure was 20 lines a second. Here the first failure of a burst is logged at
//! once, later ones are counted and summed up in one line per interval, and the burst's end
//! (the next accepted connection) says how many were left unsaid. Each failure is still a
//! debug line. Every failure is still
//! counted in `tollgate_connection_errors_total{kind="accept"}`.

use std::time::Duration;

use tokio::time::Instant;

/// How often a burst of failures is summed up.
const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// One listener's accept failures since the last line logged.
#[derive(Debug, Default)]
pub(super) struct AcceptFailures {
    /// When the last line was logged; `None` outside a burst.
    logged_at: Option<Instant>,
    /// Failures since then.
    unsaid: u64,
}

// === impl AcceptFailures ===

impl AcceptFailures {
    /// Logs `error` when it starts a burst or an interval has passed since the last line;
    /// else counts it.
    pub(super) fn failed(&mut self, listener: &str, error: &std::io::Error, now: Instant) {
        match self.logged_at {
            Some(at) if now.duration_since(at) < SUMMARY_INTERVAL => {
                self.unsaid += 1;
                tracing::debug!(listener, %error, "accept failed again");
            }
            Some(_) => {
                let more = std::mem::take(&mut self.unsaid) + 1;
                tracing::warn!(listener, %error, failures = more, "accept still failing");
                self.logged_at = Some(now);
            }
            None => {
                tracing::warn!(listener, %error, "accept failed (later failures are summed up every 10 s)");
                self.logged_at = Some(now);
            }
        }
    }

    /// A connection was accepted: a burst in progress has ended.
    pub(super) fn accepted(&mut self, listener: &str) {
        if self.logged_at.take().is_some() && self.unsaid > 0 {
            let failures = std::mem::take(&mut self.unsaid);
            tracing::warn!(listener, failures, "accept recovered after more failures");
        }
    }

    #[cfg(test)]
    fn unsaid(&self) -> u64 {
        self.unsaid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> std::io::Error {
        std::io::Error::other("Too many open files")
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_one_line_then_one_per_interval() {
        let mut failures = AcceptFailures::default();
        let start = Instant::now();
        for tick in 0..199 {
            failures.failed("https", &emfile(), start + Duration::from_millis(50 * tick));
        }
        assert_eq!(failures.unsaid(), 198, "only the first of the first 10 s was logged");
        failures.failed("https", &emfile(), start + SUMMARY_INTERVAL);
        assert_eq!(failures.unsaid(), 0, "the interval's summary took them");
        failures.failed("https", &emfile(), start + SUMMARY_INTERVAL + Duration::from_millis(50));
        failures.accepted("https");
        assert_eq!((failures.unsaid(), failures.logged_at), (0, None), "the next failure starts a new burst");
    }
}
