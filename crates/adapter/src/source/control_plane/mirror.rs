//! The JSON text of every entity the catalog holds: what the last-known-good state is
//! written from.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;
use tollgate_enforcer::model::{Application, KeyManager, KeyMapping, Policy, RevokedToken, Subscription};
use tollgate_router::api::Api;

use super::state_dir::StateImage;
use crate::catalog::{Catalog, Stored};
use crate::dto::{Event, EventKind, LiveRaw};
use crate::rejected::{EntityKind, Rejected};

/// Per entity kind, the text of each entity the catalog holds, by key and in the catalog's
/// order (which decides conflicts, so a restart rebuilds the same state). The catalog keeps
/// validated domain types only; keeping the wire texts (a few hundred bytes per entity, shared
/// with the decoded document) lets the state be written without a serialiser for every
/// domain type. Accepted entities only: a rejected update leaves the previous text, as the
/// catalog leaves the previous version.
#[derive(Debug, Default)]
pub(crate) struct Mirror {
    texts: [Texts; 7],
}

type Texts = IndexMap<String, Arc<str>>;

// === impl Mirror ===

impl Mirror {
    /// Follows `catalog.replace(document)`, while the document is still held.
    pub(crate) fn replaced(&mut self, catalog: &Catalog) {
        self.replace_kind::<Api>(catalog);
        self.replace_kind::<Application>(catalog);
        self.replace_kind::<KeyMapping>(catalog);
        self.replace_kind::<Subscription>(catalog);
        self.replace_kind::<Policy>(catalog);
        self.replace_kind::<KeyManager>(catalog);
        self.replace_kind::<RevokedToken>(catalog);
    }

    /// Follows `catalog.apply_event(event)`; `accepted` when it rejected nothing.
    pub(crate) fn event_applied(&mut self, catalog: &Catalog, event: &Event, accepted: bool) {
        if accepted {
            let payload = &event.payload;
            match &event.kind {
                EventKind::ApiDeployed => self.upserted::<Api>(catalog, payload),
                EventKind::ApplicationUpserted => self.upserted::<Application>(catalog, payload),
                EventKind::KeyMappingUpserted => self.upserted::<KeyMapping>(catalog, payload),
                EventKind::SubscriptionUpserted => self.upserted::<Subscription>(catalog, payload),
                EventKind::PolicyUpserted => self.upserted::<Policy>(catalog, payload),
                EventKind::KeyManagerUpserted => self.upserted::<KeyManager>(catalog, payload),
                EventKind::TokenRevoked => self.upserted::<RevokedToken>(catalog, payload),
                // Deletes (and their cascades) are found by `settle`.
                EventKind::ApiUndeployed
                | EventKind::ApplicationDeleted
                | EventKind::KeyMappingDeleted
                | EventKind::SubscriptionDeleted
                | EventKind::PolicyDeleted
                | EventKind::KeyManagerDeleted
                | EventKind::Unknown(_) => {}
            }
        }
        self.settle(catalog);
    }

    /// Drops the texts of entities the catalog no longer holds (deleted, taken over by
    /// another, expired revocations).
    pub(crate) fn settle(&mut self, catalog: &Catalog) {
        self.settle_kind::<Api>(catalog);
        self.settle_kind::<Application>(catalog);
        self.settle_kind::<KeyMapping>(catalog);
        self.settle_kind::<Subscription>(catalog);
        self.settle_kind::<Policy>(catalog);
        self.settle_kind::<KeyManager>(catalog);
        self.settle_kind::<RevokedToken>(catalog);
    }

    /// What to write for `revision`: the texts (shared, not copied) and the rejections in force.
    pub(crate) fn image(&self, revision: u64, environment: &str, rejected: Vec<Rejected>) -> StateImage {
        let entities = self.texts.each_ref().map(|texts| texts.values().cloned().collect());
        StateImage { revision, environment: environment.to_owned(), entities, rejected }
    }

    /// The texts of one kind, in order.
    #[cfg(test)]
    pub(crate) fn texts(&self, kind: EntityKind) -> Vec<&str> {
        slot(kind).map(|i| self.texts[i].values().map(|text| &**text).collect()).unwrap_or_default()
    }

    fn replace_kind<T: Stored>(&mut self, catalog: &Catalog) {
        let Some(i) = slot(T::KIND) else { return };
        let set = T::set(catalog);
        let previous = std::mem::take(&mut self.texts[i]);
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
        self.texts[i] = next.collect();
        self.check_complete::<T>(catalog);
    }

    fn upserted<T: Stored>(&mut self, catalog: &Catalog, payload: &Value) {
        let (Some(i), Some(key)) = (slot(T::KIND), T::raw_key(payload)) else { return };
        if T::set(catalog).contains(&key) {
            // An existing key keeps its place, as in the catalog.
            self.texts[i].insert(key, text_of(payload));
        }
    }

    fn settle_kind<T: Stored>(&mut self, catalog: &Catalog) {
        let Some(i) = slot(T::KIND) else { return };
        let set = T::set(catalog);
        if self.texts[i].len() != set.len() {
            self.texts[i].retain(|key, _| set.contains(key));
            self.check_complete::<T>(catalog);
        }
    }

    /// Every entity the catalog holds has a text; anything else is a bug that would lose the
    /// entity on restart, so it is logged loudly.
    fn check_complete<T: Stored>(&self, catalog: &Catalog) {
        let (held, kept) = (T::set(catalog).len(), slot(T::KIND).map_or(0, |i| self.texts[i].len()));
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

fn slot(kind: EntityKind) -> Option<usize> {
    EntityKind::ENTITIES.iter().position(|k| *k == kind)
}

fn text_of(value: &Value) -> Arc<str> {
    Arc::from(value.to_string())
}
