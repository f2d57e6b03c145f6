//! The catalog: the desired state, as validated entities by key in insertion order.
//!
//! It changes by whole documents ([`Catalog::replace`]: a snapshot, the merged files) or by
//! single events ([`Catalog::apply_event`]). Either way every entity is validated on its own
//! and a rejected one leaves what was there before (control-plane.md, "Bad input"); each
//! operation returns what it rejected. Insertion order decides conflicts: of two APIs that
//! claim the same base path on a shared vhost, or the same (name, version), the later one is
//! rejected.

mod event;
mod replace;
mod set;

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use serde::Serialize;
use tollgate_enforcer::model::{
    Application, KeyManager, KeyMapping, Policy, PolicyKind, PolicyName, RevokedToken, Subscription, builtin_policies,
};
use tollgate_router::api::Api;

use crate::rejected::{EntityKind, Rejected};
use crate::validate::{Entity, policy_key};

pub(crate) use set::EntitySet;

/// The desired state. Not on the request path: it is only read to build snapshots.
#[derive(Debug, Default)]
pub struct Catalog {
    apis: EntitySet<Api>,
    applications: EntitySet<Application>,
    key_mappings: EntitySet<KeyMapping>,
    subscriptions: EntitySet<Subscription>,
    policies: EntitySet<Policy>,
    key_managers: EntitySet<KeyManager>,
    revoked_tokens: EntitySet<RevokedToken>,
    /// What is rejected right now, by (kind, id): replaced by each document, updated by
    /// each event (a later valid version or a delete clears an entry).
    outstanding: IndexMap<(EntityKind, String), Rejected>,
    /// Unknown event types already logged (control-plane.md: logged once per type).
    skipped_event_types: HashSet<String>,
}

/// API id → the file (of the file source's directory) it was read from.
pub type ApiFiles = Arc<std::collections::HashMap<String, Arc<str>>>;

/// How many entities of each kind the catalog holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityCounts {
    pub api: usize,
    pub application: usize,
    pub key_mapping: usize,
    pub subscription: usize,
    pub policy: usize,
    pub key_manager: usize,
    pub revoked_token: usize,
}

/// Which kinds changed since the last build.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) apis: bool,
    pub(crate) applications: bool,
    pub(crate) key_mappings: bool,
    pub(crate) subscriptions: bool,
    pub(crate) policies: bool,
    pub(crate) key_managers: bool,
    pub(crate) revoked_tokens: bool,
}

/// An entity kind the catalog stores, and where.
pub(crate) trait Stored: Entity {
    fn set(catalog: &Catalog) -> &EntitySet<Self>;
    fn set_mut(catalog: &mut Catalog) -> &mut EntitySet<Self>;
}

macro_rules! stored {
    ($type:ty, $field:ident) => {
        impl Stored for $type {
            fn set(catalog: &Catalog) -> &EntitySet<Self> {
                &catalog.$field
            }
            fn set_mut(catalog: &mut Catalog) -> &mut EntitySet<Self> {
                &mut catalog.$field
            }
        }
    };
}

stored!(Api, apis);
stored!(Application, applications);
stored!(KeyMapping, key_mappings);
stored!(Subscription, subscriptions);
stored!(Policy, policies);
stored!(KeyManager, key_managers);
stored!(RevokedToken, revoked_tokens);

static BUILTIN_POLICIES: LazyLock<Vec<PolicyName>> =
    LazyLock::new(|| builtin_policies().into_iter().map(|policy| policy.id).collect());

// === impl Catalog ===

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// The rejections in force: entities whose latest version was refused.
    pub fn rejections(&self) -> impl Iterator<Item = &Rejected> {
        self.outstanding.values()
    }

    pub fn counts(&self) -> EntityCounts {
        EntityCounts {
            api: self.apis.len(),
            application: self.applications.len(),
            key_mapping: self.key_mappings.len(),
            subscription: self.subscriptions.len(),
            policy: self.policies.len(),
            key_manager: self.key_managers.len(),
            revoked_token: self.revoked_tokens.len(),
        }
    }

    /// The file each API came from (the file source), by API id.
    pub fn api_files(&self) -> ApiFiles {
        Arc::new(self.apis.origins().map(|(id, file)| (id.to_owned(), file.clone())).collect())
    }

    /// The APIs in insertion order (the order in which routes are built).
    pub fn apis(&self) -> impl ExactSizeIterator<Item = &Arc<Api>> {
        self.apis.values()
    }

    pub fn applications(&self) -> impl ExactSizeIterator<Item = &Arc<Application>> {
        self.applications.values()
    }

    pub fn key_mappings(&self) -> impl ExactSizeIterator<Item = &Arc<KeyMapping>> {
        self.key_mappings.values()
    }

    pub fn subscriptions(&self) -> impl ExactSizeIterator<Item = &Arc<Subscription>> {
        self.subscriptions.values()
    }

    /// The policies the snapshot defines (built-ins are added when the index is built).
    pub fn policies(&self) -> impl ExactSizeIterator<Item = &Arc<Policy>> {
        self.policies.values()
    }

    pub fn key_managers(&self) -> impl ExactSizeIterator<Item = &Arc<KeyManager>> {
        self.key_managers.values()
    }

    pub fn revoked_tokens(&self) -> impl ExactSizeIterator<Item = &Arc<RevokedToken>> {
        self.revoked_tokens.values()
    }

    /// Forgets revocations that expired by `now` (Unix seconds): their tokens are refused
    /// as expired anyway.
    pub fn prune_revocations(&mut self, now: u64) {
        self.revoked_tokens.remove_where(|revoked| revoked.expires_at <= now);
    }

    /// Which kinds changed since the previous call (the first call: all).
    pub(crate) fn take_changes(&mut self) -> Changes {
        Changes {
            apis: self.apis.take_changed(),
            applications: self.applications.take_changed(),
            key_mappings: self.key_mappings.take_changed(),
            subscriptions: self.subscriptions.take_changed(),
            policies: self.policies.take_changed(),
            key_managers: self.key_managers.take_changed(),
            revoked_tokens: self.revoked_tokens.take_changed(),
        }
    }

    /// Records a rejection found outside the catalog (a route conflict at build time).
    pub(crate) fn note_rejected(&mut self, rejected: &Rejected) {
        self.outstanding.insert((rejected.entity, rejected.id.clone()), rejected.clone());
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
