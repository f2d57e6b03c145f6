use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use crate::dto::{LiveRaw, RawEntity, RawSource};
use crate::validate::{Entity, FieldError, Problem, UniqueKey};
use indexmap::IndexMap as StdIndexMap;

/// Seeded fast hashing (SipHash was a tenth of a 10k-API build); keys come from the
/// control plane or the operator's files.
type Hasher = foldhash::fast::RandomState;
type HashMap<K, V> = StdHashMap<K, V, Hasher>;
type IndexMap<K, V> = StdIndexMap<K, V, Hasher>;

/// How unique values are enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Uniqueness {
    /// Within a document: any clash rejects the later entity.
    Strict,
    /// For an event: values marked `taken_over_by_events` move to the new entity.
    EventsTakeOver,
}

/// A validated entity with its key and unique values, computed once, where it was
/// validated (on the validating threads for a document): admitting it into a set, one
/// entity after the other, then only looks them up.
#[derive(Debug)]
pub(crate) struct Candidate<T> {
    entity: T,
    key: String,
    uniques: Vec<UniqueKey>,
}

/// A candidate that fits the set.
#[derive(Debug)]
pub(crate) struct Admitted<T> {
    pub(crate) entity: T,
    pub(crate) key: String,
    uniques: Vec<UniqueKey>,
}

/// The validated entities of one kind, by key, in insertion order (a replaced entity keeps
/// its place), with the owners of their unique values.
#[derive(Debug)]
pub(crate) struct EntitySet<T> {
    entries: IndexMap<String, Slot<T>>,
    /// What (`name and version`) → value → the key of the entity that holds it. Nested so
    /// that a value is looked up by reference.
    owners: HashMap<&'static str, HashMap<String, String>>,
    /// Something changed since the last snapshot build.
    changed: bool,
}

/// How one kind's entities differ from those served before: by key, added, removed, or
/// replaced by a version that behaves differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Diff {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
}

/// Where an entity admitted from a document was validated from.
#[derive(Debug, Default)]
pub(crate) struct Provenance {
    pub(crate) source: RawSource,
    pub(crate) origin: Option<Arc<str>>,
}

#[derive(Debug)]
struct Slot<T> {
    entity: Arc<T>,
    /// The raw entity it was validated from, when that came from a document. A later
    /// document holding the very same raw entity (the file source's unchanged files) reuses
    /// the entity without decoding it again. Weak: the catalog never keeps documents alive.
    source: RawSource,
    /// The file it came from (the file source's documents), for `/config`.
    origin: Option<Arc<str>>,
}

// === impl EntitySet ===

impl<T: Entity> EntitySet<T> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        EntitySet {
            entries: IndexMap::with_capacity_and_hasher(capacity, Hasher::default()),
            owners: HashMap::default(),
            changed: false,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Arc<T>> {
        self.entries.get(key).map(|slot| &slot.entity)
    }

    /// The entity under `key` if it was validated from exactly `raw` (the same allocation).
    pub(crate) fn built_from(&self, key: &str, raw: &RawEntity) -> Option<&Arc<T>> {
        let slot = self.entries.get(key)?;
        raw.is(&slot.source).then_some(&slot.entity)
    }

