use prometheus::{IntCounter, IntGauge, Opts, Registry};

/// The limiter's own metrics (`tollgate_throttled_total` is counted by the enforcer).
#[derive(Debug, Clone)]
pub(super) struct LimiterMetrics {
    pub(super) redis_errors: IntCounter,
    pub(super) untracked: IntCounter,
    pub(super) keys: IntGauge,
}

impl LimiterMetrics {
    #[allow(clippy::expect_used, reason = "constant, valid names: `metrics_are_valid` below checks them")]
    pub(super) fn new() -> Self {
        Self::try_new().expect("valid metric names")
    }

    fn try_new() -> prometheus::Result<Self> {
        Ok(LimiterMetrics {
            redis_errors: IntCounter::with_opts(Opts::new(
                "tollgate_rate_limit_redis_errors_total",
                "Failed Redis syncs of rate-limit counts (connect, timeout or error reply)",
            ))?,
            untracked: IntCounter::with_opts(Opts::new(
                "tollgate_rate_limit_untracked_total",
                "Tier checks admitted without state because the key table was full",
            ))?,
            keys: IntGauge::with_opts(Opts::new("tollgate_rate_limit_keys", "Rate-limit keys tracked"))?,
        })
    }

    pub(super) fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.redis_errors.clone()))?;
        registry.register(Box::new(self.untracked.clone()))?;
        registry.register(Box::new(self.keys.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_valid_and_register_once() {
        let registry = Registry::new();
        let metrics = LimiterMetrics::try_new().map_err(|e| e.to_string());
        assert!(metrics.as_ref().is_ok_and(|m| m.register(&registry).is_ok()), "{metrics:?}");
        let names: Vec<_> = registry.gather().iter().map(|family| family.name().to_owned()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }
}
