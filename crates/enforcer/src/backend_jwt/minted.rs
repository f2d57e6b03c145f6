use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use http::HeaderValue;
use moka::Expiry;

use super::claims::api_context;
use super::key::SigningKey;
use crate::client_cert::Fingerprint;
use crate::guard::ApiGuard;
use crate::model::{Application, KeyType, Subscription};
use crate::principal::Principal;
use crate::token::VerifiedCredential;

/// Backend JWTs by (credential, Api id), bounded by weight (one unit per started KiB of JWT),
/// each entry dropped when its JWT is due for renewal.
///
/// A verified credential is identified by the address of its verification; an entry holds that
/// verification, so no other credential can take the address while the entry lives. A
/// principal admitted by its client certificate alone is identified by the certificate's
/// SHA-256.
///
/// The common case, one credential on one Api, does not get here on a repeated request: the
/// JWT last minted for a credential is also kept on the credential itself ([`LastMinted`]).
#[derive(Debug)]
pub(super) struct MintedCache {
    cache: moka::sync::Cache<MintKey, Held, foldhash::fast::RandomState>,
}

/// A cache entry: the JWT, and the verification whose address keys it.
#[derive(Debug, Clone)]
struct Held {
    /// Held to keep a credential's identity (its address) from being reused.
    _credential: Option<VerifiedCredential>,
    minted: Arc<Minted>,
}

/// The backend JWT last minted (or last served from the [`MintedCache`]) for one verified
/// credential, kept in the credential's verification, which the verified-token cache already
/// found for this request: a repeated request on the same Api costs one atomic load instead of
/// a second cache lookup. It lives as long as the verification (at most until the credential's
/// `exp`, an hour at most) and holds one JWT (~1 KiB), never the credential itself (no cycle).
#[derive(Debug, Default)]
pub(crate) struct LastMinted(ArcSwapOption<Minted>);

/// (holder, Api id).
type MintKey = (Holder, Arc<str>);

/// Whom a backend JWT describes, as the cache tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Holder {
    /// A verified token or API key, by the address of its verification.
    Credential(usize),
    /// A client certificate admitted alone.
    Certificate(Fingerprint),
}

/// One backend JWT with everything it was made from, so that a hit can tell whether it still
/// describes the request: same signing key, same Api name/version/context, same application,
/// subscription and key type (a snapshot may have changed them since).
#[derive(Debug)]
pub(super) struct Minted {
    /// The Api it was minted for.
    api_id: Arc<str>,
    /// The certificate tier's policy it was minted with (its `tier` claim for a certificate alone).
    certificate_policy: Option<Arc<str>>,
    subject: Arc<str>,
    pub(super) key: Arc<SigningKey>,
    api_name: Arc<str>,
    api_version: Arc<str>,
    api_context: Box<str>,
    application: Option<Arc<Application>>,
    subscription: Option<Arc<Subscription>>,
    key_type: KeyType,
    pub(super) header: HeaderValue,
    /// Unix seconds from which a new JWT is minted instead (before its `exp`, by a margin).
    pub(super) renew_at: u64,
    cache_ttl: Duration,
}

/// Entries live until their JWT is due for renewal (on moka's clock; the signer also checks
/// `renew_at` against the injected clock on every hit).
struct UntilRenewal;

/// At most this long before its `exp` a cached backend JWT is replaced, so that an upstream
/// never receives one about to expire.
pub(super) const MAX_RENEWAL_MARGIN: u64 = 30;

/// Weight units (KiB of JWT) the cache holds: about 32 MiB of JWTs.
const CAPACITY: u64 = 32 * 1024;

// === impl MintedCache ===

impl MintedCache {
    pub(super) fn new() -> Self {
        let cache = moka::sync::Cache::<MintKey, Held>::builder()
            .max_capacity(CAPACITY)
            .weigher(|_, held| weight(held.minted.header.len()))
            .expire_after(UntilRenewal)
            .build_with_hasher(foldhash::fast::RandomState::default());
        MintedCache { cache }
    }

    pub(super) fn get(&self, holder: Holder, api: &ApiGuard) -> Option<Arc<Minted>> {
        self.cache.get(&(holder, api.id.clone())).map(|held| held.minted)
    }

    /// Remembers `minted` for `principal` as `holder`, unless it is already due for renewal.
    pub(super) fn insert(&self, holder: Holder, principal: &Principal, minted: Arc<Minted>) {
        if !minted.cache_ttl.is_zero() {
            let held = Held { _credential: principal.credential.clone(), minted };
            self.cache.insert((holder, held.minted.api_id.clone()), held);
        }
    }

