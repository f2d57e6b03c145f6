//! The catalog: the desired state, as validated entities by key in insertion order.
//!
//! It changes by whole documents ([`Catalog::replace`]: a snapshot, the merged files) or by
//! single events ([`Catalog::apply_event`]). Either way every entity is validated on its own
//! and a rejected one leaves what was there before (control-plane.md, "Bad input"); each
//! operation returns what it rejected. Insertion order decides conflicts: of two APIs that
//! claim the same base path on a shared vhost, or the same (name, version), the later one is
//! rejected.

mod change;
mod kinds;
mod replace;
mod set;

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use tollgate_enforcer::model::{Policy, PolicyKind, PolicyName, RevokedToken, builtin_policies};
use tollgate_router::api::Api;

use crate::kind::{ByKind, EntityCounts};
use crate::rejected::{EntityKind, Rejected};
use crate::validate::{ValidationSettings, policy_key};

pub(crate) use kinds::{KindFn, Sets, Stored, for_each_kind, with_kind};
pub use set::Diff;
pub(crate) use set::EntitySet;

/// The desired state. Not on the request path: it is only read to build snapshots.
#[derive(Debug, Default)]
pub struct Catalog {
    sets: Sets,
    /// What is rejected right now, by (kind, id): replaced by each document, updated by
    /// each event (a later valid version or a delete clears an entry).
    outstanding: IndexMap<(EntityKind, String), Rejected>,
    /// Unknown event types already logged (control-plane.md: logged once per type).
    skipped_event_types: HashSet<String>,
    /// The gateway's side of validation.
    settings: ValidationSettings,
}

/// API id → the file (of the file source's directory) it was read from.
pub type ApiFiles = Arc<std::collections::HashMap<String, Arc<str>>>;

/// Which kinds changed since the last build.
pub(crate) type Changes = ByKind<bool>;

static BUILTIN_POLICIES: LazyLock<Vec<PolicyName>> =
    LazyLock::new(|| builtin_policies().into_iter().map(|policy| policy.id).collect());

// === impl Catalog ===

impl Catalog {
    /// A catalog for a gateway without the optional features validation asks about (no
    /// `[backend_jwt]`); see [`Catalog::with_settings`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty catalog validating for a gateway configured as `settings` says.
    pub fn with_settings(settings: ValidationSettings) -> Self {
        Catalog { settings, ..Self::default() }
    }

    /// The rejections in force: entities whose latest version was refused.
    pub fn rejections(&self) -> impl Iterator<Item = &Rejected> {
        self.outstanding.values()
    }

    /// How many entities of each kind the catalog holds.
    pub fn counts(&self) -> EntityCounts {
        ByKind::from_fn(|kind| with_kind(kind, &mut Len(&self.sets)).unwrap_or(0))
    }

    /// The file each API came from (the file source), by API id.
    pub fn api_files(&self) -> ApiFiles {
        let apis = self.set::<Api>();
        Arc::new(apis.origins().map(|(id, file)| (id.to_owned(), file.clone())).collect())
    }

    /// The entities of one kind, in insertion order (for APIs, the order in which routes
    /// are built). Policies: those the snapshot defines (built-ins are added when the index
    /// is built).
    pub(crate) fn entities<T: Stored>(&self) -> impl ExactSizeIterator<Item = &Arc<T>> {
        self.set::<T>().values()
    }

    pub(crate) fn set<T: Stored>(&self) -> &EntitySet<T> {
        T::set(&self.sets)
    }

    fn set_mut<T: Stored>(&mut self) -> &mut EntitySet<T> {
        T::set_mut(&mut self.sets)
    }

    /// Forgets revocations that expired by `now` (Unix seconds): their tokens are refused
    /// as expired anyway.
    pub fn prune_revocations(&mut self, now: u64) {
        self.set_mut::<RevokedToken>().remove_where(|revoked| revoked.expires_at <= now);
    }

    /// Which kinds changed since the previous call (the first call: all).
    pub(crate) fn take_changes(&mut self) -> Changes {
        ByKind::from_fn(|kind| with_kind(kind, &mut TakeChanged(&mut self.sets)).unwrap_or(false))
    }

    /// Which kinds changed since the last build, without resetting anything.
    pub(crate) fn changed(&self) -> Changes {
        ByKind::from_fn(|kind| with_kind(kind, &mut Changed(&self.sets)).unwrap_or(false))
    }

    /// Records a rejection found outside the catalog (a route conflict at build time).
    pub(crate) fn note_rejected(&mut self, rejected: &Rejected) {
        self.outstanding.insert((rejected.entity, rejected.id.clone()), rejected.clone());
    }
}

struct Len<'a>(&'a Sets);

impl KindFn for Len<'_> {
    type Output = usize;
    fn call<T: Stored>(&mut self) -> usize {
        T::set(self.0).len()
    }
}

struct Changed<'a>(&'a Sets);

impl KindFn for Changed<'_> {
    type Output = bool;
    fn call<T: Stored>(&mut self) -> bool {
        T::set(self.0).is_changed()
    }
}

struct TakeChanged<'a>(&'a mut Sets);

impl KindFn for TakeChanged<'_> {
    type Output = bool;
    fn call<T: Stored>(&mut self) -> bool {
        T::set_mut(self.0).take_changed()
    }
}

/// Whether `policies` (or the built-ins) define `kind`/`name`.
fn policy_exists(policies: &EntitySet<Policy>, kind: PolicyKind, name: &str) -> bool {
    is_builtin(kind, name) || policies.contains(&policy_key(kind.as_str(), name))
}

fn is_builtin(kind: PolicyKind, name: &str) -> bool {
    BUILTIN_POLICIES.iter().any(|id| id.kind == kind && *id.name == *name)
}

#[cfg(test)]
mod tests;
