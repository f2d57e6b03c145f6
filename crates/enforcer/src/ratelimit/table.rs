//! The limiter's state: one GCRA TAT per key in a sharded map with a hard cap on keys.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use super::gcra::{Decision, Rate};
use super::sync::SyncSlot;

/// Shards of the table; a power of two. Each is a `RwLock<HashMap>` (what `dashmap` is), kept
/// by hand so that a full shard can be swept in place and its length capped.
const SHARDS: usize = 64;
/// A full shard is swept at most once per this many ns per key it holds: about 100 times what
/// a sweep costs (~2 ns a key), so sweeping a churning full shard takes ~1 % of a core.
const SWEEP_COOLDOWN_PER_KEY: u64 = 200;

/// Keyed GCRA state. Known keys are read under a shard read lock and updated with a CAS on
/// their TAT; new keys take the shard's write lock once.
///
/// Memory is bounded: at most `max_keys` slots in total (each shard holds `max_keys / shards`).
/// A key is idle once its TAT is in the past (it holds no information; with Redis, once its
/// counts are also pushed); idle keys are swept by [`KeyTable::sweep`] in the background and,
/// when a shard is full, in place before a new key is refused. A key that still finds no room
/// is not tracked: its tier admits the request without state (see the module docs).
pub(super) struct KeyTable {
    shards: Box<[Shard]>,
    shard_capacity: usize,
    /// How long past its TAT a key with counts not yet pushed to Redis is kept (ns); after
    /// that it goes anyway, so a sync that never runs cannot pin keys.
    unsynced_grace: u64,
}

/// One key's state.
#[derive(Debug)]
pub(super) struct Slot {
    /// Theoretical arrival time in ns of the limiter's clock; `<= now` means idle.
    tat: AtomicU64,
    /// Present with the Redis backend.
    sync: Option<Box<SyncSlot>>,
}

#[derive(Debug, Default)]
struct Shard {
    slots: RwLock<HashMap<u64, Slot, BuildHasherDefault<Prehashed>>>,
    /// A full shard is not swept again before this instant: nothing in it expires earlier.
    next_sweep: AtomicU64,
}

/// The map's keys are already seeded hashes; this hasher passes them through.
#[derive(Debug, Default)]
struct Prehashed(u64);

// === impl KeyTable ===

impl KeyTable {
    /// A table of at most `max_keys` keys (0 tracks nothing: every tier passes untracked).
    pub(super) fn new(max_keys: usize, unsynced_grace: Duration) -> Self {
        let shards = SHARDS.min(max_keys.max(1).next_power_of_two() / 2).max(1);
        let shards: Box<[Shard]> = (0..shards).map(|_| Shard::default()).collect();
        let unsynced_grace = u64::try_from(unsynced_grace.as_nanos()).unwrap_or(u64::MAX);
        KeyTable { shard_capacity: max_keys / shards.len(), shards, unsynced_grace }
    }

    /// Runs `f` on the slot of `hash`, creating it with `make` when there is room; `None` when
    /// the key is new and its shard is full of live keys.
    pub(super) fn with_slot<R>(
        &self,
        hash: u64,
        now: u64,
        make: impl FnOnce() -> Slot,
        f: impl FnOnce(&Slot) -> R,
    ) -> Option<R> {
        let shard = self.shard(hash);
        if let Some(slot) = shard.read().get(&hash) {
            return Some(f(slot));
        }
        let mut slots = shard.write();
        if !slots.contains_key(&hash) && slots.len() >= self.shard_capacity {
            shard.sweep_full(&mut slots, now, self.unsynced_grace);
            if slots.len() >= self.shard_capacity {
                return None;
            }
        }
        Some(f(slots.entry(hash).or_insert_with(make)))
    }

    /// Runs `f` on the slot of `hash` if it is tracked.
    pub(super) fn with_existing<R>(&self, hash: u64, f: impl FnOnce(&Slot) -> R) -> Option<R> {
        self.shard(hash).read().get(&hash).map(f)
    }

    /// Calls `f` on every slot, one shard read lock at a time.
    pub(super) fn for_each(&self, mut f: impl FnMut(u64, &Slot)) {
        for shard in &self.shards {
            shard.read().iter().for_each(|(hash, slot)| f(*hash, slot));
        }
    }

    /// Drops every idle slot; returns how many remain.
    pub(super) fn sweep(&self, now: u64) -> usize {
        let sweep = |shard: &Shard| {
            let mut slots = shard.write();
            let len = shard.sweep(&mut slots, now, self.unsynced_grace);
            if slots.capacity() > len.saturating_mul(4).max(64) {
                // After a flood: give the memory back, keeping room to double.
                slots.shrink_to(len.saturating_mul(2));
            }
            len
        };
        self.shards.iter().map(sweep).sum()
    }

    /// Tracked keys.
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.read().len()).sum()
    }

    /// The most keys the table holds.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.shard_capacity * self.shards.len()
    }

    fn shard(&self, hash: u64) -> &Shard {
        // Bits the inner map does not use for its buckets (low) or tags (top 7).
        let index = (hash >> 32) as usize & (self.shards.len() - 1);
        &self.shards[index]
    }
}

impl fmt::Debug for KeyTable {
    /// A summary: the table may hold a million keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyTable")
            .field("shards", &self.shards.len())
            .field("shard_capacity", &self.shard_capacity)
            .field("keys", &self.len())
            .finish()
    }
}

