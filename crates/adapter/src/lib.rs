//! The Tollgate adapter: turns configuration (files, or the control plane) into snapshots.
//!
//! Sources ([`FileSource`]: a watched directory; [`ControlPlaneSource`]: control-plane.md's
//! snapshot, long-polled events, status reports and backoff) only fetch and decode: each
//! hands the [`engine`] changes to entities or a whole new set, through an [`EngineHandle`].
//! The engine, on one configuration thread, does the rest for every source alike (see
//! [`engine`] for the interface): `dto` (wire types, decoded in two steps so that one broken
//! entity does not sink a document) → `validate` (`TryFrom` into the router's and enforcer's
//! domain types, errors naming entity and field) → [`Catalog`] (the desired state; every
//! update reports what it rejected and keeps the previous version of a rejected entity) →
//! [`SnapshotBuilder`] (route table + enforcement indexes, reusing what did not change) →
//! [`Applier`] (one swap into the `SnapshotStore`, JWKS caches, metrics, [`SyncStatus`]) →
//! the last-known-good state in `state_dir`.
//!
//! The seven entity kinds are an [`EntityKind`]; values per kind are a [`ByKind`], and code
//! that needs each kind's type reaches it through one list (`catalog::kinds`).
//!
//! Building is incremental where a full build would be paid per event: an event re-validates
//! one entity, and the builder reuses every index (and the route table) whose entity kind did
//! not change, so an API event costs one route-table build and nothing else.
//!
//! Crates chosen beyond the workspace's: `indexmap` (entities keep insertion order, which
//! decides which of two conflicting APIs is rejected), `serde_path_to_error` (decode
//! errors name the field, e.g. `operations[3].secured`), `serde_ignored`, `serde-reflection`
//! and `strsim` (keys the model does not have, and the nearest known key: `dto::keys`), `foldhash` (seeded fast hashing of
//! entity keys, as in the router and enforcer) and `rayon` (a small long-lived pool that
//! validates the entities of large documents in parallel, keeping document order).

mod apply;
mod build;
mod catalog;
pub mod dto;
pub mod engine;
mod kind;
mod metrics;
mod rejected;
pub mod source;
mod status;
pub mod validate;
pub mod wso2;

pub use apply::Applier;
pub use build::{Built, SnapshotBuilder};
pub use catalog::{ApiFiles, Catalog, Diff};
pub use engine::{Engine, EngineHandle, EngineSettings};
pub use kind::{ByKind, EntityCounts};
pub use metrics::{AdapterMetrics, EventResult, SyncFailure};
pub use rejected::{EntityKind, Rejected};
pub use source::{
    ApiSummary, CheckReport, ClientIdentity, ControlPlaneSettings, ControlPlaneSource, ControlPlaneTasks, FileSource,
    FileWatch, SavedState, SourceError, StateDir, Wso2Api, Wso2Form, Wso2Report, Wso2Settings, Wso2Source, Wso2Status,
    Wso2Task, check_directory,
};
pub use status::{SourceKind, StatusCell, SyncState, SyncStatus};
