use prometheus::{IntCounterVec, Opts, Registry};

use crate::guard::ApiGuard;
use crate::rejection::Rejection;

/// The enforcer's Prometheus metrics. Label values come from configuration only.
#[derive(Debug, Clone)]
pub struct EnforcerMetrics {
    auth_failures: IntCounterVec,
    throttled: IntCounterVec,
    jwks_fetches: IntCounterVec,
}

impl EnforcerMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self::unregistered()?;
        registry.register(Box::new(metrics.auth_failures.clone()))?;
        registry.register(Box::new(metrics.throttled.clone()))?;
        registry.register(Box::new(metrics.jwks_fetches.clone()))?;
        Ok(metrics)
    }

    /// Metrics that count but are exposed nowhere; for benches and unit tests.
    pub fn unregistered() -> prometheus::Result<Self> {
        Ok(EnforcerMetrics {
            auth_failures: IntCounterVec::new(
                Opts::new("tollgate_auth_failures_total", "Requests rejected by credential checks"),
                &["api", "version", "code"],
            )?,
            throttled: IntCounterVec::new(
                Opts::new("tollgate_throttled_total", "Requests rejected by a rate-limit tier"),
                &["api", "version", "level"],
            )?,
            jwks_fetches: IntCounterVec::new(
                Opts::new("tollgate_jwks_fetches_total", "JWKS fetches by key manager and result"),
                &["key_manager", "result"],
            )?,
        })
    }

    pub(crate) fn record_rejection(&self, api: &ApiGuard, rejection: &Rejection) {
        match rejection {
            Rejection::RateLimited(throttled) => {
                self.throttled.with_label_values(&[&*api.name, &*api.version, throttled.level.as_str()]).inc();
            }
            Rejection::ApiBlocked => {}
            Rejection::MissingCredential
            | Rejection::InvalidToken(_)
            | Rejection::CertificateNotAccepted(_)
            | Rejection::SubscriptionBlocked
            | Rejection::NotSubscribed(_)
            | Rejection::SubscriptionInactive
            | Rejection::MissingScope => {
                self.auth_failures.with_label_values(&[&*api.name, &*api.version, rejection.code()]).inc();
            }
        }
    }

    /// Counts one JWKS fetch; `result` is a fixed word (`ok`, `error`, `not_modified`, ...).
    pub fn record_jwks_fetch(&self, key_manager: &str, result: &'static str) {
        self.jwks_fetches.with_label_values(&[key_manager, result]).inc();
    }
}