// === impl Shard ===

type Slots = HashMap<u64, Slot, BuildHasherDefault<Prehashed>>;

impl Shard {
    fn read(&self) -> RwLockReadGuard<'_, Slots> {
        // A panic while holding the lock leaves only atomics behind: the map stays usable.
        self.slots.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Slots> {
        self.slots.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sweeps a full shard unless nothing in it can have expired since the last sweep.
    fn sweep_full(&self, slots: &mut Slots, now: u64, grace: u64) {
        if now >= self.next_sweep.load(Ordering::Relaxed) {
            self.sweep(slots, now, grace);
        }
    }

    fn sweep(&self, slots: &mut Slots, now: u64, grace: u64) -> usize {
        let mut earliest = u64::MAX;
        slots.retain(|_, slot| {
            let live = !slot.is_idle(now, grace);
            if live {
                earliest = earliest.min(slot.tat().max(now));
            }
            live
        });
        let cooldown = SWEEP_COOLDOWN_PER_KEY.saturating_mul(slots.capacity() as u64);
        let next = earliest.max(now.saturating_add(cooldown));
        self.next_sweep.store(next, Ordering::Relaxed);
        slots.len()
    }
}

// === impl Slot ===

impl Slot {
    pub(super) fn new(sync: Option<SyncSlot>) -> Self {
        Slot { tat: AtomicU64::new(0), sync: sync.map(Box::new) }
    }

    pub(super) fn tat(&self) -> u64 {
        self.tat.load(Ordering::Relaxed)
    }

    pub(super) fn sync(&self) -> Option<&SyncSlot> {
        self.sync.as_deref()
    }

    /// Admits one request if the GCRA allows it, atomically.
    pub(super) fn acquire(&self, rate: Rate, now: u64, stop: bool) -> Decision {
        let mut current = self.tat();
        loop {
            let decision = rate.decide(current, now, stop);
            let Decision::Admit { tat, .. } = decision else { return decision };
            match self.tat.compare_exchange_weak(current, tat, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return decision,
                Err(actual) => current = actual,
            }
        }
    }

    /// Gives back what [`Slot::acquire`] charged, for a request a later tier refused.
    pub(super) fn release(&self, charge: u64) {
        let _ = self.tat.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tat| Some(tat.saturating_sub(charge)));
    }

    /// Raises the TAT to at least `tat` (what the other replicas consumed).
    pub(super) fn raise(&self, tat: u64) {
        self.tat.fetch_max(tat, Ordering::Relaxed);
    }

    /// Past its TAT the key holds nothing, unless it still has counts to push (for `grace`).
    fn is_idle(&self, now: u64, grace: u64) -> bool {
        let tat = self.tat();
        tat <= now && (self.sync().is_none_or(SyncSlot::is_clean) || tat.saturating_add(grace) <= now)
    }
}

// === impl Prehashed ===

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used for `u64` keys; this keeps any other input well mixed.
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::model::Quota;

    fn per_second(count: u32) -> Rate {
        Rate::new(Quota { count: NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN), period: Duration::from_secs(1) })
    }

    fn admit(table: &KeyTable, hash: u64, now: u64) -> Option<Decision> {
        table.with_slot(hash, now, || Slot::new(None), |slot| slot.acquire(per_second(1), now, true))
    }

    #[test]
    fn the_cap_holds_and_a_full_shard_sweeps_its_idle_keys() {
        let table = KeyTable::new(128, Duration::ZERO);
        assert_eq!(table.capacity(), 128);
        let mut untracked = 0;
        for key in 0..10_000u64 {
            let hash = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            untracked += usize::from(admit(&table, hash, 0).is_none());
        }
        assert_eq!(table.len(), 128);
        assert_eq!(untracked, 10_000 - 128);
        // One second later every key is idle: new keys find room again.
        let hash = 42u64.wrapping_mul(0x51_7CC1_B727_220A);
        assert!(admit(&table, hash, 1_000_000_000).is_some());
        assert!(table.len() <= 128);
        assert_eq!(table.sweep(1_000_000_000), 1);
    }

    #[test]
    fn keys_with_unpushed_counts_stay_for_the_grace_only() {
        let table = KeyTable::new(16, Duration::from_secs(1));
        let rate = per_second(1);
        let make = || Slot::new(Some(SyncSlot::new("k".into(), rate, true)));
        table.with_slot(3, 0, make, |slot| {
            slot.acquire(rate, 0, true) == Decision::Admit { tat: 1_000_000_000, charge: 1_000_000_000 }
                && slot.sync().is_some_and(|sync| sync.admitted(rate, true))
        });
        assert_eq!(table.sweep(1_500_000_000), 1, "idle but not yet pushed");
        assert_eq!(table.sweep(2_000_000_000), 0, "no sync came within the grace");
    }

    #[test]
    fn release_gives_back_the_charge() {
        let table = KeyTable::new(16, Duration::ZERO);
        assert!(matches!(admit(&table, 7, 0), Some(Decision::Admit { .. })));
        assert!(matches!(admit(&table, 7, 0), Some(Decision::Deny { .. })));
        table.with_existing(7, |slot| slot.release(1_000_000_000));
        assert!(matches!(admit(&table, 7, 0), Some(Decision::Admit { .. })));
    }
}
