//! What the configuration source is doing, for the gateway's `/config` endpoint.

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::catalog::ApiFiles;
use crate::kind::EntityCounts;
use crate::rejected::Rejected;

/// The state of configuration sync. Holds no secrets (no tokens, no key material).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub source: SourceKind,
    pub state: SyncState,
    /// Whether the last request to the control plane was answered as the protocol expects;
    /// absent for the file source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected: Option<bool>,
    /// The last failure, cleared by the next successful apply.
    pub last_error: Option<String>,
    /// The applied revision; `None` until the first configuration is applied.
    pub revision: Option<u64>,
    /// When it was applied, RFC 3339 UTC.
    pub last_applied: Option<String>,
    /// Entities served, by kind.
    pub entities: EntityCounts,
    /// Every rejection in force.
    pub rejected: Vec<Rejected>,
    /// The file each served API came from (file source), by API id; shown with the APIs.
    #[serde(skip)]
    pub api_files: ApiFiles,
}

/// Where the configuration comes from (`source.kind` in the gateway configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    File,
    ControlPlane,
    /// WSO2 API Manager 4.x (contract/wso2.md).
    Wso2Apim,
}

/// What the source is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncState {
    /// Nothing applied yet, first attempt under way.
    Starting,
    /// (Re)connecting to the control plane.
    Connecting,
    /// The latest configuration is applied.
    Synced,
    /// The last attempt failed; what was applied before is still served.
    Error,
}

/// A shared, lock-free cell holding the current [`SyncStatus`]: readers load an `Arc`,
/// the source replaces it whole. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StatusCell {
    current: Arc<ArcSwap<SyncStatus>>,
}

// === impl StatusCell ===

impl StatusCell {
    pub fn new(source: SourceKind) -> Self {
        let status = SyncStatus {
            source,
            state: SyncState::Starting,
            connected: None,
            last_error: None,
            revision: None,
            last_applied: None,
            entities: EntityCounts::default(),
            rejected: Vec::new(),
            api_files: ApiFiles::default(),
        };
        StatusCell { current: Arc::new(ArcSwap::from_pointee(status)) }
    }

    /// The current status (serialise it for `/config`).
    pub fn load(&self) -> Arc<SyncStatus> {
        self.current.load_full()
    }

    /// Replaces the status with `change` applied to a copy of it.
    pub fn update(&self, change: impl Fn(&mut SyncStatus)) {
        self.current.rcu(|current| {
            let mut next = SyncStatus::clone(current);
            change(&mut next);
            next
        });
    }
}

/// Unix seconds as RFC 3339 UTC (`2026-11-21T10:00:00Z`).
pub(crate) fn rfc3339(unix_seconds: u64) -> Option<String> {
    let seconds = i64::try_from(unix_seconds).ok()?;
    OffsetDateTime::from_unix_timestamp(seconds).ok()?.format(&Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_serialises_camel_case_without_surprises() {
        let cell = StatusCell::new(SourceKind::ControlPlane);
        cell.update(|status| status.last_applied = rfc3339(1_700_000_000));
        let json = serde_json::to_value(&*cell.load()).ok();
        let json = json.unwrap_or_default();
        assert_eq!(json["source"], "control-plane");
        assert_eq!(json["state"], "starting");
        assert_eq!(json["lastApplied"], "2023-11-14T22:13:20Z");
        assert_eq!(json["entities"]["keyMapping"], 0);
    }
}
