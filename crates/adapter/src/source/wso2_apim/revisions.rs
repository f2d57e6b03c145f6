//! Acknowledging deployments to API-M (contract/wso2.md): `PATCH /apis/deployed-revisions`
//! once an API revision is serving, so API-M's console shows it deployed on this gateway.

use std::collections::HashSet;

use super::client::{ApimClient, DeployedRevision};
use crate::engine::EngineHandle;
use crate::rejected::EntityKind;

/// The revisions acknowledged so far; each is sent once (a failed PATCH is tried again after
/// the next pull).
#[derive(Debug, Default)]
pub(crate) struct RevisionAcks {
    sent: HashSet<(String, u64)>,
}

// === impl RevisionAcks ===

impl RevisionAcks {
    /// PATCHes the `revisions` not acknowledged yet whose API is serving (not rejected).
    pub(crate) async fn acknowledge(
        &mut self,
        client: &ApimClient,
        engine: &EngineHandle,
        revisions: Vec<DeployedRevision>,
    ) {
        let status = engine.status().load();
        let rejected = |api: &str| status.rejected.iter().any(|r| r.entity == EntityKind::Api && r.id == api);
        let due: Vec<DeployedRevision> = revisions
            .into_iter()
            .filter(|revision| !self.sent.contains(&key(revision)) && !rejected(&revision.api_id))
            .collect();
        if due.is_empty() {
            return;
        }
        match client.ack_revisions(&due).await {
            Ok(()) => {
                tracing::info!(count = due.len(), "deployed revisions acknowledged to API-M");
                self.sent.extend(due.iter().map(key));
            }
            Err(error) => {
                tracing::warn!(%error, "cannot acknowledge deployed revisions to API-M; retried after the next pull");
            }
        }
    }
}

fn key(revision: &DeployedRevision) -> (String, u64) {
    (revision.api_id.clone(), revision.revision_id)
}
