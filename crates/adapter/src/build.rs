//! Catalog → [`Snapshot`]: the route table and the enforcement indexes of one revision.

use std::sync::Arc;

use tollgate_enforcer::{Applications, Enforcement, KeyManagers, KeyMappings, Policies, Revocations, Subscriptions};
use tollgate_router::Snapshot;
use tollgate_router::route::RouteTable;

use tollgate_enforcer::model::{Application, KeyManager, KeyMapping, Policy, RevokedToken, Subscription};
use tollgate_router::api::Api;

use crate::catalog::{ApiFiles, Catalog, Changes};
use crate::kind::EntityCounts;
use crate::rejected::{EntityKind, Rejected};
use crate::validate::{EntityError, FieldError, Problem};

/// Builds snapshots from a catalog, reusing the previous snapshot's indexes (the same
/// `Arc`s) for every entity kind that did not change since the last build, and the route
/// table when no API changed.
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    previous: Option<Arc<Snapshot>>,
    /// Route conflicts found when the route table was last built; reported with each
    /// rebuild of the table.
    conflicts: Vec<Rejected>,
    served_apis: usize,
    api_files: ApiFiles,
}

/// A snapshot ready to be applied, with what the update that led to it rejected.
#[derive(Debug, Clone)]
pub struct Built {
    pub snapshot: Arc<Snapshot>,
    /// Rejected by this update (the operation's rejections and route conflicts).
    pub rejected: Vec<Rejected>,
    /// Every rejection in force after this update (for the status report and `/config`).
    pub outstanding: Vec<Rejected>,
    /// Entities served, by kind (APIs: those in the route table).
    pub counts: EntityCounts,
    /// The file each API came from (file source; empty for the control plane).
    pub api_files: ApiFiles,
}

// === impl SnapshotBuilder ===

impl SnapshotBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the snapshot of `revision` from `catalog`. `rejected` are the rejections of the
    /// operation that changed the catalog; route conflicts are added to them. `now` (Unix
    /// seconds) prunes expired revocations.
    pub fn build(&mut self, catalog: &mut Catalog, revision: u64, now: u64, mut rejected: Vec<Rejected>) -> Built {
        catalog.prune_revocations(now);
        let changes = catalog.take_changes();
        let previous = self.previous.take();
        let routes = match previous.as_ref().filter(|_| !changes[EntityKind::Api]) {
            Some(previous) => previous.routes.clone(),
            None => {
                let table = Arc::new(self.route_table(catalog));
                rejected.extend(self.conflicts.iter().cloned());
                self.api_files = catalog.api_files();
                table
            }
        };
        let enforcement = enforcement(catalog, previous.as_ref().map(|s| &s.enforcement), changes, now);
        let snapshot = Arc::new(Snapshot { revision, routes, enforcement });
        self.previous = Some(snapshot.clone());
        let mut counts = catalog.counts();
        counts[EntityKind::Api] = self.served_apis;
        let outstanding = catalog.rejections().cloned().collect();
        Built { snapshot, rejected, outstanding, counts, api_files: self.api_files.clone() }
    }

    /// The snapshot last built, if any.
    pub fn previous(&self) -> Option<&Arc<Snapshot>> {
        self.previous.as_ref()
    }

    /// The APIs in catalog order; one whose base path another already serves on a shared
    /// vhost is left out and rejected (the catalog refuses such APIs already, so this only
    /// guards against the two checks drifting apart).
    fn route_table(&mut self, catalog: &mut Catalog) -> RouteTable {
        let mut builder = RouteTable::builder();
        self.conflicts.clear();
        for api in catalog.entities::<Api>() {
            if let Err(conflict) = builder.insert(api.clone()) {
                let error = FieldError::new("context", Problem::Route(conflict.to_string()));
                self.conflicts.push(EntityError::new(EntityKind::Api, api.id().to_string(), error).into());
            }
        }
        self.conflicts.iter().for_each(|rejected| catalog.note_rejected(rejected));
        let table = builder.build();
        self.served_apis = table.len();
        table
    }
}

fn enforcement(catalog: &Catalog, previous: Option<&Enforcement>, changes: Changes, now: u64) -> Enforcement {
    let reuse = |kind: EntityKind| previous.filter(|_| !changes[kind]);
    Enforcement {
        key_managers: reuse(EntityKind::KeyManager).map_or_else(
            || Arc::new(KeyManagers::new(catalog.entities::<KeyManager>().cloned())),
            |p| p.key_managers.clone(),
        ),
        applications: reuse(EntityKind::Application).map_or_else(
            || Arc::new(Applications::new(catalog.entities::<Application>().cloned())),
            |p| p.applications.clone(),
        ),
        key_mappings: reuse(EntityKind::KeyMapping).map_or_else(
            || Arc::new(KeyMappings::new(catalog.entities::<KeyMapping>().cloned())),
            |p| p.key_mappings.clone(),
        ),
        subscriptions: reuse(EntityKind::Subscription).map_or_else(
            || Arc::new(Subscriptions::new(catalog.entities::<Subscription>().cloned())),
            |p| p.subscriptions.clone(),
        ),
        policies: reuse(EntityKind::Policy)
            .map_or_else(|| Arc::new(Policies::new(catalog.entities::<Policy>().cloned())), |p| p.policies.clone()),
        revocations: reuse(EntityKind::RevokedToken).map_or_else(
            || Arc::new(Revocations::new(catalog.entities::<RevokedToken>().map(|r| (**r).clone()), now)),
            |p| p.revocations.clone(),
        ),
    }
}
