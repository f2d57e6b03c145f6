use std::sync::Arc;

use super::entitlement::Entitlement;
use super::keys::VerificationKey;
use super::keys::{FetchContext, KeyStores, http_client};
use super::parsed::{MAX_TOKEN_BYTES, parse_unverified};
use super::refused::{Refusal, RefusedCache};
use super::settings::TokenSettings;
use super::verified::{CredentialKind, VerifiedCache, VerifiedCredential, VerifiedToken};
use crate::clock::SharedClock;
use crate::enforcement::{Enforcement, KeyManagers};
use crate::enforcer::Access;
use crate::metrics::EnforcerMetrics;
use crate::model::KeyManager;
use crate::presented::AppCredential;
use crate::principal::Principal;
use crate::rejection::{Rejection, TokenError};

/// Validates bearer tokens and API keys against the key managers of the request's snapshot.
///
/// Long-lived: it owns the JWKS caches and the verified-token caches, which outlive snapshot
/// swaps; the entities it checks against come with each call.
///
/// Bearer tokens and API keys share the key stores, the verification code and the refused
/// cache (a bad signature is bad either way) but have a verified cache each: the checks after
/// the signature differ (an API key needs no `exp` and has no audience check), so a token
/// verified as one kind must never be taken from the cache as the other. Neither cache says
/// anything about an Api: an API key's `subscribedAPIs` are matched against the request's Api
/// on every use, so a key verified on one Api is never accepted on another.
#[derive(Debug)]
pub struct Authenticator {
    clock: SharedClock,
    keys: KeyStores,
    verified: VerifiedCache,
    verified_api_keys: VerifiedCache,
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
        let verified_api_keys = VerifiedCache::new(settings.verified_cache_capacity);
        let refused = RefusedCache::new(settings.refused_cache_capacity);
        let http = http_client(settings.jwks_fetch_timeout);
        let context = FetchContext { http, settings, clock: clock.clone(), metrics };
        Authenticator { clock, keys: KeyStores::new(context), verified, verified_api_keys, refused }
    }

    /// Authenticates `access` by its one application-level credential (client.md,
    /// "Combining schemes"): a bearer token or an API key, whichever the Api's schemes and the
    /// request select; none is [`Rejection::MissingCredential`].
    ///
    /// A credential verified before is taken from its cache without signature work or JSON
    /// parsing; its expiry, revocation, key manager and key are still checked against now and
    /// the current snapshot, and what it is entitled to on this Api is always decided afresh.
    ///
    /// I/O: only when the credential's key is unknown, a bounded wait for a JWKS refresh.
    pub async fn authenticate(&self, data: &Enforcement, access: &Access<'_>) -> Result<Principal, Rejection> {
        match access.presented.application_credential(access.api.schemes)? {
            AppCredential::Bearer(token) => self.authenticate_bearer(data, access, token).await,
            AppCredential::ApiKey(key) => self.authenticate_api_key(data, access, key).await,
        }
    }

    /// A bearer token, in the contract's order (client.md, "Credentials (securitySchemes
    /// oauth2)"): signature and algorithm against the key manager of its `iss`, `exp`/`nbf`,
    /// `aud`, revocation; then the subscription, then the operation's scopes.
    async fn authenticate_bearer(
        &self,
        data: &Enforcement,
        access: &Access<'_>,
        token: &str,
    ) -> Result<Principal, Rejection> {
        let verified = self.verified_token(data, token, CredentialKind::Bearer).await.inspect_err(|error| {
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
            credential: Some(VerifiedCredential::new(verified)),
            certificate: None,
        })
    }

    /// A WSO2 API key, in the contract's order (client.md, "Credentials (securitySchemes
    /// api_key)"): signature, algorithm and `exp` (absent: none) against the key manager of its
    /// `iss`, revocation; then its `subscribedAPIs`, `permittedIP` and `permittedReferer` for
    /// this Api and client. An API key holds no scopes.
    async fn authenticate_api_key(
        &self,
        data: &Enforcement,
        access: &Access<'_>,
        key: &str,
    ) -> Result<Principal, Rejection> {
        let verified = self.verified_token(data, key, CredentialKind::ApiKey).await.inspect_err(|error| {
            tracing::debug!(%error, "API key rejected");
        })?;
        let grant = verified.api_key().ok_or(TokenError::MalformedClaims)?;
        let subscription = grant.admit(access.api, access.client_ip, access.presented.referer)?;
        grant.check_policies(subscription, &data.policies)?;
        if !verified.holds_any_scope(&access.operation.scopes) {
            return Err(Rejection::MissingScope);
        }
        Ok(Principal {
            subject: verified.subject().clone(),
            key_type: grant.key_type,
            application: Some(grant.application.clone()),
            subscription: Some(subscription.clone()),
            key_manager: verified.key_manager().name.clone(),
            credential: Some(VerifiedCredential::new(verified.clone())),
            certificate: None,
        })
    }

    /// Called by the adapter after each snapshot swap: starts background JWKS refresh for
    /// new JWKS key managers (first fetch right away), parses PEM keys, stops and forgets
    /// removed or disabled ones. Cheap (no allocation) when nothing changed.
    pub fn prepare(&self, key_managers: &KeyManagers) {
        self.keys.prepare(key_managers);
    }

    async fn verified_token(
        &self,
        data: &Enforcement,
        token: &str,
        kind: CredentialKind,
    ) -> Result<Arc<VerifiedToken>, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let now = self.clock.unix_seconds();
        let cache = self.verified_cache_of(kind);
        if let Some(hit) = cache.get(token) {
            if self.still_current(data, hit.key_manager(), hit.key()) {
                hit.check_lifetime(now)?;
                hit.check_revocation(&data.revocations)?;
                return Ok(hit);
            }
            cache.invalidate(token);
        }
        if let Some(refusal) = self.refused.get(token)
            && self.still_current(data, &refusal.key_manager, &refusal.key)
        {
            return Err(refusal.error);
        }
        // Boxed: the slow path's future (signature work, a JWKS wait) would otherwise make
        // every request's future larger, cache hits included.
        let verified = Arc::new(Box::pin(self.verify(data, token, now, kind)).await?);
        verified.check_revocation(&data.revocations)?;
        cache.insert(token, verified.clone());
        Ok(verified)
    }

    fn verified_cache_of(&self, kind: CredentialKind) -> &VerifiedCache {
        match kind {
            CredentialKind::Bearer => &self.verified,
            CredentialKind::ApiKey => &self.verified_api_keys,
        }
    }

    /// Whether a cached verification (or refusal) still stands: the issuer still maps to the
    /// very key manager that decided it and that key manager still publishes the key.
    /// Otherwise the token is verified again from scratch.
    fn still_current(&self, data: &Enforcement, key_manager: &Arc<KeyManager>, key: &Arc<VerificationKey>) -> bool {
        let current = data.key_managers.by_issuer(&key_manager.issuer);
        current.is_some_and(|current| Arc::ptr_eq(current, key_manager)) && self.keys.holds(key_manager, key)
    }

    async fn verify(
        &self,
        data: &Enforcement,
        token: &str,
        now: u64,
        kind: CredentialKind,
    ) -> Result<VerifiedToken, TokenError> {
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
        VerifiedToken::new(key_manager.clone(), key, &parsed, now, kind)
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
