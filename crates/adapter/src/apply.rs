//! Applying a built snapshot: one swap, then everything that follows from it.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tollgate_enforcer::Enforcer;
use tollgate_enforcer::clock::SharedClock;
use tollgate_router::{Snapshot, SnapshotStore};

use crate::build::Built;
use crate::dto::EventKind;
use crate::metrics::{AdapterMetrics, EventResult, SyncFailure};
use crate::rejected::{EntityKind, Rejected};
use crate::status::{SourceKind, StatusCell, SyncState, rfc3339};

/// Puts built snapshots into service: stores the snapshot (one atomic swap of routes and
/// enforcement data together), brings the JWKS caches in step with the key managers, logs
/// each rejection, and updates the metrics and the [`StatusCell`]. Sources hold an
/// `Arc<Applier>`; nothing here is on the request path.
#[derive(Debug)]
pub struct Applier {
    store: Arc<SnapshotStore>,
    enforcer: Arc<Enforcer>,
    metrics: AdapterMetrics,
    status: StatusCell,
    clock: SharedClock,
    /// The snapshot replaced by the last apply. Kept until the next one, then released here:
    /// by then no request holds it, so freeing a large snapshot happens on the config path
    /// rather than on the request that happens to drop it last.
    retired: Mutex<Option<Arc<Snapshot>>>,
}

// === impl Applier ===

impl Applier {
    pub fn new(
        store: Arc<SnapshotStore>,
        enforcer: Arc<Enforcer>,
        metrics: AdapterMetrics,
        clock: SharedClock,
        source: SourceKind,
    ) -> Self {
        Applier { store, enforcer, metrics, status: StatusCell::new(source), clock, retired: Mutex::new(None) }
    }

    /// Serves `built`: the swap happens first, so a request sees the old revision or the
    /// new one, never a mix.
    pub fn apply(&self, built: Built) {
        let revision = built.snapshot.revision;
        let replaced = self.store.load();
        self.store.store(built.snapshot.clone());
        self.enforcer.authenticator().prepare(&built.snapshot.enforcement.key_managers);
        for rejected in &built.rejected {
            tracing::warn!(entity = rejected.entity.as_str(), id = %rejected.id, error = %rejected.error, "configuration rejected");
        }
        let now = self.clock.unix_seconds();
        self.metrics.record_applied(revision, &built.counts, &built.rejected, now);
        self.metrics.record_outstanding(&built.outstanding);
        let (counts, outstanding, api_files) = (built.counts, built.outstanding, built.api_files);
        self.status.update(|status| {
            status.state = SyncState::Synced;
            status.last_error = None;
            status.revision = Some(revision);
            status.last_applied = rfc3339(now);
            status.entities = counts;
            status.rejected.clone_from(&outstanding);
            status.api_files = api_files.clone();
        });
        tracing::info!(
            revision,
            apis = counts[EntityKind::Api],
            rejected = built.rejected.len(),
            "configuration applied"
        );
        let older = std::mem::replace(&mut *self.retired.lock().unwrap_or_else(PoisonError::into_inner), replaced);
        drop(older);
    }

    /// Records a failed sync attempt: metric, log, and the status (what was applied stays).
    pub fn record_failure(&self, reason: SyncFailure, error: &dyn fmt::Display) {
        self.metrics.record_sync_failure(reason);
        tracing::error!(reason = reason.as_str(), %error, "configuration sync failed");
        let message = error.to_string();
        self.status.update(|status| {
            status.state = SyncState::Error;
            status.last_error = Some(message.clone());
        });
    }

    /// Records a whole document that could not be read (an undecodable snapshot): nothing of
    /// it applies, and it is shown with the rejections in force (replacing an earlier
    /// rejection of the same document) until the next update replaces them all.
    pub fn reject_document(&self, rejected: &Rejected) {
        tracing::warn!(entity = rejected.entity.as_str(), id = %rejected.id, error = %rejected.error, "configuration rejected");
        self.metrics.record_rejected(std::slice::from_ref(rejected));
        self.status.update(|status| {
            status.rejected.retain(|other| (other.entity, &other.id) != (rejected.entity, &rejected.id));
            status.rejected.push(rejected.clone());
        });
        self.metrics.record_outstanding(&self.status.load().rejected);
    }

    /// Counts what became of one event of the source.
    pub(crate) fn record_event(&self, kind: &EventKind, result: EventResult) {
        self.metrics.record_event(kind, result);
    }

    /// Records that the source checked and what is served is current (e.g. a reload found
    /// nothing new after an error): the state goes back to `Synced`.
    pub fn confirm_synced(&self) {
        self.status.update(|status| {
            status.state = SyncState::Synced;
            status.last_error = None;
        });
    }

    /// Records whether the control plane answered the last request (shown in `/config`).
    pub fn set_connected(&self, connected: bool) {
        if self.status.load().connected != Some(connected) {
            self.status.update(|status| status.connected = Some(connected));
        }
    }

    /// Sets what the source is doing (e.g. `Connecting`), keeping the rest of the status.
    pub fn set_state(&self, state: SyncState) {
        self.status.update(|status| status.state = state);
    }

    /// The status cell, for `/config` (clone it; it is shared).
    pub fn status(&self) -> &StatusCell {
        &self.status
    }

    /// The snapshot store this applier swaps into.
    pub fn store(&self) -> &Arc<SnapshotStore> {
        &self.store
    }

    /// Wall-clock Unix seconds from the injected clock (revocation pruning, timestamps).
    pub fn now(&self) -> u64 {
        self.clock.unix_seconds()
    }
}
