use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::enforcement::Enforcement;
use crate::enforcer::Access;
use crate::metrics::EnforcerMetrics;
use crate::principal::Principal;
use crate::rejection::Rejection;

use super::gcra::{Decision, Rate};
use super::metrics::LimiterMetrics;
use super::redis_sync::SyncTask;
use super::settings::{RateLimitBackend, RateLimitSettings};
use super::sync::{Replication, SyncSlot};
use super::table::{KeyTable, Slot};
use super::throttled::{QuotaStatus, Throttled};
use super::tiers::{MAX_TIERS, Plan, Tier};

/// Applies the rate-limit tiers; its counters outlive snapshot swaps (keys do not name the
/// policy, so a policy change keeps every counter and applies the new quota to it).
#[derive(Debug)]
pub struct RateLimiter {
    shared: Arc<Shared>,
}

/// What the request path and the background tasks share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) settings: RateLimitSettings,
    clock: SharedClock,
    pub(super) table: KeyTable,
    /// Seeded per process. `quality`, not `fast`: the table takes shard and bucket bits from
    /// the hash itself, so every bit must be well mixed.
    hasher: foldhash::quality::RandomState,
    /// Present with the Redis backend.
    pub(super) replication: Option<Replication>,
    pub(super) metrics: LimiterMetrics,
    started: AtomicBool,
}

/// What one tier took from one key, to give back or to report.
#[derive(Debug, Clone, Copy, Default)]
struct Grant {
    hash: u64,
    tat: u64,
    charge: u64,
    /// `false`: the key table was full and the tier passed without state.
    tracked: bool,
}

/// Why one tier refused: its TAT and the wait until it admits again.
#[derive(Debug, Clone, Copy)]
struct Denial {
    tat: u64,
    wait: Duration,
}

// === impl RateLimiter ===

impl RateLimiter {
    /// A limiter with empty counters. `tollgate_throttled_total` is counted by the enforcer from
    /// the rejection, so `_metrics` is not needed here; the limiter's own metrics are exposed
    /// through [`RateLimiter::register_metrics`].
    pub fn new(settings: RateLimitSettings, clock: SharedClock, _metrics: EnforcerMetrics) -> Self {
        let replication = match &settings.backend {
            RateLimitBackend::Local => None,
            RateLimitBackend::Redis { .. } => Some(Replication::new(settings.sync_interval, settings.redis_timeout)),
        };
        let shared = Shared {
            table: KeyTable::new(settings.max_keys, unsynced_grace(&settings)),
            settings,
            clock,
            hasher: foldhash::quality::RandomState::default(),
            replication,
            metrics: LimiterMetrics::new(),
            started: AtomicBool::new(false),
        };
        RateLimiter { shared: Arc::new(shared) }
    }

    /// Checks every tier of the request, in order (api-level → certificate burst → certificate →
    /// burst → subscription → application; the module doc has the table), and charges them only if all admit.
    ///
    /// - `Err(Rejection::RateLimited)`: the first tier in that order that refuses; no tier is
    ///   charged for the refused request (tiers are charged in order and given back on refusal).
    /// - `Ok(Some(status))` when `headers` is on: the most constrained tier, i.e. the one with the
    ///   fewest requests remaining (the earlier tier on a tie), for the success headers.
    /// - `Ok(None)`: headers off, or no limited tier applies.
    ///
    /// Never blocks on I/O: with Redis, counts are exchanged by the task [`RateLimiter::start`] runs.
    pub fn check(
        &self,
        data: &Enforcement,
        access: &Access<'_>,
        principal: Option<&Principal>,
    ) -> Result<Option<QuotaStatus>, Rejection> {
        let plan = Plan::new(data, access, principal);
        if plan.is_empty() {
            return Ok(None);
        }
        let now = self.shared.now();
        let mut grants = [Grant::default(); MAX_TIERS];
        for (index, tier) in plan.iter().enumerate() {
            match self.shared.acquire(tier, now) {
                Ok(grant) => grants[index] = grant,
                Err(denial) => {
                    grants[..index].iter().for_each(|grant| self.shared.release(grant));
                    return Err(Rejection::RateLimited(Box::new(throttled(tier, denial, now))));
                }
            }
        }
        Ok(self.shared.settings.headers.then(|| most_constrained(&plan, &grants, now)).flatten())
    }

    /// Starts the background work inside the current Tokio runtime: idle-key pruning every
    /// `prune_interval` and, with Redis, the sync every `sync_interval`. Call it once; later
    /// calls (and calls outside a runtime, logged) start nothing. The tasks end by themselves
    /// when the limiter is dropped, or when their handles are aborted.
    pub fn start(&self) -> Vec<JoinHandle<()>> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!("rate limiter started outside a Tokio runtime; no pruning or Redis sync");
            return Vec::new();
        };
        if self.shared.started.swap(true, Ordering::SeqCst) {
            return Vec::new();
        }
        let weak = Arc::downgrade(&self.shared);
        let mut tasks = vec![runtime.spawn(prune(weak.clone(), self.shared.settings.prune_interval))];
        let sync = self.sync_task(weak);
        tasks.extend(sync.map(|task| runtime.spawn(task.run(self.shared.settings.sync_interval))));
        tasks
    }

    /// Registers the limiter's own metrics: `tollgate_rate_limit_redis_errors_total`,
    /// `tollgate_rate_limit_untracked_total` and the gauge `tollgate_rate_limit_keys`.
    pub fn register_metrics(&self, registry: &prometheus::Registry) -> prometheus::Result<()> {
        self.shared.metrics.register(registry)
    }

    /// Keys tracked right now (at most `max_keys`).
    pub fn tracked_keys(&self) -> usize {
        self.shared.table.len()
    }

    /// Drops idle keys now (the background task does this every `prune_interval`).
    pub fn prune(&self) -> usize {
        self.shared.prune()
    }

    fn sync_task(&self, weak: Weak<Shared>) -> Option<SyncTask> {
        let RateLimitBackend::Redis { url } = &self.shared.settings.backend else { return None };
        let receiver = self.shared.replication.as_ref()?.take_receiver()?;
        SyncTask::new(weak, url, receiver)
    }

    #[cfg(test)]
    pub(super) fn shared(&self) -> &Shared {
        &self.shared
    }
}

