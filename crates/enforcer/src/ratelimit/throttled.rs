use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};

/// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers-09/-10): the tier's quota.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit` (same draft): where the caller stands in that quota.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// The tier a limit belongs to; names the 429 code and the `level` metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleLevel {
    Api,
    Resource,
    /// The burst (spike arrest) of an accepted client certificate's `policy`.
    CertificateBurst,
    /// An accepted client certificate's `policy`, per Api and alias.
    Certificate,
    Burst,
    Subscription,
    Application,
}

/// Where one tier stands for one caller, as the `RateLimit-Policy` / `RateLimit` headers show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaStatus {
    pub level: ThrottleLevel,
    /// The policy's name, for logs; the headers name the tier (`level`), never configuration text.
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
    /// Until the tier admits a request again (at least the time to the next Redis sync when the
    /// rejection came from the per-replica share).
    pub retry_after: Duration,
}

// === impl ThrottleLevel ===

impl ThrottleLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ThrottleLevel::Api => "api",
            ThrottleLevel::Resource => "resource",
            ThrottleLevel::CertificateBurst => "certificate-burst",
            ThrottleLevel::Certificate => "certificate",
            ThrottleLevel::Burst => "burst",
            ThrottleLevel::Subscription => "subscription",
            ThrottleLevel::Application => "application",
        }
    }

    /// The contract's 429 code for this tier (burst counts as subscription, and a client
    /// certificate's `policy` is a subscription policy).
    pub fn code(self) -> &'static str {
        match self {
            ThrottleLevel::Api => "900800",
            ThrottleLevel::Resource => "900802",
            ThrottleLevel::Application => "900803",
            ThrottleLevel::CertificateBurst
            | ThrottleLevel::Certificate
            | ThrottleLevel::Subscription
            | ThrottleLevel::Burst => "900804",
        }
    }
}

// === impl QuotaStatus ===

impl QuotaStatus {
    /// The two IETF draft fields (draft-ietf-httpapi-ratelimit-headers-09/-10 syntax, Structured
    /// Field lists whose item is the policy identifier as an sf-string):
    ///
    /// ```text
    /// RateLimit-Policy: "subscription";q=1000;w=60
    /// RateLimit: "subscription";r=0;t=42
    /// ```
    ///
    /// The identifier is the tier (`api`, `resource`, `certificate-burst`, `certificate`,
    /// `burst`, `subscription`, `application`),
    /// so it is always a valid token and never leaks configuration text. `q` is the quota, `w`
    /// the window in seconds, `r` the remaining quota, `t` the seconds until the whole quota is
    /// available again (both rounded up, `w` at least 1).
    pub fn headers(&self) -> [(HeaderName, HeaderValue); 2] {
        let level = self.level.as_str();
        let window = whole_seconds(self.window).max(1);
        let policy = format!("\"{level}\";q={};w={window}", self.limit);
        let current = format!("\"{level}\";r={};t={}", self.remaining, whole_seconds(self.reset));
        [(RATELIMIT_POLICY, ascii_value(policy)), (RATELIMIT, ascii_value(current))]
    }
}

// === impl Throttled ===

impl Throttled {
    /// `Retry-After` in whole seconds: the wait rounded up, never below 1 (client.md).
    pub fn retry_after_secs(&self) -> u64 {
        whole_seconds(self.retry_after).max(1)
    }

    /// Every header a 429 for this rejection carries: `Retry-After`, `RateLimit-Policy`, `RateLimit`.
    pub fn headers(&self) -> [(HeaderName, HeaderValue); 3] {
        let [policy, current] = self.status.headers();
        let retry_after = (http::header::RETRY_AFTER, HeaderValue::from(self.retry_after_secs()));
        [retry_after, policy, current]
    }
}

/// `duration` in seconds, rounded up.
fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The values above are built from a fixed tier name and digits only, so they are always valid
/// header text; the fallback is unreachable but keeps this path free of panics.
fn ascii_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or(HeaderValue::from_static("\"unknown\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(level: ThrottleLevel, remaining: u32, reset: Duration) -> QuotaStatus {
        QuotaStatus { level, policy: "Gold".into(), limit: 5000, window: Duration::from_secs(60), remaining, reset }
    }

    #[test]
    fn headers_follow_the_draft_syntax_and_name_the_tier() {
        let [(policy_name, policy), (name, current)] =
            status(ThrottleLevel::Subscription, 12, Duration::from_millis(4_200)).headers();
        assert_eq!(policy_name.as_str(), "ratelimit-policy");
        assert_eq!(policy, "\"subscription\";q=5000;w=60");
        assert_eq!(name.as_str(), "ratelimit");
        assert_eq!(current, "\"subscription\";r=12;t=5");
    }

    #[test]
    fn sub_second_windows_show_at_least_one_second() {
        let mut burst = status(ThrottleLevel::Burst, 0, Duration::ZERO);
        burst.window = Duration::from_millis(500);
        let [(_, policy), (_, current)] = burst.headers();
        assert_eq!(policy, "\"burst\";q=5000;w=1");
        assert_eq!(current, "\"burst\";r=0;t=0");
    }

    #[test]
    fn retry_after_is_whole_seconds_and_at_least_one() {
        let throttled = |wait| Throttled {
            level: ThrottleLevel::Api,
            status: status(ThrottleLevel::Api, 0, wait),
            retry_after: wait,
        };
        assert_eq!(throttled(Duration::ZERO).retry_after_secs(), 1);
        assert_eq!(throttled(Duration::from_millis(1)).retry_after_secs(), 1);
        assert_eq!(throttled(Duration::from_millis(1_001)).retry_after_secs(), 2);
        assert_eq!(throttled(Duration::from_secs(60)).retry_after_secs(), 60);
        let [(retry_name, retry), _, (_, current)] = throttled(Duration::from_millis(2_500)).headers();
        assert_eq!((retry_name, retry), (http::header::RETRY_AFTER, HeaderValue::from_static("3")));
        assert_eq!(current, "\"api\";r=0;t=3");
    }

    #[test]
    fn codes_and_labels_match_the_contract() {
        use ThrottleLevel::{Api, Application, Burst, Certificate, CertificateBurst, Resource, Subscription};
        let all = [Api, Resource, CertificateBurst, Certificate, Burst, Subscription, Application];
        let codes: Vec<_> = all.map(ThrottleLevel::code).into();
        assert_eq!(codes, ["900800", "900802", "900804", "900804", "900804", "900804", "900803"]);
        assert_eq!(Burst.as_str(), "burst");
        assert_eq!([CertificateBurst, Certificate].map(ThrottleLevel::as_str), ["certificate-burst", "certificate"]);
    }
}
