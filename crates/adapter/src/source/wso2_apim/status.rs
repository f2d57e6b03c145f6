//! What the `wso2-apim` source shows in `/config` beside the engine's status: the event hub's
//! connection, the last event, the last full pull and its outcome.

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::status::rfc3339;

/// The source's own sync state. Holds no secrets (broker URLs without credentials).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wso2Sync {
    /// Whether the event hub's consumers are bound now.
    pub broker_connected: bool,
    /// The broker connected to (or last connected to), without credentials.
    pub broker: Option<String>,
    /// Why the hub last disconnected.
    pub broker_error: Option<String>,
    /// When the last event arrived, RFC 3339 UTC.
    pub last_event: Option<String>,
    /// The last full pull.
    pub last_pull: Option<PullReport>,
}

/// When the last full pull ended, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullReport {
    pub at: Option<String>,
    pub outcome: PullOutcome,
    /// What failed (`partial`, `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How a full pull ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullOutcome {
    /// Everything fetched; what differed is serving.
    Served,
    /// Everything fetched; nothing differed.
    Unchanged,
    /// Some resources failed: the others' changes are serving, the failed ones' entities
    /// stay as they were, and the pull is retried with backoff.
    Partial,
    /// Nothing applied; retried with backoff.
    Failed,
}

/// A shared, lock-free cell of the [`Wso2Sync`]. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Wso2Status {
    current: Arc<ArcSwap<Wso2Sync>>,
}

// === impl Wso2Status ===

impl Wso2Status {
    /// The current state (serialise it for `/config`).
    pub fn load(&self) -> Arc<Wso2Sync> {
        self.current.load_full()
    }

    pub(crate) fn update(&self, change: impl Fn(&mut Wso2Sync)) {
        self.current.rcu(|current| {
            let mut next = Wso2Sync::clone(current);
            change(&mut next);
            next
        });
    }

    pub(crate) fn connected(&self, broker: &str) {
        self.update(|sync| {
            sync.broker_connected = true;
            sync.broker = Some(broker.to_owned());
            sync.broker_error = None;
        });
    }

    pub(crate) fn disconnected(&self, reason: &str) {
        self.update(|sync| {
            sync.broker_connected = false;
            sync.broker_error = Some(reason.to_owned());
        });
    }

    pub(crate) fn event_arrived(&self, now_seconds: u64) {
        self.update(|sync| sync.last_event = rfc3339(now_seconds));
    }

    pub(crate) fn pulled(&self, now_seconds: u64, outcome: PullOutcome, error: Option<&str>) {
        self.update(|sync| {
            sync.last_pull = Some(PullReport { at: rfc3339(now_seconds), outcome, error: error.map(str::to_owned) });
        });
    }
}
