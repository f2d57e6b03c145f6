use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;

use super::api_key::ApiKeyGrant;
use super::claims::Lifetime;
use super::keys::VerificationKey;
use super::parsed::ParsedToken;
use crate::backend_jwt::LastMinted;
use crate::enforcement::Revocations;
use crate::model::{KeyManager, RevokedId};
use crate::rejection::TokenError;

/// A token whose signature, lifetime and audience passed, with what the later checks need,
/// extracted once. What depends on the snapshot (revocation, subscription) is not decided
/// here: it is checked on every use.
#[derive(Debug)]
pub(crate) struct VerifiedToken {
    /// Held (not just compared) so that the pointer cannot be reused by another key manager.
    key_manager: Arc<KeyManager>,
    key: Arc<VerificationKey>,
    lifetime: Lifetime,
    /// The `jti`, else the signature in canonical form.
    revocation: RevokedId,
    subject: Arc<str>,
    consumer_key: Option<Arc<str>>,
    scopes: Box<[Arc<str>]>,
    /// An API key's grant; `None` for a bearer token.
    api_key: Option<ApiKeyGrant>,
    /// How long the verified-token cache may keep it: until `exp`, at most [`MAX_CACHE_TTL`].
    cache_ttl: Duration,
    /// Its weight in the cache: one per started KiB of token.
    cache_weight: u32,
    /// The backend JWT last made for it, for a repeated request on the same Api.
    last_minted: LastMinted,
}

/// A verified credential as a principal carries it: what is cached per credential (backend
/// JWTs) is keyed by [`VerifiedCredential::identity`] and holds the handle, so that the identity
/// cannot be reused by another credential while the entry lives. Cloning is one reference count.
#[derive(Debug, Clone)]
pub struct VerifiedCredential(Arc<VerifiedToken>);

/// How a token was presented, which decides the checks after its signature: a bearer token's
/// `exp` is required and its `aud` checked; an API key (client.md, "Credentials (securitySchemes
/// api_key)") may have no `exp`, has no audience check and carries API-M's claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    Bearer,
    ApiKey,
}

/// The verified-token cache: full token string → [`VerifiedToken`], bounded by weight, each
/// entry dropped at its token's `exp`. Keyed by the whole token (never a hash of it: a
/// collision would be an authentication bypass), hashed with a fast seeded hasher.
#[derive(Debug)]
pub(crate) struct VerifiedCache {
    cache: Option<moka::sync::Cache<Box<str>, Arc<VerifiedToken>, foldhash::fast::RandomState>>,
}

/// Entries live until their token expires (on moka's clock; the authenticator also checks
/// `exp` against the injected clock on every hit).
struct UntilExpiry;

/// Even a token valid for days is re-verified this often.
const MAX_CACHE_TTL: Duration = Duration::from_secs(60 * 60);

// === impl VerifiedToken ===

impl VerifiedToken {
    /// Checks what follows the signature, in the contract's order: `exp`, `nbf` (with the key
    /// manager's skew), `aud` (bearer tokens); then reads `jti`, `sub`, the consumer key and
    /// the scopes, or an API key's grant.
    pub(crate) fn new(
        key_manager: Arc<KeyManager>,
        key: Arc<VerificationKey>,
        token: &ParsedToken<'_>,
        now: u64,
        kind: CredentialKind,
    ) -> Result<Self, TokenError> {
        let claims = token.claims();
        let lifetime = match kind {
            CredentialKind::Bearer => claims.lifetime()?,
            CredentialKind::ApiKey => claims.lifetime_or_unlimited()?,
        };
        lifetime.check(now, key_manager.clock_skew)?;
        if kind == CredentialKind::Bearer && !claims.has_audience(&key_manager.audiences) {
            return Err(TokenError::WrongAudience);
        }
        let api_key = match kind {
            CredentialKind::Bearer => None,
            CredentialKind::ApiKey => Some(ApiKeyGrant::from_claims(claims)?),
        };
        // Canonical once here, so that every cache hit compares without decoding again.
        let revocation = match claims.token_id()? {
            Some(jti) => RevokedId::Jti(jti.into()),
            None => RevokedId::Signature(token.signature().into()).canonical(),
        };
        Ok(VerifiedToken {
            subject: claims.subject()?.unwrap_or_default().into(),
            consumer_key: claims.consumer_key(&key_manager.consumer_key_claim).map(Arc::from),
            scopes: claims.scopes(&key_manager.scopes_claim).into_boxed_slice(),
            api_key,
            cache_ttl: Duration::from_secs(lifetime.expires_at.saturating_sub(now)).min(MAX_CACHE_TTL),
            cache_weight: weight(token.signing_input().len() + 1 + token.signature().len()),
            key_manager,
            key,
            lifetime,
            revocation,
            last_minted: LastMinted::default(),
        })
    }

