//! The Generic Cell Rate Algorithm over one theoretical arrival time (TAT), in nanoseconds of
//! the limiter's monotonic clock. Pure arithmetic; the atomics live in `table.rs`.

use std::time::Duration;

use crate::model::Quota;

/// GCRA parameters of one quota: `capacity` requests per `capacity × interval`.
///
/// `interval` (the emission interval T) is the window divided by the count, rounded up, so the
/// limiter never runs faster than the policy; the burst tolerance is the whole quota
/// (`capacity × T`), so from idle a caller may spend the whole quota at once. Hence in any
/// `t` from idle at most `N + t / T` requests pass — `(k + 1)·N` in `k` windows — and a caller
/// that keeps asking gets at least `t / T ≥ k·N·(1 − N·1 ns / W)` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rate {
    interval: u64,
    capacity: u32,
}

/// What admitting one request does to a TAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Store `tat`; it moved forward by `charge` from `max(old, now)` (undo subtracts `charge`).
    Admit { tat: u64, charge: u64 },
    /// Refused: a request would pass in `wait`.
    Deny { wait: Duration },
}

// === impl Rate ===

impl Rate {
    pub(super) fn new(quota: Quota) -> Self {
        let period = u64::try_from(quota.period.as_nanos()).unwrap_or(u64::MAX);
        let capacity = quota.count.get();
        Rate { interval: period.div_ceil(u64::from(capacity)).max(1), capacity }
    }

    /// The emission interval T in nanoseconds.
    pub(super) fn interval(self) -> u64 {
        self.interval
    }

    /// The quota's request count N.
    pub(super) fn capacity(self) -> u32 {
        self.capacity
    }

    /// How far ahead of now the TAT may be after an admission: the whole quota.
    pub(super) fn tolerance(self) -> u64 {
        self.interval.saturating_mul(u64::from(self.capacity))
    }

    /// Admits one request at `now` against `tat`. With `stop == false` the request always
    /// passes and the TAT is clamped to a full bucket, so the caller is counted (its remaining
    /// quota shows 0) without building a debt it would pay for later.
    pub(super) fn decide(self, tat: u64, now: u64, stop: bool) -> Decision {
        let from = tat.max(now);
        let next = from.saturating_add(self.interval);
        let limit = now.saturating_add(self.tolerance());
        match (next <= limit, stop) {
            (true, _) => Decision::Admit { tat: next, charge: self.interval },
            (false, false) => Decision::Admit { tat: limit.max(from), charge: limit.saturating_sub(from) },
            (false, true) => Decision::Deny { wait: Duration::from_nanos(next - limit) },
        }
    }

    /// Requests that would still pass right now, given `tat`.
    pub(super) fn remaining(self, tat: u64, now: u64) -> u32 {
        let used = tat.saturating_sub(now).min(self.tolerance());
        let left = (self.tolerance() - used) / self.interval;
        u32::try_from(left).unwrap_or(u32::MAX)
    }

    /// Until the whole quota is available again.
    pub(super) fn reset(tat: u64, now: u64) -> Duration {
        Duration::from_nanos(tat.saturating_sub(now))
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn rate(count: u32, period: Duration) -> Rate {
        let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        Rate::new(Quota { count, period })
    }

    fn nanos(duration: Duration) -> u64 {
        u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
    }

    /// A caller that asks every `step` from idle at 0 until `horizon` (exclusive); returns how
    /// many requests passed.
    fn greedy(rate: Rate, step: u64, horizon: u64) -> u64 {
        let (mut tat, mut admitted, mut now) = (0, 0, 0);
        while now < horizon {
            if let Decision::Admit { tat: next, .. } = rate.decide(tat, now, true) {
                tat = next;
                admitted += 1;
                continue; // ask again at the same instant: the burst is spent at once
            }
            now += step;
        }
        admitted
    }

    #[test]
    fn from_idle_k_windows_admit_between_095_kn_and_k_plus_one_n() {
        let cases = [
            (10, Duration::from_secs(60)),
            (7, Duration::from_secs(60)),
            (1000, Duration::from_secs(60)),
            (5000, Duration::from_secs(60)),
            (100, Duration::from_secs(1)),
            (3, Duration::from_secs(3600)),
        ];
        for (count, window) in cases {
            let rate = rate(count, window);
            for k in 1..=5u64 {
                let horizon = nanos(window) * k;
                let step = (nanos(window) / u64::from(count) / 7).max(1);
                let admitted = greedy(rate, step, horizon);
                let n = u64::from(count);
                assert!(admitted <= (k + 1) * n, "{count}/{window:?}, k={k}: {admitted} > {}", (k + 1) * n);
                assert!(admitted * 100 >= 95 * k * n, "{count}/{window:?}, k={k}: {admitted} < 0.95·{}", k * n);
            }
        }
    }

    #[test]
    fn a_burst_of_the_whole_quota_passes_then_one_per_interval() {
        let rate = rate(4, Duration::from_secs(4));
        let mut tat = 0;
        for _ in 0..4 {
            let Decision::Admit { tat: next, charge } = rate.decide(tat, 0, true) else { panic!("burst refused") };
            assert_eq!(charge, 1_000_000_000);
            tat = next;
        }
        assert_eq!(rate.remaining(tat, 0), 0);
        assert_eq!(rate.decide(tat, 0, true), Decision::Deny { wait: Duration::from_secs(1) });
        assert_eq!(rate.decide(tat, 400_000_000, true), Decision::Deny { wait: Duration::from_millis(600) });
        assert!(matches!(rate.decide(tat, 1_000_000_000, true), Decision::Admit { .. }));
        assert_eq!(Rate::reset(tat, 1_000_000_000), Duration::from_secs(3));
    }

    #[test]
    fn without_stop_everything_passes_and_the_tat_stays_within_one_bucket() {
        let rate = rate(2, Duration::from_secs(2));
        let mut tat = 0;
        for _ in 0..10 {
            let Decision::Admit { tat: next, .. } = rate.decide(tat, 0, false) else { panic!("refused") };
            tat = next;
        }
        assert_eq!(tat, rate.tolerance());
        assert_eq!(rate.remaining(tat, 0), 0);
        assert_eq!(rate.decide(tat, 0, false), Decision::Admit { tat, charge: 0 });
    }

    #[test]
    fn the_interval_rounds_up_so_the_limiter_never_runs_fast() {
        let rate = rate(7, Duration::from_secs(60));
        assert_eq!(rate.interval(), 8_571_428_572);
        assert!(rate.tolerance() >= 60_000_000_000);
        assert_eq!(rate.remaining(0, 0), 7);
    }
}
