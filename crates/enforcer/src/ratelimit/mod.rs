//! Rate-limit tiers (client.md, "Rate limits").
//!
//! PLACEHOLDER until the rate-limit issue lands: every request is admitted.

mod throttled;

pub use throttled::{QuotaStatus, ThrottleLevel, Throttled};

use crate::clock::SharedClock;
use crate::enforcement::Enforcement;
use crate::enforcer::Access;
use crate::metrics::EnforcerMetrics;
use crate::principal::Principal;
use crate::rejection::Rejection;

/// Settings of the rate limiter.
#[derive(Debug, Clone, Default)]
pub struct RateLimitSettings {}

/// Applies the rate-limit tiers; its counters outlive snapshot swaps.
#[derive(Debug)]
pub struct RateLimiter {}

impl RateLimiter {
    pub fn new(_settings: RateLimitSettings, _clock: SharedClock, _metrics: EnforcerMetrics) -> Self {
        RateLimiter {}
    }

    pub fn check(
        &self,
        _data: &Enforcement,
        _access: &Access<'_>,
        _principal: Option<&Principal>,
    ) -> Result<Option<QuotaStatus>, Rejection> {
        Ok(None)
    }
}
