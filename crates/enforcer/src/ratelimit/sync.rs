//! What the request path records for the Redis sync, and how a sync's answer lands in the
//! local state. No I/O here (that is `redis_sync.rs`), so it is tested with a manual clock.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::gcra::Rate;
use super::table::KeyTable;

/// Dirty keys queued for the next sync; beyond this, the sync scans the whole table once.
const QUEUE: usize = 65_536;
/// Bit of [`SyncSlot::word`] set when a request was checked (and refused) since the last push.
const CHECKED: u64 = 1 << 32;
const PENDING: u64 = CHECKED - 1;

/// Per-key sync state, next to the key's TAT.
#[derive(Debug)]
pub(super) struct SyncSlot {
    /// The key's Redis name.
    name: Arc<str>,
    /// Low 32 bits: local admissions not yet pushed; bit 32: [`CHECKED`].
    word: AtomicU64,
    /// The last rate used for this key, sent along with the counts.
    interval: AtomicU64,
    ceiling: AtomicU64,
}

/// The replica's side of the Redis sync, shared by the request path and the sync task.
#[derive(Debug)]
pub(super) struct Replication {
    sync_interval: u64,
    /// How long after a successful sync shares still apply: until the next round has had time
    /// to succeed or to fail (2 intervals + the Redis timeout).
    freshness: u64,
    /// Local ns until which the last sync counts as fresh; before it, per-replica shares apply.
    fresh_until: AtomicU64,
    /// Live replicas (this one included) at the last sync.
    replicas: AtomicU32,
    queue: SyncSender<u64>,
    overflowed: AtomicBool,
    receiver: Mutex<Option<Receiver<u64>>>,
}

/// One key's counts for one sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Report {
    pub(super) hash: u64,
    pub(super) name: Arc<str>,
    pub(super) pending: u32,
    /// Microseconds per request, and the furthest the shared TAT may run ahead of now.
    pub(super) interval_us: u64,
    pub(super) ceiling_us: u64,
}

// === impl SyncSlot ===

impl SyncSlot {
    pub(super) fn new(name: Arc<str>, rate: Rate, stop: bool) -> Self {
        let slot = SyncSlot { name, word: AtomicU64::new(0), interval: AtomicU64::new(0), ceiling: AtomicU64::new(0) };
        slot.remember(rate, stop);
        slot
    }

    /// Local admissions not yet pushed.
    pub(super) fn unpushed(&self) -> u32 {
        (self.word.load(Ordering::Relaxed) & PENDING) as u32
    }

    /// Records an admission; `true` when the key just became dirty and must be queued.
    pub(super) fn admitted(&self, rate: Rate, stop: bool) -> bool {
        self.remember(rate, stop);
        self.word.fetch_add(1, Ordering::Relaxed) == 0
    }

    /// Records a refused request (the key must still be pulled); `true` when newly dirty.
    pub(super) fn refused(&self, rate: Rate, stop: bool) -> bool {
        self.remember(rate, stop);
        self.word.load(Ordering::Relaxed) == 0 && self.word.fetch_or(CHECKED, Ordering::Relaxed) == 0
    }

    /// Undoes [`SyncSlot::admitted`] unless the admission was already pushed.
    pub(super) fn released(&self) {
        let _ =
            self.word.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |word| (word & PENDING > 0).then(|| word - 1));
    }

    pub(super) fn is_clean(&self) -> bool {
        self.word.load(Ordering::Relaxed) == 0
    }

    /// Takes the counts to push; `None` when nothing happened since the last push.
    fn take(&self, hash: u64) -> Option<Report> {
        let word = self.word.swap(0, Ordering::Relaxed);
        (word != 0).then(|| Report {
            hash,
            name: self.name.clone(),
            pending: (word & PENDING) as u32,
            interval_us: self.interval.load(Ordering::Relaxed).div_ceil(1_000),
            ceiling_us: self.ceiling.load(Ordering::Relaxed) / 1_000,
        })
    }

    fn remember(&self, rate: Rate, stop: bool) {
        // A stopping tier's shared TAT may run a little past one bucket (concurrent replicas);
        // two buckets bound the debt a Redis outage or a policy change can leave behind.
        let ceiling = if stop { rate.tolerance().saturating_mul(2) } else { rate.tolerance() };
        if self.interval.load(Ordering::Relaxed) != rate.interval() {
            self.interval.store(rate.interval(), Ordering::Relaxed);
        }
        if self.ceiling.load(Ordering::Relaxed) != ceiling {
            self.ceiling.store(ceiling, Ordering::Relaxed);
        }
    }
}

