//! `POST /status`: what the gateway runs, after every applied change and at least every
//! `status_interval`, on its own task so that a slow control plane never delays applying.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use super::backoff::Backoff;
use super::client::{Client, FetchError};
use crate::rejected::Rejected;
use crate::status::{StatusCell, SyncStatus};

/// The body of `POST /status` (control-plane.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusReport<'a> {
    pub(crate) gateway_id: &'a str,
    pub(crate) environment: &'a str,
    pub(crate) revision: u64,
    pub(crate) applied_at: Option<&'a str>,
    pub(crate) rejected: &'a [Rejected],
}

/// Sends status reports. Woken by the sync loop through a `watch` channel: changes that
/// arrive while a report is under way collapse into one more report of the latest state,
/// so reports never queue up behind a slow control plane.
#[derive(Debug)]
pub(crate) struct Reporter {
    pub(crate) client: Client,
    pub(crate) status: StatusCell,
    pub(crate) gateway_id: String,
    pub(crate) environment: String,
    pub(crate) interval: Duration,
}

// === impl Reporter ===

impl Reporter {
    /// Reports until `changes` closes (the sync loop ended).
    pub(crate) async fn run(self, mut changes: watch::Receiver<u64>) {
        let mut backoff = Backoff::default();
        let mut due = Instant::now() + self.interval;
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                () = tokio::time::sleep_until(due) => {}
            }
            changes.borrow_and_update();
            while let Err(error) = self.send().await {
                let delay = backoff.next_delay();
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "status report failed");
                tokio::time::sleep(delay).await;
                changes.borrow_and_update();
            }
            backoff.reset();
            due = Instant::now() + self.interval;
        }
    }

    /// Sends the current status; nothing before the first configuration is applied.
    async fn send(&self) -> Result<(), FetchError> {
        let status = self.status.load();
        let Some(body) = self.body(&status) else { return Ok(()) };
        self.client.status(body).await?;
        tracing::debug!(revision = status.revision, "status reported");
        Ok(())
    }

    fn body(&self, status: &SyncStatus) -> Option<Vec<u8>> {
        let report = StatusReport {
            gateway_id: &self.gateway_id,
            environment: &self.environment,
            revision: status.revision?,
            applied_at: status.last_applied.as_deref(),
            rejected: &status.rejected,
        };
        serde_json::to_vec(&report).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejected::EntityKind;

    #[test]
    fn the_report_has_the_contract_shape() {
        let rejected =
            [Rejected { entity: EntityKind::Api, id: "broken-v1".into(), error: "api \"broken-v1\": …".into() }];
        let report = StatusReport {
            gateway_id: "tollgate-7c9f-1",
            environment: "default",
            revision: 45,
            applied_at: Some("2026-11-21T10:00:00Z"),
            rejected: &rejected,
        };
        let json = serde_json::to_value(&report).unwrap_or_default();
        let expected = serde_json::json!({"gatewayId": "tollgate-7c9f-1", "environment": "default", "revision": 45,
            "appliedAt": "2026-11-21T10:00:00Z", "rejected": [{"entity": "api", "id": "broken-v1", "error": "api \"broken-v1\": …"}]});
        assert_eq!(json, expected);
    }
}