    pub(crate) fn key_manager(&self) -> &Arc<KeyManager> {
        &self.key_manager
    }

    pub(crate) fn key(&self) -> &Arc<VerificationKey> {
        &self.key
    }

    pub(crate) fn subject(&self) -> &Arc<str> {
        &self.subject
    }

    pub(crate) fn consumer_key(&self) -> Option<&str> {
        self.consumer_key.as_deref()
    }

    /// The grant of an API key (verified as [`CredentialKind::ApiKey`]).
    pub(crate) fn api_key(&self) -> Option<&ApiKeyGrant> {
        self.api_key.as_ref()
    }

    /// When the credential expires (Unix seconds; `u64::MAX`: never, an API key without `exp`).
    pub(crate) fn expires_at(&self) -> u64 {
        self.lifetime.expires_at
    }

    #[cfg(test)]
    pub(crate) fn cache_ttl(&self) -> Duration {
        self.cache_ttl
    }

    /// `exp`/`nbf` against `now`, with the key manager's skew.
    pub(crate) fn check_lifetime(&self, now: u64) -> Result<(), TokenError> {
        self.lifetime.check(now, self.key_manager.clock_skew)
    }

    /// [`TokenError::Revoked`] when the snapshot revokes its `jti` (or its signature, in any
    /// spelling: both sides are in canonical form).
    pub(crate) fn check_revocation(&self, revocations: &Revocations) -> Result<(), TokenError> {
        match !revocations.is_empty() && revocations.contains(&self.revocation) {
            true => Err(TokenError::Revoked),
            false => Ok(()),
        }
    }

    /// Any-of: true when `wanted` is empty or the token holds one of its scopes.
    pub(crate) fn holds_any_scope(&self, wanted: &[Arc<str>]) -> bool {
        wanted.is_empty() || wanted.iter().any(|scope| self.scopes.contains(scope))
    }
}

// === impl VerifiedCredential ===

impl VerifiedCredential {
    pub(crate) fn new(verified: Arc<VerifiedToken>) -> Self {
        VerifiedCredential(verified)
    }

    /// When the credential expires, in Unix seconds; `None`: never (an API key without `exp`).
    pub fn expires_at(&self) -> Option<u64> {
        Some(self.0.expires_at()).filter(|&at| at != u64::MAX)
    }

    /// The backend JWT last made for this credential (see [`LastMinted`]).
    pub(crate) fn last_minted(&self) -> &LastMinted {
        &self.0.last_minted
    }

    /// An identity that no other live credential shares: the address of the verification,
    /// unique for as long as a clone of this handle is held.
    pub(crate) fn identity(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

// === impl VerifiedCache ===

impl VerifiedCache {
    /// A cache of `capacity` weight units (one per started KiB of token); 0 disables it.
    pub(crate) fn new(capacity: u64) -> Self {
        let cache = (capacity > 0).then(|| {
            moka::sync::Cache::<Box<str>, Arc<VerifiedToken>>::builder()
                .max_capacity(capacity)
                .weigher(|_, verified| verified.cache_weight)
                .expire_after(UntilExpiry)
                .build_with_hasher(foldhash::fast::RandomState::default())
        });
        VerifiedCache { cache }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<VerifiedToken>> {
        self.cache.as_ref()?.get(token)
    }

    /// Remembers a verified token, unless it expires within the second.
    pub(crate) fn insert(&self, token: &str, verified: Arc<VerifiedToken>) {
        if let Some(cache) = &self.cache
            && !verified.cache_ttl.is_zero()
        {
            cache.insert(token.into(), verified);
        }
    }

    pub(crate) fn invalidate(&self, token: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate(token);
        }
    }
}

// === impl UntilExpiry ===

impl Expiry<Box<str>, Arc<VerifiedToken>> for UntilExpiry {
    fn expire_after_create(&self, _: &Box<str>, verified: &Arc<VerifiedToken>, _: Instant) -> Option<Duration> {
        Some(verified.cache_ttl)
    }

    fn expire_after_update(
        &self,
        _: &Box<str>,
        verified: &Arc<VerifiedToken>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(verified.cache_ttl)
    }
}

fn weight(token_len: usize) -> u32 {
    u32::try_from(token_len.div_ceil(1024).max(1)).unwrap_or(u32::MAX)
}
