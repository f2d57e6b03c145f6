//! Token validation: JWKS caches per key manager, signature and claim checks, the verified
//! token cache, revocation, subscriptions and scopes.
//!
//! PLACEHOLDER until the enforcer issue lands: every secured request is refused.

use crate::clock::SharedClock;
use crate::enforcement::Enforcement;
use crate::enforcer::Access;
use crate::metrics::EnforcerMetrics;
use crate::principal::Principal;
use crate::rejection::{Rejection, TokenError};

/// Settings of token validation.
#[derive(Debug, Clone, Default)]
pub struct TokenSettings {}

/// Validates credentials against the key managers of the request's snapshot.
#[derive(Debug)]
pub struct Authenticator {}

impl Authenticator {
    pub fn new(_settings: TokenSettings, _clock: SharedClock, _metrics: EnforcerMetrics) -> Self {
        Authenticator {}
    }

    pub async fn authenticate(&self, _data: &Enforcement, access: &Access<'_>) -> Result<Principal, Rejection> {
        match access.credential {
            None => Err(Rejection::MissingCredential),
            Some(_) => Err(TokenError::UnknownIssuer.into()),
        }
    }
}

impl Authenticator {
    /// Brings the JWKS caches in step with the key managers of a newly applied snapshot
    /// (starts refreshing new ones, forgets removed ones). Called by the adapter after a swap.
    pub fn prepare(&self, _key_managers: &crate::KeyManagers) {}
}
