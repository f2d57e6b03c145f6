use std::net::IpAddr;

use crate::clock::SharedClock;
use crate::combining;
use crate::enforcement::Enforcement;
use crate::guard::{ApiGuard, OperationGuard};
use crate::metrics::EnforcerMetrics;
use crate::model::KeyType;
use crate::presented::Presented;
use crate::principal::Principal;
use crate::ratelimit::{QuotaStatus, RateLimitSettings, RateLimiter};
use crate::rejection::{Rejection, TokenError};
use crate::token::{Authenticator, TokenSettings};

/// The long-lived half of enforcement: caches (JWKS, verified tokens) and limiter state that
/// outlive snapshot swaps. The data it enforces comes with each call, from the request's snapshot.
#[derive(Debug)]
pub struct Enforcer {
    clock: SharedClock,
    authenticator: Authenticator,
    limiter: RateLimiter,
    metrics: EnforcerMetrics,
}

/// Settings of the enforcer, from the gateway configuration.
#[derive(Debug, Clone, Default)]
pub struct EnforcerSettings {
    pub tokens: TokenSettings,
    pub rate_limit: RateLimitSettings,
}

/// One request as the enforcer sees it.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub api: &'a ApiGuard,
    pub operation: &'a OperationGuard,
    /// The credentials the request presented, as the router extracted them.
    pub presented: Presented<'a>,
    pub client_ip: IpAddr,
    /// The key types the API has an endpoint for.
    pub endpoints: KeyTypes,
}

/// Which key types an API can serve (it has a production and/or a sandbox endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTypes {
    pub production: bool,
    pub sandbox: bool,
}

/// What an admitted request carries on: who it is, and the tier to report in rate-limit
/// headers when they are enabled.
#[derive(Debug, Clone, Default)]
pub struct Admission {
    pub principal: Option<Principal>,
    pub quota: Option<QuotaStatus>,
}

// === impl Enforcer ===

impl KeyTypes {
    /// Both production and sandbox endpoints.
    pub const BOTH: KeyTypes = KeyTypes { production: true, sandbox: true };

    pub fn contains(self, key_type: KeyType) -> bool {
        match key_type {
            KeyType::Production => self.production,
            KeyType::Sandbox => self.sandbox,
        }
    }
}

/// A credential whose key type the API has no endpoint for is a bad token (client.md,
/// Routing 5), decided before it can use any rate-limit quota.
fn check_endpoint(endpoints: KeyTypes, key_type: KeyType) -> Result<(), Rejection> {
    match endpoints.contains(key_type) {
        true => Ok(()),
        false => Err(TokenError::NoEndpointForKeyType.into()),
    }
}

impl Enforcer {
    pub fn new(settings: EnforcerSettings, clock: SharedClock, metrics: EnforcerMetrics) -> Self {
        Enforcer {
            clock: clock.clone(),
            authenticator: Authenticator::new(settings.tokens, clock.clone(), metrics.clone()),
            limiter: RateLimiter::new(settings.rate_limit, clock, metrics.clone()),
            metrics,
        }
    }

    /// Decides whether `access` may proceed: lifecycle, then a repeated credential header
    /// (refused on any operation), then credentials (client.md order), then the rate-limit tiers. Never does I/O except a bounded JWKS refresh on an unknown key.
    pub async fn admit(&self, data: &Enforcement, access: Access<'_>) -> Result<Admission, Rejection> {
        let result = self.decide(data, access).await;
        if let Err(rejection) = &result {
            self.metrics.record_rejection(access.api, rejection);
        }
        result
    }

    /// The authenticator, for the adapter to keep JWKS caches in step with key managers.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// The limiter, for the gateway to start and stop its background synchronisation.
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    async fn decide(&self, data: &Enforcement, access: Access<'_>) -> Result<Admission, Rejection> {
        if access.api.blocked {
            return Err(Rejection::ApiBlocked);
        }
        access.presented.check_repeated(access.api.schemes)?;
        let principal = match access.operation.secured {
            true => Some(combining::authenticate(&self.authenticator, data, &access, self.clock.unix_seconds()).await?),
            false => None,
        };
        if let Some(principal) = &principal {
            check_endpoint(access.endpoints, principal.key_type)?;
        }
        let quota = self.limiter.check(data, &access, principal.as_ref())?;
        Ok(Admission { principal, quota })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_type_without_an_endpoint_is_a_bad_token() {
        let production_only = KeyTypes { production: true, sandbox: false };
        assert_eq!(check_endpoint(production_only, KeyType::Production), Ok(()));
        assert_eq!(
            check_endpoint(production_only, KeyType::Sandbox),
            Err(Rejection::InvalidToken(TokenError::NoEndpointForKeyType))
        );
        assert!(KeyTypes::BOTH.contains(KeyType::Sandbox));
    }
}