// === impl Shared ===

impl Shared {
    /// The limiter's clock in ns.
    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.clock.monotonic().as_nanos()).unwrap_or(u64::MAX)
    }

    fn acquire(&self, tier: &Tier<'_>, now: u64) -> Result<Grant, Denial> {
        let hash = tier.key.hash(tier.level, &self.hasher);
        let make = || Slot::new(self.replication.as_ref().map(|_| self.sync_slot(tier)));
        let outcome = self.table.with_slot(hash, now, make, |slot| self.acquire_slot(slot, hash, tier, now));
        outcome.unwrap_or_else(|| {
            self.metrics.untracked.inc();
            Ok(Grant { hash, tat: now, charge: 0, tracked: false })
        })
    }

    fn acquire_slot(&self, slot: &Slot, hash: u64, tier: &Tier<'_>, now: u64) -> Result<Grant, Denial> {
        if self.over_share(slot, tier, now) {
            let wait = self.settings.sync_interval;
            return Err(self.refused(slot, hash, tier, wait));
        }
        match slot.acquire(tier.rate, now, tier.stop) {
            Decision::Admit { tat, charge } => {
                if slot.sync().is_some_and(|sync| sync.admitted(tier.rate, tier.stop)) {
                    self.enqueue(hash);
                }
                Ok(Grant { hash, tat, charge, tracked: true })
            }
            Decision::Deny { wait } => Err(self.refused(slot, hash, tier, wait)),
        }
    }

    /// With Redis: has this replica spent its share of the key since the last sync?
    fn over_share(&self, slot: &Slot, tier: &Tier<'_>, now: u64) -> bool {
        let (Some(replication), Some(sync)) = (&self.replication, slot.sync()) else { return false };
        tier.stop && replication.share(tier.rate, now).is_some_and(|share| sync.unpushed() >= share)
    }

    fn refused(&self, slot: &Slot, hash: u64, tier: &Tier<'_>, wait: Duration) -> Denial {
        if slot.sync().is_some_and(|sync| sync.refused(tier.rate, tier.stop)) {
            self.enqueue(hash);
        }
        Denial { tat: slot.tat(), wait }
    }

    fn release(&self, grant: &Grant) {
        if grant.tracked {
            self.table.with_existing(grant.hash, |slot| {
                slot.release(grant.charge);
                slot.sync().inspect(|sync| sync.released());
            });
        }
    }

    fn enqueue(&self, hash: u64) {
        if let Some(replication) = &self.replication {
            replication.enqueue(hash);
        }
    }

    fn sync_slot(&self, tier: &Tier<'_>) -> SyncSlot {
        SyncSlot::new(tier.key.redis_name(tier.level).into(), tier.rate, tier.stop)
    }

    fn prune(&self) -> usize {
        let keys = self.table.sweep(self.now());
        self.metrics.keys.set(i64::try_from(keys).unwrap_or(i64::MAX));
        keys
    }
}

/// Prunes idle keys every `every` until the limiter is dropped.
async fn prune(shared: Weak<Shared>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        shared.prune();
    }
}

/// With Redis, a key keeps counts not yet pushed for ten sync intervals (at least 1 s) past
/// its TAT; a running sync pushes them within one.
fn unsynced_grace(settings: &RateLimitSettings) -> Duration {
    settings.sync_interval.saturating_mul(10).max(Duration::from_secs(1))
}

fn throttled(tier: &Tier<'_>, denial: Denial, now: u64) -> Throttled {
    let status = QuotaStatus {
        level: tier.level,
        policy: tier.policy.id.name.clone(),
        limit: tier.quota.count.get(),
        window: tier.quota.period,
        remaining: 0,
        // A refusal by the per-replica share may come with a TAT in the past: never `t=0`.
        reset: Rate::reset(denial.tat, now).max(denial.wait),
    };
    Throttled { level: tier.level, status, retry_after: denial.wait }
}

/// The tracked tier with the fewest requests remaining; the earlier one on a tie.
fn most_constrained(plan: &Plan<'_>, grants: &[Grant], now: u64) -> Option<QuotaStatus> {
    let remaining = |(tier, grant): &(&Tier<'_>, &Grant)| tier.rate.remaining(grant.tat, now);
    let (tier, grant) = plan.iter().zip(grants).filter(|(_, grant)| grant.tracked).min_by_key(remaining)?;
    Some(QuotaStatus {
        level: tier.level,
        policy: tier.policy.id.name.clone(),
        limit: tier.quota.count.get(),
        window: tier.quota.period,
        remaining: tier.rate.remaining(grant.tat, now),
        reset: Rate::reset(grant.tat, now),
    })
}
