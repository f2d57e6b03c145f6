//! The JSON text of every entity the catalog holds: what the last-known-good state is
//! written from.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::state_dir::StateImage;
use super::update::{Action, Change};
use crate::catalog::{Catalog, KindFn, Stored, for_each_kind, with_kind};
use crate::dto::LiveRaw;
use crate::kind::ByKind;
use crate::rejected::{EntityKind, Rejected};

/// Per entity kind, the text of each entity the catalog holds, by key and in the catalog's
/// order (which decides conflicts, so a restart rebuilds the same state). The catalog keeps
/// validated domain types only; keeping the wire texts (a few hundred bytes per entity, shared
/// with the decoded document) lets the state be written without a serialiser for every
/// domain type. Accepted entities only: a rejected update leaves the previous text, as the
/// catalog leaves the previous version.
#[derive(Debug, Default)]
pub(crate) struct Mirror {
    texts: ByKind<Texts>,
}

type Texts = IndexMap<String, Arc<str>>;

// === impl Mirror ===

impl Mirror {
    /// Follows `catalog.replace(document)`, while the document is still held.
    pub(crate) fn replaced(&mut self, catalog: &Catalog) {
        for_each_kind(&EntityKind::ENTITIES, &mut Replaced { mirror: self, catalog });
    }

    /// Follows `catalog.apply_change(change)`; `accepted` when it rejected nothing.
    pub(crate) fn changed(&mut self, catalog: &Catalog, change: &Change, accepted: bool) {
        // Deletes (and their cascades) are found by `settle`.
        if accepted && change.action == Action::Upsert {
            with_kind(change.kind, &mut Upserted { mirror: self, catalog, payload: &change.payload });
        }
        self.settle(catalog);
    }

    /// Drops the texts of entities the catalog no longer holds (deleted, taken over by
    /// another, expired revocations).
    pub(crate) fn settle(&mut self, catalog: &Catalog) {
        for_each_kind(&EntityKind::ENTITIES, &mut Settle { mirror: self, catalog });
    }

    /// What to write for `revision`: the texts (shared, not copied) and the rejections in force.
    pub(crate) fn image(&self, revision: u64, environment: &str, rejected: Vec<Rejected>) -> StateImage {
        let entities = self.texts.map(|_, texts| texts.values().cloned().collect());
        StateImage { revision, environment: environment.to_owned(), entities, rejected }
    }

    /// The texts of one kind, in order.
    #[cfg(test)]
    pub(crate) fn texts(&self, kind: EntityKind) -> Vec<&str> {
        self.texts[kind].values().map(|text| &**text).collect()
    }

    fn replace_kind<T: Stored>(&mut self, catalog: &Catalog) {
        let set = catalog.set::<T>();
        let previous = std::mem::take(&mut self.texts[T::KIND]);
        // An entity validated from the document (still alive) takes its text from there;
        // the others are previous versions the catalog kept, with their previous texts.
        let next = set.keys().filter_map(|key| {
            let text = match set.live_source(key) {
                Some(LiveRaw::Text(text)) => text,
                Some(LiveRaw::Value(value)) => text_of(&value),
                None => previous.get(key)?.clone(),
            };
            Some((key.clone(), text))
        });
        self.texts[T::KIND] = next.collect();
        self.check_complete::<T>(catalog);
    }

    fn upserted<T: Stored>(&mut self, catalog: &Catalog, payload: &Value) {
        let Some(key) = T::raw_key(payload) else { return };
        if catalog.set::<T>().contains(&key) {
            // An existing key keeps its place, as in the catalog.
            self.texts[T::KIND].insert(key, text_of(payload));
        }
    }

    fn settle_kind<T: Stored>(&mut self, catalog: &Catalog) {
        let set = catalog.set::<T>();
        if self.texts[T::KIND].len() != set.len() {
            self.texts[T::KIND].retain(|key, _| set.contains(key));
            self.check_complete::<T>(catalog);
        }
    }

    /// Every entity the catalog holds has a text; anything else is a bug that would lose the
    /// entity on restart, so it is logged loudly.
    fn check_complete<T: Stored>(&self, catalog: &Catalog) {
        let (held, kept) = (catalog.set::<T>().len(), self.texts[T::KIND].len());
        if held != kept {
            tracing::error!(
                kind = T::KIND.as_str(),
                held,
                kept,
                "the last-known-good state does not match the catalog"
            );
        }
    }
}

struct Replaced<'a> {
    mirror: &'a mut Mirror,
    catalog: &'a Catalog,
}

impl KindFn for Replaced<'_> {
    type Output = ();
    fn call<T: Stored>(&mut self) {
        self.mirror.replace_kind::<T>(self.catalog);
    }
}

struct Upserted<'a> {
    mirror: &'a mut Mirror,
    catalog: &'a Catalog,
    payload: &'a Value,
}

impl KindFn for Upserted<'_> {
    type Output = ();
    fn call<T: Stored>(&mut self) {
        self.mirror.upserted::<T>(self.catalog, self.payload);
    }
}

struct Settle<'a> {
    mirror: &'a mut Mirror,
    catalog: &'a Catalog,
}

impl KindFn for Settle<'_> {
    type Output = ();
    fn call<T: Stored>(&mut self) {
        self.mirror.settle_kind::<T>(self.catalog);
    }
}

fn text_of(value: &Value) -> Arc<str> {
    Arc::from(value.to_string())
}
