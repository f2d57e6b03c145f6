use std::sync::Arc;
use std::time::Duration;

/// The tier a limit belongs to; names the 429 code and the `level` metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleLevel {
    Api,
    Resource,
    Burst,
    Subscription,
    Application,
}

/// Where one tier stands for one caller, as the `RateLimit-Policy` / `RateLimit` headers show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaStatus {
    pub level: ThrottleLevel,
    pub policy: Arc<str>,
    /// Requests per `window`.
    pub limit: u32,
    pub window: Duration,
    pub remaining: u32,
    /// Until the caller has its whole quota again.
    pub reset: Duration,
}

/// A rejection by one tier: the status of that tier and when to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    pub level: ThrottleLevel,
    pub status: QuotaStatus,
    pub retry_after: Duration,
}

// === impl ThrottleLevel ===

impl ThrottleLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleLevel::Api => "api",
            ThrottleLevel::Resource => "resource",
            ThrottleLevel::Burst => "burst",
            ThrottleLevel::Subscription => "subscription",
            ThrottleLevel::Application => "application",
        }
    }

    /// The contract's 429 code for this tier (burst counts as subscription).
    pub fn code(self) -> &'static str {
        match self {
            ThrottleLevel::Api => "900800",
            ThrottleLevel::Resource => "900802",
            ThrottleLevel::Application => "900803",
            ThrottleLevel::Subscription | ThrottleLevel::Burst => "900804",
        }
    }
}
