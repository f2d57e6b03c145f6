//! What a source hands the engine ([`Update`]), and what the engine answers ([`Outcome`]).

use serde_json::Value;

use crate::catalog::Diff;
use crate::dto::Document;
use crate::kind::ByKind;
use crate::rejected::{EntityKind, Rejected};

/// One update from a source: changes to single entities, or a whole new set.
#[derive(Debug)]
pub enum Update {
    /// Changes to single entities, applied in order and served as one revision (a request
    /// sees the revision before them or the one after all of them). A change whose entity is
    /// refused leaves the previous version served; the others still apply.
    Changes { revision: Revision, changes: Vec<Change> },
    /// A whole new set: everything the document does not hold is removed. The engine
    /// validates it against what is served, keeps the previous version of each refused
    /// entity, and counts and logs what differs. `in_force` are rejections carried over from
    /// an earlier run (the last-known-good state): reported, not counted again.
    Replace { revision: Revision, document: Box<Document>, in_force: Vec<Rejected> },
}

/// The revision an update is served at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    /// The source's own revision (the control plane's): served at it even when nothing
    /// changed, since the revision itself is news to report.
    At(u64),
    /// The next revision after the one served (1 for the first), and only when the update
    /// changes what is served or what is rejected: otherwise the engine answers
    /// [`Outcome::Unchanged`] and swaps nothing (a periodic full re-pull that finds nothing
    /// new costs a validation, not a new revision).
    Next,
}

/// A change of one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: EntityKind,
    pub action: Action,
    /// The entity in the model's wire shape (`model.md`) for an upsert; for a delete, an
    /// object holding its key fields (`{"id": ...}`, `{"kind", "name"}` for a policy,
    /// `{"keyManager", "consumerKey"}` for a key mapping), as the control plane's events do.
    pub payload: Value,
    /// How a rejection names the change when its payload names no entity (`event 12`).
    pub name: String,
}

/// What a [`Change`] does to its entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Adds the entity, or replaces the one with its key (keeping its place).
    Upsert,
    /// Removes the entity with its key; nothing when there is none. Deleting an application
    /// also removes its key mappings and subscriptions; a policy still referenced stays (the
    /// change is rejected); a revocation cannot be deleted.
    Delete,
}

/// What became of an update, told to its [`Notify`] once it is serving or refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Swapped in: requests see `revision` from now on. `rejected` are the entities this
    /// update refused (their previous versions, if any, stay served). `diff` is what changed
    /// by kind: for [`Update::Replace`] against what was served, for [`Update::Changes`] as
    /// the accepted changes said (an upsert of a held key counts as changed).
    Serving { revision: u64, rejected: Vec<Rejected>, diff: ByKind<Diff> },
    /// [`Revision::Next`] and nothing changed: what was served stays, at `revision`.
    Unchanged { revision: Option<u64> },
    /// Nothing of the update applied and what was served stays; the engine's state may be
    /// partly updated (it failed while applying), so the source should send a whole set
    /// next.
    Failed(String),
}

/// Fired once with the [`Outcome`] of an update (e.g. acknowledging a message only after
/// its change is serving).
pub type Notify = Box<dyn FnOnce(Outcome) + Send>;

// === impl Change ===

impl Change {
    pub fn upsert(kind: EntityKind, payload: Value, name: impl Into<String>) -> Self {
        Change { kind, action: Action::Upsert, payload, name: name.into() }
    }

    pub fn delete(kind: EntityKind, payload: Value, name: impl Into<String>) -> Self {
        Change { kind, action: Action::Delete, payload, name: name.into() }
    }
}

// === impl Outcome ===

impl Outcome {
    /// The revision served after the update, when it applied.
    pub fn revision(&self) -> Option<u64> {
        match self {
            Outcome::Serving { revision, .. } => Some(*revision),
            Outcome::Unchanged { revision } => *revision,
            Outcome::Failed(_) => None,
        }
    }
}
