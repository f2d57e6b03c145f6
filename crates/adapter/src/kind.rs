//! [`ByKind`]: one value per [`EntityKind`], the one place that knows how many kinds there are.

use std::ops::{Index, IndexMut};

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::rejected::EntityKind;

/// One `T` per [`EntityKind`], indexed by the kind: counts, change flags, the texts of the
/// last-known-good state. Iteration and serialisation cover the entity kinds
/// ([`EntityKind::ENTITIES`], in that order); the [`EntityKind::Document`] slot exists so that
/// indexing by any kind is total, and nothing stores entities in it.
///
/// Serialised as a map from the kind's name (`api`, `keyMapping`, ...) to its value, the shape
/// of `entities` in `/config` and `tollgate check --json`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByKind<T> {
    slots: [T; EntityKind::ALL.len()],
}

/// How many entities of each kind (the APIs of a build: those in the route table).
pub type EntityCounts = ByKind<usize>;

// === impl ByKind ===

impl<T> ByKind<T> {
    /// A value for every kind, from `value(kind)`.
    pub fn from_fn(mut value: impl FnMut(EntityKind) -> T) -> Self {
        ByKind { slots: EntityKind::ALL.map(&mut value) }
    }

    /// The entity kinds with their values, in [`EntityKind::ENTITIES`] order.
    pub fn iter(&self) -> impl Iterator<Item = (EntityKind, &T)> {
        EntityKind::ENTITIES.into_iter().map(|kind| (kind, &self[kind]))
    }

    /// The values of the entity kinds, in [`EntityKind::ENTITIES`] order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.iter().map(|(_, value)| value)
    }

    /// A value per kind, from each of these.
    pub fn map<U>(&self, mut change: impl FnMut(EntityKind, &T) -> U) -> ByKind<U> {
        ByKind::from_fn(|kind| change(kind, &self[kind]))
    }
}

impl ByKind<usize> {
    /// The sum over the entity kinds.
    pub fn total(&self) -> usize {
        self.values().sum()
    }
}

impl ByKind<bool> {
    /// Whether any entity kind is set.
    pub fn any(&self) -> bool {
        self.values().any(|set| *set)
    }
}

impl<T> Index<EntityKind> for ByKind<T> {
    type Output = T;

    fn index(&self, kind: EntityKind) -> &T {
        &self.slots[kind as usize]
    }
}

impl<T> IndexMut<EntityKind> for ByKind<T> {
    fn index_mut(&mut self, kind: EntityKind) -> &mut T {
        &mut self.slots[kind as usize]
    }
}

impl<T: Serialize> Serialize for ByKind<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(EntityKind::ENTITIES.len()))?;
        for (kind, value) in self.iter() {
            map.serialize_entry(kind.as_str(), value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_slot_and_counts_serialise_by_name() {
        let counts = EntityCounts::from_fn(|kind| kind as usize * 10);
        assert_eq!(counts.iter().map(|(kind, _)| kind).collect::<Vec<_>>(), EntityKind::ENTITIES);
        assert_eq!((counts[EntityKind::Api], counts[EntityKind::RevokedToken]), (0, 60));
        assert_eq!(counts.total(), 210, "the document slot is not an entity kind");
        let json = serde_json::to_value(counts).unwrap_or_default();
        let expected = serde_json::json!({"api": 0, "application": 10, "keyMapping": 20, "subscription": 30,
            "policy": 40, "keyManager": 50, "revokedToken": 60});
        assert_eq!(json, expected);
    }
}
