use std::sync::Arc;

use super::credential::CredentialHeader;
use super::entitlement::Entitlement;
use super::keys::VerificationKey;
use super::keys::{FetchContext, KeyStores, http_client};
use super::parsed::{MAX_TOKEN_BYTES, parse_unverified};
use super::refused::{Refusal, RefusedCache};
use super::settings::TokenSettings;
use super::verified::{VerifiedCache, VerifiedToken};
use crate::clock::SharedClock;
use crate::enforcement::{Enforcement, KeyManagers};
use crate::enforcer::Access;
use crate::metrics::EnforcerMetrics;
use crate::model::KeyManager;
use crate::principal::Principal;
use crate::rejection::{Rejection, TokenError};

/// Validates bearer credentials against the key managers of the request's snapshot.
///
/// Long-lived: it owns the JWKS caches and the verified-token cache, which outlive snapshot
/// swaps; the entities it checks against come with each call.
#[derive(Debug)]
pub struct Authenticator {
    clock: SharedClock,
    keys: KeyStores,
    verified: VerifiedCache,
    refused: RefusedCache,
}

// === impl Authenticator ===

impl Authenticator {
    /// An authenticator with empty caches. Builds the JWKS HTTP client (rustls, aws-lc-rs);
    /// does not spawn anything until [`Authenticator::prepare`] or the first request.
    pub fn new(settings: TokenSettings, clock: SharedClock, metrics: EnforcerMetrics) -> Self {
        // Pin jsonwebtoken to aws-lc-rs even if another crate enables its RustCrypto backend.
        let _already_installed = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let verified = VerifiedCache::new(settings.verified_cache_capacity);
        let refused = RefusedCache::new(settings.refused_cache_capacity);
        let http = http_client(settings.jwks_fetch_timeout);
        let context = FetchContext { http, settings, clock: clock.clone(), metrics };
        Authenticator { clock, keys: KeyStores::new(context), verified, refused }
    }

    /// Authenticates `access` in the contract's order (client.md, "Credentials"): the bearer
    /// token (signature and algorithm against the key manager of its `iss`, `exp`/`nbf`,
    /// `aud`, revocation), then the subscription, then the operation's scopes.
    ///
    /// A token verified before is taken from the cache without signature work or JSON
    /// parsing; its expiry, revocation, key manager and key are still checked against now and
    /// the current snapshot, and subscription and scopes are always decided afresh.
    ///
    /// I/O: only when the token's key is unknown, a bounded wait for a JWKS refresh.
    pub async fn authenticate(&self, data: &Enforcement, access: &Access<'_>) -> Result<Principal, Rejection> {
        let token = bearer_token(access.credential)?;
        let verified = self.verified_token(data, token).await.inspect_err(|error| {
            tracing::debug!(%error, "token rejected");
        })?;
        let entitlement = Entitlement::check(data, access.api, &verified)?;
        if !verified.holds_any_scope(&access.operation.scopes) {
            return Err(Rejection::MissingScope);
        }
        Ok(Principal {
            subject: verified.subject().clone(),
            key_type: entitlement.key_type,
            application: entitlement.application,
            subscription: entitlement.subscription,
            key_manager: verified.key_manager().name.clone(),
        })
    }

    /// Called by the adapter after each snapshot swap: starts background JWKS refresh for
    /// new JWKS key managers (first fetch right away), parses PEM keys, stops and forgets
    /// removed or disabled ones. Cheap (no allocation) when nothing changed.
    pub fn prepare(&self, key_managers: &KeyManagers) {
        self.keys.prepare(key_managers);
    }

