use std::collections::BTreeMap;
use std::sync::Arc;

use http::HeaderValue;

use crate::token::CanonicalSignature;

/// Whether a consumer key (and so a token) is for production or sandbox traffic; it picks the
/// API endpoint the request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    Production,
    Sandbox,
}

/// A developer's application: what subscriptions and key mappings hang off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub owner: Arc<str>,
    /// An `application` policy name; resolved when the snapshot is built.
    pub policy: Arc<str>,
    pub attributes: BTreeMap<Arc<str>, Arc<str>>,
    /// `id` and `name` as header values for the upstream, made once when the snapshot is
    /// built rather than per request (`None`: not a valid header value, not sent).
    pub id_header: Option<HeaderValue>,
    pub name_header: Option<HeaderValue>,
}

impl Application {
    /// `text` as a header value, if it can be one.
    pub fn header_value(text: &str) -> Option<HeaderValue> {
        HeaderValue::from_str(text).ok()
    }
}

/// Binds a key manager's consumer key to an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMapping {
    pub application_id: Arc<str>,
    pub consumer_key: Arc<str>,
    pub key_type: KeyType,
    pub key_manager: Arc<str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionStatus {
    Unblocked,
    Blocked,
    ProdOnlyBlocked,
    OnHold,
    Rejected,
    TierUpdatePending,
}

/// An application's subscription to an API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: Arc<str>,
    pub api_id: Arc<str>,
    pub application_id: Arc<str>,
    /// A `subscription` policy name; resolved when the snapshot is built.
    pub policy: Arc<str>,
    pub status: SubscriptionStatus,
}

/// How a revoked token is recognised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RevokedId {
    Jti(Arc<str>),
    /// The token's third (signature) part, for tokens without a `jti`: as the snapshot spells
    /// it, until [`RevokedId::canonical`] makes it comparable.
    Signature(Arc<str>),
}

/// A revoked token, remembered until it would have expired anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedToken {
    pub id: RevokedId,
    /// Unix seconds.
    pub expires_at: u64,
}

// === impl RevokedId ===

impl RevokedId {
    /// The form revocation compares (model.md, "RevokedToken"): a `jti` as it is, a signature
    /// in [`CanonicalSignature`] form, so that every spelling of one signature is one id.
    pub fn canonical(self) -> Self {
        match self {
            RevokedId::Jti(jti) => RevokedId::Jti(jti),
            RevokedId::Signature(spelling) => RevokedId::Signature(CanonicalSignature::new(&spelling).into_inner()),
        }
    }
}