// === impl Replication ===

impl Replication {
    pub(super) fn new(sync_interval: Duration, redis_timeout: Duration) -> Self {
        let (queue, receiver) = std::sync::mpsc::sync_channel(QUEUE);
        let nanos = |duration: Duration| u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX).max(1);
        Replication {
            sync_interval: nanos(sync_interval),
            freshness: nanos(sync_interval.saturating_mul(2).saturating_add(redis_timeout)),
            fresh_until: AtomicU64::new(0),
            replicas: AtomicU32::new(0),
            queue,
            overflowed: AtomicBool::new(false),
            receiver: Mutex::new(Some(receiver)),
        }
    }

    /// How many admissions this replica may make on one key between two syncs, or `None` when
    /// it need not hold back (no other live replica, or no fresh sync: local limits only).
    ///
    /// The share is the larger of twice a full-rate interval's worth (`2·N·d/W`, so one busy
    /// replica still reaches the policy's rate) and `N / (20·(R − 1))` (so the admissions the
    /// other replicas cannot see yet stay under a tenth of the quota), at least 1.
    pub(super) fn share(&self, rate: Rate, now: u64) -> Option<u32> {
        if self.fresh_until.load(Ordering::Relaxed) <= now {
            return None;
        }
        let others = self.replicas.load(Ordering::Relaxed).saturating_sub(1);
        if others == 0 {
            return None;
        }
        let full_rate = self.sync_interval.saturating_mul(2).div_ceil(rate.interval());
        let slice = u64::from(rate.capacity() / others.saturating_mul(20));
        Some(u32::try_from(full_rate.max(slice).max(1)).unwrap_or(u32::MAX))
    }

    /// Queues a key that just became dirty.
    pub(super) fn enqueue(&self, hash: u64) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.queue.try_send(hash) {
            self.overflowed.store(true, Ordering::Relaxed);
        }
    }

    /// The queue's receiving end, for the one sync task.
    pub(super) fn take_receiver(&self) -> Option<Receiver<u64>> {
        self.receiver.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// Takes the counts of every dirty key: the queued ones, or all after an overflow.
    pub(super) fn collect(&self, table: &KeyTable, receiver: &Receiver<u64>) -> Vec<Report> {
        let queued: Vec<u64> = receiver.try_iter().take(QUEUE).collect();
        if self.overflowed.swap(false, Ordering::Relaxed) {
            let mut reports = Vec::new();
            table.for_each(|hash, slot| reports.extend(slot.sync().and_then(|sync| sync.take(hash))));
            return reports;
        }
        let take = |hash| table.with_existing(hash, |slot| slot.sync().and_then(|sync| sync.take(hash))).flatten();
        queued.into_iter().filter_map(take).collect()
    }

    /// Lands one sync's answer: `fills[i]` is how far (µs) the shared TAT of `reports[i]` runs
    /// ahead of Redis's clock. The key's TAT becomes at least now + that fill + its local
    /// admissions since the push.
    pub(super) fn apply(&self, table: &KeyTable, reports: &[Report], fills: &[i64], now: u64) {
        for (report, fill) in reports.iter().zip(fills) {
            let fill = u64::try_from(*fill).unwrap_or(0).saturating_mul(1_000);
            table.with_existing(report.hash, |slot| {
                let since = slot.sync().map_or(0, SyncSlot::unpushed);
                let interval = report.interval_us.saturating_mul(1_000);
                slot.raise(now.saturating_add(fill).saturating_add(u64::from(since).saturating_mul(interval)));
            });
        }
    }

    /// A sync succeeded at `now` and counted `replicas` live replicas (this one included).
    pub(super) fn mark_fresh(&self, replicas: u32, now: u64) {
        self.replicas.store(replicas, Ordering::Relaxed);
        self.fresh_until.store(now.saturating_add(self.freshness), Ordering::Relaxed);
    }

    /// Whether the last successful sync is recent enough for shares to apply.
    #[cfg(test)]
    pub(super) fn is_fresh(&self, now: u64) -> bool {
        self.fresh_until.load(Ordering::Relaxed) > now
    }

    /// A sync failed: local limits only until one succeeds.
    pub(super) fn mark_stale(&self) {
        self.fresh_until.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::model::Quota;
    use crate::ratelimit::table::Slot;

    fn rate(count: u32, secs: u64) -> Rate {
        let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        Rate::new(Quota { count, period: Duration::from_secs(secs) })
    }

    #[test]
    fn shares_apply_only_with_other_live_replicas_and_a_fresh_sync() {
        let replication = Replication::new(Duration::from_millis(100), Duration::from_millis(100));
        let gold = rate(5000, 60);
        assert_eq!(replication.share(gold, 0), None, "no sync yet: local limits");
        replication.mark_fresh(1, 0);
        assert_eq!(replication.share(gold, 0), None, "alone: nothing to hold back");
        replication.mark_fresh(2, 0);
        assert_eq!(replication.share(gold, 0), Some(250), "5 % of the quota");
        assert_eq!(replication.share(rate(100, 1), 0), Some(20), "twice a full-rate interval");
        assert_eq!(replication.share(rate(10, 60), 0), Some(1));
        assert_eq!(replication.share(gold, 300_000_000), None, "no sync for 2 intervals + the timeout");
        replication.mark_fresh(3, 0);
        replication.mark_stale();
        assert_eq!(replication.share(gold, 0), None);
    }

    #[test]
    fn collect_takes_dirty_keys_once_and_apply_raises_the_tat() {
        let replication = Replication::new(Duration::from_millis(100), Duration::from_millis(100));
        let table = KeyTable::new(64, Duration::ZERO);
        let per_second = rate(10, 1);
        let make = || Slot::new(Some(SyncSlot::new("tollgate:rl:k".into(), per_second, true)));
        let record = |slot: &Slot| slot.sync().is_some_and(|sync| sync.admitted(per_second, true));
        for _ in 0..3 {
            if table.with_slot(9, 0, make, record) == Some(true) {
                replication.enqueue(9);
            }
        }
        let receiver = replication.take_receiver().unwrap_or_else(|| panic!("receiver taken"));
        let reports = replication.collect(&table, &receiver);
        assert_eq!(reports.len(), 1);
        assert_eq!((reports[0].pending, reports[0].interval_us, reports[0].ceiling_us), (3, 100_000, 2_000_000));
        assert!(replication.collect(&table, &receiver).is_empty());

        // Redis says the shared TAT runs 500 ms ahead; one local admission happened since.
        table.with_slot(9, 0, make, record);
        replication.apply(&table, &reports, &[500_000], 0);
        assert_eq!(table.with_existing(9, Slot::tat), Some(600_000_000));
    }

    #[test]
    fn an_overflowing_queue_falls_back_to_a_full_scan() {
        let replication = Replication::new(Duration::from_millis(100), Duration::from_millis(100));
        let receiver = replication.take_receiver().unwrap_or_else(|| panic!("receiver taken"));
        drop(receiver);
        let table = KeyTable::new(64, Duration::ZERO);
        let per_second = rate(10, 1);
        let make = || Slot::new(Some(SyncSlot::new("tollgate:rl:k".into(), per_second, true)));
        table.with_slot(5, 0, make, |slot| slot.sync().map(|sync| sync.refused(per_second, true)));
        replication.enqueue(5);
        let (_, receiver) = std::sync::mpsc::sync_channel(1);
        let reports = replication.collect(&table, &receiver);
        assert_eq!(reports.iter().map(|r| (r.hash, r.pending)).collect::<Vec<_>>(), [(5, 0)]);
    }
}