    async fn verified_token(&self, data: &Enforcement, token: &str) -> Result<Arc<VerifiedToken>, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let now = self.clock.unix_seconds();
        if let Some(hit) = self.verified.get(token) {
            if self.still_current(data, hit.key_manager(), hit.key()) {
                hit.check_lifetime(now)?;
                hit.check_revocation(&data.revocations)?;
                return Ok(hit);
            }
            self.verified.invalidate(token);
        }
        if let Some(refusal) = self.refused.get(token)
            && self.still_current(data, &refusal.key_manager, &refusal.key)
        {
            return Err(refusal.error);
        }
        // Boxed: the slow path's future (signature work, a JWKS wait) would otherwise make
        // every request's future larger, cache hits included.
        let verified = Arc::new(Box::pin(self.verify(data, token, now)).await?);
        verified.check_revocation(&data.revocations)?;
        self.verified.insert(token, verified.clone());
        Ok(verified)
    }

    /// Whether a cached verification (or refusal) still stands: the issuer still maps to the
    /// very key manager that decided it and that key manager still publishes the key.
    /// Otherwise the token is verified again from scratch.
    fn still_current(&self, data: &Enforcement, key_manager: &Arc<KeyManager>, key: &Arc<VerificationKey>) -> bool {
        let current = data.key_managers.by_issuer(&key_manager.issuer);
        current.is_some_and(|current| Arc::ptr_eq(current, key_manager)) && self.keys.holds(key_manager, key)
    }

    async fn verify(&self, data: &Enforcement, token: &str, now: u64) -> Result<VerifiedToken, TokenError> {
        let parsed = parse_unverified(token)?;
        let issuer = parsed.claims().issuer().ok_or(TokenError::UnknownIssuer)?;
        let key_manager =
            data.key_managers.by_issuer(issuer).filter(|km| km.enabled).ok_or(TokenError::UnknownIssuer)?;
        if !key_manager.algorithms.contains(parsed.algorithm()) {
            return Err(TokenError::DisallowedAlgorithm);
        }
        let key = self.keys.key(key_manager, parsed.kid()).await.inspect_err(|error| {
            tracing::debug!(key_manager = %key_manager.name, kid = parsed.kid(), %error, "no key for token");
        })?;
        if let Err(error) = key.verify(&parsed) {
            self.refused.insert(token, Refusal { key_manager: key_manager.clone(), key, error });
            return Err(error);
        }
        VerifiedToken::new(key_manager.clone(), key, &parsed, now)
    }

    #[cfg(test)]
    pub(crate) fn key_stores(&self) -> &KeyStores {
        &self.keys
    }

    #[cfg(test)]
    pub(crate) fn verified_cache(&self) -> &VerifiedCache {
        &self.verified
    }

    #[cfg(test)]
    pub(crate) fn refused_cache(&self) -> &RefusedCache {
        &self.refused
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
/// No header, or an empty one: [`Rejection::MissingCredential`]; the header sent twice:
/// [`TokenError::RepeatedCredential`]; another scheme or shape: [`TokenError::Malformed`].
/// What follows the scheme is not inspected here: the token parser refuses anything but
/// base64url and dots, and a cache lookup can only match a valid token.
fn bearer_token(credential: CredentialHeader<'_>) -> Result<&str, Rejection> {
    let credential = match credential {
        CredentialHeader::Absent => None,
        CredentialHeader::Once(value) => Some(value),
        CredentialHeader::Repeated => return Err(TokenError::RepeatedCredential.into()),
    };
    // `from_utf8` (word-at-a-time) rather than `to_str` (byte loop): this runs on every request.
    let value = credential.map(|v| std::str::from_utf8(v.as_bytes())).transpose().map_err(|_| TokenError::Malformed)?;
    let value = value.map(str::trim).filter(|v| !v.is_empty()).ok_or(Rejection::MissingCredential)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
    let token = token.trim_start();
    match scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() {
        true => Ok(token),
        false => Err(TokenError::Malformed.into()),
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "tests: a broken fixture must fail loudly")]
mod tests {
    use super::*;

    use http::HeaderValue;

    fn bearer(value: &str) -> Result<String, Rejection> {
        bearer_token(CredentialHeader::Once(&HeaderValue::from_str(value).expect("a header value"))).map(str::to_owned)
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer("Bearer abc"), Ok("abc".to_owned()));
        assert_eq!(bearer("bEaReR   abc"), Ok("abc".to_owned()));
        assert_eq!(bearer_token(CredentialHeader::Absent), Err(Rejection::MissingCredential));
        assert_eq!(bearer_token(CredentialHeader::Repeated), Err(TokenError::RepeatedCredential.into()));
        assert_eq!(bearer(""), Err(Rejection::MissingCredential));
        let malformed = Err(Rejection::InvalidToken(TokenError::Malformed));
        for value in ["Basic abc", "Bearer", "Bearer ", "abc", "Bearerabc", "Bearer\tabc"] {
            assert_eq!(bearer(value), malformed, "{value}");
        }
        let binary = HeaderValue::from_bytes(b"Bearer \xff\xfe").expect("obs-text is a valid header value");
        assert_eq!(bearer_token(CredentialHeader::Once(&binary)).map(str::to_owned), malformed);
    }
}
