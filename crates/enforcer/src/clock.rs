use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time as the enforcer sees it. Injected so that expiry, skew, cache lifetimes and limiter
/// windows are tested by moving a [`ManualClock`], never by sleeping.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Wall-clock time in whole seconds since the Unix epoch (token `exp`, `nbf`, revocations).
    fn unix_seconds(&self) -> u64;
    /// Monotonic time since an arbitrary fixed origin (limiter windows, cache ages).
    fn monotonic(&self) -> Duration;
}

pub type SharedClock = Arc<dyn Clock>;

/// The real clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    unix_seconds: AtomicU64,
    monotonic_nanos: AtomicU64,
}

// === impl SystemClock ===

impl SystemClock {
    pub fn new() -> Self {
        SystemClock { origin: Instant::now() }
    }

    pub fn shared() -> SharedClock {
        Arc::new(SystemClock::new())
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn unix_seconds(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

// === impl ManualClock ===

impl ManualClock {
    /// A clock reading `unix_seconds` on the wall and zero on the monotonic scale.
    pub fn at(unix_seconds: u64) -> Arc<Self> {
        let clock = ManualClock::default();
        clock.unix_seconds.store(unix_seconds, Ordering::SeqCst);
        Arc::new(clock)
    }

    /// Moves both scales forward by `by` (the wall clock in whole seconds, rounded down).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let before = self.monotonic_nanos.fetch_add(nanos, Ordering::SeqCst);
        let whole_seconds = (before + nanos) / 1_000_000_000 - before / 1_000_000_000;
        self.unix_seconds.fetch_add(whole_seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn unix_seconds(&self) -> u64 {
        self.unix_seconds.load(Ordering::SeqCst)
    }

    fn monotonic(&self) -> Duration {
        Duration::from_nanos(self.monotonic_nanos.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_both_scales_together() {
        let clock = ManualClock::at(1_000);
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(clock.unix_seconds(), 1_001);
        clock.advance(Duration::from_millis(600));
        assert_eq!(clock.unix_seconds(), 1_002);
        assert_eq!(clock.monotonic(), Duration::from_millis(2_100));
    }
}
