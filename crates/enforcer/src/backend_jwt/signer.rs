use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::{HeaderName, HeaderValue};
use jsonwebtoken::jwk::JwkSet;

use super::claims::{BackendClaims, Issue};
use super::key::SigningKey;
use super::minted::{Holder, Minted, MintedCache, renewal};
use crate::clock::SharedClock;
use crate::guard::ApiGuard;
use crate::principal::Principal;
use crate::token::VerifiedCredential;

/// `[backend_jwt]` besides the key, as the gateway validated it (operator.md).
#[derive(Debug, Clone)]
pub struct BackendJwtSettings {
    /// The `iss` of every backend JWT (default `tollgate`).
    pub issuer: Arc<str>,
    /// The header that carries it upstream (default `X-JWT-Assertion`).
    pub header: HeaderName,
    /// A backend JWT expires at most this long after it is issued (default 900 s).
    pub ttl: Duration,
}

/// Mints the backend JWTs of client.md, "Backend JWT", and publishes the keys that verify them.
///
/// Long-lived, like the [`Enforcer`](crate::Enforcer)'s caches: a JWT is minted once per
/// (credential, Api) and served from the cache until a margin before its `exp`, so the common
/// request costs a lookup and no signature. The signing key is swapped whole on rotation
/// ([`BackendJwtSigner::rotate`]); JWTs signed with the replaced key are never served again,
/// and its public key stays in [`BackendJwtSigner::jwks`] until the last of them has expired.
#[derive(Debug)]
pub struct BackendJwtSigner {
    settings: BackendJwtSettings,
    keys: ArcSwap<KeyRing>,
    minted: MintedCache,
    clock: SharedClock,
}

/// Why no backend JWT could be made (answered 500 900900: the upstream must not be reached
/// without the JWT its Api asks for).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendJwtError {
    #[error("cannot sign a backend JWT: {0}")]
    Signing(String),
    /// An Api asks for one and the gateway has no `[backend_jwt]` key.
    #[error("no backend JWT key is configured")]
    NotConfigured,
}

/// The key that signs, and the replaced keys whose JWTs may still be in flight.
#[derive(Debug)]
struct KeyRing {
    current: Arc<SigningKey>,
    /// Each replaced key with the Unix second after which no JWT it signed is valid.
    retired: Vec<(Arc<SigningKey>, u64)>,
}

// === impl BackendJwtSigner ===

impl BackendJwtSigner {
    pub fn new(settings: BackendJwtSettings, key: SigningKey, clock: SharedClock) -> Self {
        let keys = ArcSwap::from_pointee(KeyRing { current: Arc::new(key), retired: Vec::new() });
        BackendJwtSigner { settings, keys, minted: MintedCache::new(), clock }
    }

    /// The header the JWT travels in; while a signer exists, a client's own copy of it is
    /// removed from every request.
    pub fn header(&self) -> &HeaderName {
        &self.settings.header
    }

    /// The backend JWT for `principal` on `api`: the one kept on the principal's credential,
    /// else from the cache, when one minted earlier for the same credential (or, admitted by a
    /// client certificate alone, the same certificate) still describes them and was signed by
    /// the current key; else a new one (one signature). A principal with neither has nothing
    /// to cache under: minted every time.
    pub fn assertion(&self, principal: &Principal, api: &ApiGuard) -> Result<HeaderValue, BackendJwtError> {
        let now = self.clock.unix_seconds();
        let ring = self.keys.load();
        let current = &ring.current;
        let Some(holder) = Holder::of(principal) else {
            return self.mint(principal, api, current, now).map(|(header, _)| header);
        };
        let last = principal.credential.as_ref().map(VerifiedCredential::last_minted);
        if let Some(header) = last.and_then(|last| last.serving(principal, api, current, now)) {
            return Ok(header);
        }
        let minted = match self.minted.get(holder, api).filter(|hit| hit.serves(principal, api, current, now)) {
            Some(hit) => hit,
            None => {
                let (header, renew_at) = self.mint(principal, api, current, now)?;
                let minted = Arc::new(Minted::new(current.clone(), (principal, api), header, (now, renew_at)));
                self.minted.insert(holder, principal, minted.clone());
                minted
            }
        };
        if let Some(last) = last {
            last.keep(minted.clone());
        }
        Ok(minted.header.clone())
    }

    /// Signs with `key` from now on. The replaced key stays published until every JWT it
    /// signed has expired; cached JWTs it signed are dropped. Returns `false` (and changes
    /// nothing) when `key` is the key already signing.
    pub fn rotate(&self, key: SigningKey) -> bool {
        let now = self.clock.unix_seconds();
        let ring = self.keys.load_full();
        if ring.current.same_key_as(&key) {
            return false;
        }
        let until = now.saturating_add(self.settings.ttl.as_secs());
        let mut retired: Vec<_> = ring.retired.iter().filter(|(_, until)| *until > now).cloned().collect();
        retired.push((ring.current.clone(), until));
        self.keys.store(Arc::new(KeyRing { current: Arc::new(key), retired }));
        self.minted.clear();
        true
    }

    /// The public keys that verify backend JWTs still valid: the signing key first, then
    /// replaced keys whose JWTs may not have expired yet.
    pub fn jwks(&self) -> JwkSet {
        let now = self.clock.unix_seconds();
        let ring = self.keys.load();
        let retired = ring.retired.iter().filter(|(_, until)| *until >= now).map(|(key, _)| key);
        JwkSet { keys: std::iter::once(&ring.current).chain(retired).map(|key| key.public_jwk().clone()).collect() }
    }

    /// Empties the cache shared by all credentials (not what each credential keeps).
    #[cfg(test)]
    pub(crate) fn forget_cached(&self) {
        self.minted.clear();
    }

    /// The `kid` of the key that signs now.
    pub fn current_kid(&self) -> Arc<str> {
        self.keys.load().current.kid().clone()
    }

    /// A new JWT and when it is due for renewal: `exp` is the earliest of the credential's
    /// expiry, the accepted client certificate's `notAfter` and `ttl` from now.
    fn mint(
        &self,
        principal: &Principal,
        api: &ApiGuard,
        key: &SigningKey,
        now: u64,
    ) -> Result<(HeaderValue, u64), BackendJwtError> {
        let ttl_end = now.saturating_add(self.settings.ttl.as_secs());
        let credential_end = principal.credential.as_ref().and_then(|credential| credential.expires_at());
        let certificate_end = principal.certificate.as_ref().map(|accepted| accepted.not_after);
        let expires_at = [credential_end, certificate_end].into_iter().flatten().fold(ttl_end, u64::min);
        let jti = format!("{:032x}", rand::random::<u128>());
        let issue = Issue { issuer: &self.settings.issuer, issued_at: now, expires_at, jti: &jti };
        let claims = BackendClaims::new(issue, principal, api);
        let mut header = jsonwebtoken::Header::new(key.algorithm());
        header.kid = Some(key.kid().to_string());
        let token = jsonwebtoken::encode(&header, &claims, key.encoding()).map_err(|e| {
            tracing::error!(error = %e, kid = %key.kid(), "cannot sign a backend JWT");
            BackendJwtError::Signing(e.to_string())
        })?;
        let value = HeaderValue::try_from(token).map_err(|e| BackendJwtError::Signing(e.to_string()))?;
        Ok((value, renewal(now, expires_at)))
    }
}