    /// The raw entity the entity under `key` was validated from, while its document lives.
    pub(crate) fn live_source(&self, key: &str) -> Option<LiveRaw> {
        self.entries.get(key)?.source.upgrade()
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The keys, in insertion order.
    pub(crate) fn keys(&self) -> impl ExactSizeIterator<Item = &String> {
        self.entries.keys()
    }

    pub(crate) fn values(&self) -> impl ExactSizeIterator<Item = &Arc<T>> {
        self.entries.values().map(|slot| &slot.entity)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Checks `candidate` against the others: fails when one of its unique values is held
    /// by an entity with another key (with [`Uniqueness::EventsTakeOver`], values that
    /// events take over are not checked).
    pub(crate) fn admit(&self, candidate: Candidate<T>, mode: Uniqueness) -> Result<Admitted<T>, FieldError> {
        let Candidate { entity, key, uniques } = candidate;
        self.clashes(&uniques, &key, mode)?;
        Ok(Admitted { entity, key, uniques })
    }

    /// Inserts an entity validated before (a kept previous version, or one whose raw value
    /// did not change), if it still fits.
    pub(crate) fn readmit(&mut self, key: String, entity: Arc<T>, from: Provenance) -> Result<(), FieldError> {
        let uniques = entity.unique_keys();
        self.clashes(&uniques, &key, Uniqueness::Strict)?;
        self.put(key, Slot { entity, source: from.source, origin: from.origin }, uniques);
        Ok(())
    }

    /// Removes the entities (other than the admitted one) holding a value it takes over;
    /// returns their keys.
    pub(crate) fn evict_holders(&mut self, admitted: &Admitted<T>) -> Vec<String> {
        let holders: Vec<String> = admitted
            .uniques
            .iter()
            .filter(|unique| unique.taken_over_by_events)
            .filter_map(|unique| self.owner(unique))
            .filter(|owner| **owner != admitted.key)
            .cloned()
            .collect();
        holders.iter().for_each(|holder| drop(self.remove(holder)));
        holders
    }

    /// Inserts or replaces by key (keeping the place). When the replaced entity is the same
    /// as the new one, the old `Arc` stays and nothing counts as changed.
    pub(crate) fn upsert(&mut self, admitted: Admitted<T>) {
        match self.get(&admitted.key) {
            Some(current) if current.same(&admitted.entity) => {}
            Some(_) | None => {
                let slot = Slot { entity: Arc::new(admitted.entity), source: RawSource::None, origin: None };
                self.put(admitted.key, slot, admitted.uniques);
            }
        }
    }

    /// Like [`EntitySet::upsert`] into a set being rebuilt from a document: reuses
    /// `previous`'s `Arc` when it holds the same entity, and remembers `source`.
    pub(crate) fn upsert_from(&mut self, admitted: Admitted<T>, previous: &EntitySet<T>, from: Provenance) {
        let entity = match previous.get(&admitted.key) {
            Some(old) if old.same(&admitted.entity) => old.clone(),
            Some(_) | None => Arc::new(admitted.entity),
        };
        self.put(admitted.key, Slot { entity, source: from.source, origin: from.origin }, admitted.uniques);
    }

    /// The file each entity came from, by key, for those that came from one.
    pub(crate) fn origins(&self) -> impl Iterator<Item = (&str, &Arc<str>)> {
        self.entries.iter().filter_map(|(key, slot)| Some((key.as_str(), slot.origin.as_ref()?)))
    }

    /// Removes by key, keeping the order of the others.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Arc<T>> {
        let removed = self.entries.shift_remove(key)?;
        self.release(&removed.entity);
        self.changed = true;
        Some(removed.entity)
    }

    /// Removes every entity for which `remove` holds; returns their keys.
    pub(crate) fn remove_where(&mut self, remove: impl Fn(&T) -> bool) -> Vec<String> {
        let keys: Vec<String> =
            self.entries.iter().filter(|(_, s)| remove(&s.entity)).map(|(k, _)| k.clone()).collect();
        keys.iter().for_each(|key| drop(self.remove(key)));
        keys
    }

    /// Takes over the change flag of the set this one replaces: changed if anything differs
    /// (keys, order, entities) or the replaced set had unbuilt changes. Returns what differs.
    pub(crate) fn settle_against(&mut self, previous: &EntitySet<T>) -> Diff {
        let same = self.entries.len() == previous.entries.len()
            && self
                .entries
                .iter()
                .zip(previous.entries.iter())
                .all(|((k, a), (l, b))| k == l && Arc::ptr_eq(&a.entity, &b.entity));
        self.changed = previous.changed || !same;
        match same {
            true => Diff::default(),
            false => self.diff_against(previous),
        }
    }

    /// What differs from `previous` by key (an entity that only moved is not counted).
    fn diff_against(&self, previous: &EntitySet<T>) -> Diff {
        let mut diff = Diff::default();
        for (key, slot) in &self.entries {
            match previous.entries.get(key) {
                None => diff.added += 1,
                Some(old) if !Arc::ptr_eq(&old.entity, &slot.entity) => diff.changed += 1,
                Some(_) => {}
            }
        }
        // The keys held by both sets are those of `self` that were not added.
        diff.removed = previous.len().saturating_sub(self.len() - diff.added);
        diff
    }

    /// Whether anything changed since the flag was last taken.
    pub(crate) fn is_changed(&self) -> bool {
        self.changed
    }

    /// Whether anything changed since the last call; resets the flag.
    pub(crate) fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    fn clashes(&self, uniques: &[UniqueKey], key: &str, mode: Uniqueness) -> Result<(), FieldError> {
        for unique in uniques {
            if unique.taken_over_by_events && mode == Uniqueness::EventsTakeOver {
                continue;
            }
            if let Some(owner) = self.owner(unique).filter(|owner| **owner != key) {
                let (what, value, other) = (unique.what, unique.value.clone(), T::display_key(owner));
                return Err(FieldError::new(unique.field, Problem::Taken { what, value, kind: T::KIND, other }));
            }
        }
        Ok(())
    }

    /// The key of the entity holding `unique`'s value.
    fn owner(&self, unique: &UniqueKey) -> Option<&String> {
        self.owners.get(unique.what)?.get(unique.value.as_str())
    }

    fn put(&mut self, key: String, slot: Slot<T>, uniques: Vec<UniqueKey>) {
        if let Some(old) = self.entries.get(&key) {
            let old = old.entity.clone();
            self.release(&old);
        }
        let capacity = self.entries.capacity();
        for unique in uniques {
            let owners = self.owners.entry(unique.what).or_insert_with(|| values_map(capacity));
            owners.insert(unique.value, key.clone());
        }
        self.entries.insert(key, slot);
        self.changed = true;
    }

    fn release(&mut self, entity: &T) {
        for unique in entity.unique_keys() {
            if let Some(owners) = self.owners.get_mut(unique.what) {
                owners.remove(&unique.value);
            }
        }
    }
}

// === impl Candidate ===

impl<T: Entity> Candidate<T> {
    pub(crate) fn new(entity: T) -> Self {
        let key = entity.key();
        let uniques = entity.unique_keys();
        Candidate { entity, key, uniques }
    }

    pub(crate) fn entity(&self) -> &T {
        &self.entity
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
    }
}

/// The owners of one kind of unique value, sized for the set's entities (each has about one
/// value of each kind).
fn values_map(capacity: usize) -> HashMap<String, String> {
    HashMap::with_capacity_and_hasher(capacity, Hasher::default())
}

impl<T> Default for EntitySet<T> {
    fn default() -> Self {
        EntitySet { entries: IndexMap::default(), owners: HashMap::default(), changed: true }
    }
}
