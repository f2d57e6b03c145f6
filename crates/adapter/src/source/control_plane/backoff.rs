//! Exponential backoff with jitter between failed attempts (control-plane.md: from 0.5 s up
//! to 30 s).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The first wait after a failure.
pub const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// The longest wait between attempts.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Waits that double after each failure, from `min` up to `max`, with "equal jitter": the
/// n-th wait is uniform in `[c/2, c]` where `c = min(max, min·2ⁿ)`, and never below `min`.
/// The jitter spreads a fleet of gateways that lost the control plane at the same moment;
/// keeping half of each ceiling makes the growth still visible in every single wait.
#[derive(Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
    rng: StdRng,
}

// === impl Backoff ===

impl Backoff {
    /// From `min` up to `max`, with a random seed.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self::seeded(min, max, rand::random())
    }

    /// The same, with a fixed seed (tests).
    pub fn seeded(min: Duration, max: Duration, seed: u64) -> Self {
        Backoff { min, max: max.max(min), failures: 0, rng: StdRng::seed_from_u64(seed) }
    }

    /// The wait before the next attempt; each call counts one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let half = ceiling / 2;
        // Whole milliseconds: timers are no finer.
        let jitter = Duration::from_millis(self.rng.random_range(0..=millis(half)));
        (half + jitter).clamp(self.min, self.max)
    }

    /// Sleeps for [`Backoff::next_delay`] (Tokio time: tests pause it).
    pub async fn wait(&mut self) -> Duration {
        let delay = self.next_delay();
        tokio::time::sleep(delay).await;
        delay
    }

    /// Back to the shortest wait after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures counted since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        self.min.checked_mul(factor).map_or(self.max, |ceiling| ceiling.min(self.max))
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(BACKOFF_MIN, BACKOFF_MAX)
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_from_half_a_second_to_thirty_with_jitter() {
        let mut backoff = Backoff::seeded(BACKOFF_MIN, BACKOFF_MAX, 7);
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays[0], BACKOFF_MIN, "the first wait is the minimum");
        for (n, delay) in delays.iter().enumerate() {
            let ceiling = BACKOFF_MIN.saturating_mul(1 << n).min(BACKOFF_MAX);
            assert!(*delay >= (ceiling / 2).max(BACKOFF_MIN) && *delay <= ceiling, "wait {n}: {delay:?}");
        }
        assert!(delays[10] >= Duration::from_secs(15) && delays[11] <= BACKOFF_MAX);
    }

    #[test]
    fn jitter_differs_between_gateways_and_reset_starts_over() {
        let run = |seed| {
            let mut backoff = Backoff::seeded(BACKOFF_MIN, BACKOFF_MAX, seed);
            (0..8).map(|_| backoff.next_delay()).collect::<Vec<_>>()
        };
        assert_ne!(run(1), run(2), "two gateways do not retry in lockstep");
        let mut backoff = Backoff::seeded(BACKOFF_MIN, BACKOFF_MAX, 3);
        for _ in 0..5 {
            backoff.next_delay();
        }
        assert_eq!(backoff.failures(), 5);
        backoff.reset();
        assert_eq!(backoff.next_delay(), BACKOFF_MIN);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_sleeps_for_the_delay_on_the_tokio_clock() {
        let mut backoff = Backoff::seeded(BACKOFF_MIN, BACKOFF_MAX, 11);
        let start = tokio::time::Instant::now();
        let mut total = Duration::ZERO;
        for _ in 0..10 {
            total += backoff.wait().await;
        }
        assert_eq!(start.elapsed(), total);
        assert!(total > Duration::from_secs(60), "ten failures wait over a minute in all: {total:?}");
    }
}