    /// Forgets every JWT (after a key rotation, they are all signed with the old key).
    pub(super) fn clear(&self) {
        self.cache.invalidate_all();
    }
}

// === impl Minted ===

impl Minted {
    /// A minted JWT for `principal` on `api`, signed by `key`, due for renewal at `renew_at`.
    pub(super) fn new(
        key: Arc<SigningKey>,
        (principal, api): (&Principal, &ApiGuard),
        header: HeaderValue,
        (now, renew_at): (u64, u64),
    ) -> Self {
        Minted {
            api_id: api.id.clone(),
            certificate_policy: certificate_policy(principal).cloned(),
            subject: principal.subject.clone(),
            key,
            api_name: api.name.clone(),
            api_version: api.version.clone(),
            api_context: api_context(api).into(),
            application: principal.application.clone(),
            subscription: principal.subscription.clone(),
            key_type: principal.key_type,
            header,
            renew_at,
            cache_ttl: Duration::from_secs(renew_at.saturating_sub(now)),
        }
    }

    /// Whether this JWT may be sent for `principal` on `api` at `now`, signed by `current`.
    pub(super) fn serves(&self, principal: &Principal, api: &ApiGuard, current: &Arc<SigningKey>, now: u64) -> bool {
        now < self.renew_at
            && *self.api_id == *api.id
            && Arc::ptr_eq(&self.key, current)
            && self.key_type == principal.key_type
            && same(&self.application, &principal.application)
            && same(&self.subscription, &principal.subscription)
            && self.certificate_policy.as_ref() == certificate_policy(principal)
            && self.subject == principal.subject
            && *self.api_name == *api.name
            && *self.api_version == *api.version
            && *self.api_context == *api_context(api)
    }
}

// === impl LastMinted ===

impl LastMinted {
    /// The JWT last kept, when it may be sent for `principal` on `api` at `now`, signed by
    /// `current`.
    pub(super) fn serving(
        &self,
        principal: &Principal,
        api: &ApiGuard,
        current: &Arc<SigningKey>,
        now: u64,
    ) -> Option<HeaderValue> {
        let last = self.0.load();
        let minted = last.as_deref()?;
        minted.serves(principal, api, current, now).then(|| minted.header.clone())
    }

    pub(super) fn keep(&self, minted: Arc<Minted>) {
        self.0.store(Some(minted));
    }
}

// === impl Holder ===

impl Holder {
    /// The principal's verified credential, else the certificate that admitted it alone; `None`
    /// for a principal with neither (tests, benches): nothing to cache under.
    pub(super) fn of(principal: &Principal) -> Option<Holder> {
        let certificate = || principal.certificate.as_ref().map(|accepted| Holder::Certificate(accepted.fingerprint));
        principal.credential.as_ref().map(|credential| Holder::Credential(credential.identity())).or_else(certificate)
    }
}

/// The policy of the certificate a principal was admitted with alone (it names the `tier`).
fn certificate_policy(principal: &Principal) -> Option<&Arc<str>> {
    match principal.credential {
        Some(_) => None,
        None => principal.certificate.as_ref().map(|accepted| &accepted.policy),
    }
}

/// The renewal time of a JWT issued at `issued_at` expiring at `expires_at`: a quarter of its
/// life before `exp`, at most [`MAX_RENEWAL_MARGIN`] seconds.
pub(super) fn renewal(issued_at: u64, expires_at: u64) -> u64 {
    let life = expires_at.saturating_sub(issued_at);
    expires_at.saturating_sub((life / 4).min(MAX_RENEWAL_MARGIN))
}

fn same<T>(a: &Option<Arc<T>>, b: &Option<Arc<T>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        (Some(_), None) | (None, Some(_)) => false,
    }
}

// === impl UntilRenewal ===

impl Expiry<MintKey, Held> for UntilRenewal {
    fn expire_after_create(&self, _: &MintKey, held: &Held, _: Instant) -> Option<Duration> {
        Some(held.minted.cache_ttl)
    }

    fn expire_after_update(&self, _: &MintKey, held: &Held, _: Instant, _: Option<Duration>) -> Option<Duration> {
        Some(held.minted.cache_ttl)
    }
}

fn weight(len: usize) -> u32 {
    u32::try_from(len.div_ceil(1024).max(1)).unwrap_or(u32::MAX)
}
