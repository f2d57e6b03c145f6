use http::StatusCode;

use crate::client_cert::CertificateRefusal;
use crate::ratelimit::Throttled;

/// Why the enforcer refused a request. Each variant knows its status and the contract's
/// stable code; none carries the token or any internal detail that could reach a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("no credential on a secured operation")]
    MissingCredential,
    #[error("invalid token: {0}")]
    InvalidToken(TokenError),
    /// A client certificate the Api does not accept (401 900901, like a bad token).
    #[error("client certificate not accepted: {0}")]
    CertificateNotAccepted(CertificateRefusal),
    #[error("subscription blocked for this key type")]
    SubscriptionBlocked,
    #[error("not subscribed: {0}")]
    NotSubscribed(NotSubscribed),
    #[error("subscription on hold or rejected")]
    SubscriptionInactive,
    #[error("the token holds none of the operation's scopes")]
    MissingScope,
    #[error("the API is blocked")]
    ApiBlocked,
    #[error("rate limited at the {} tier", .0.level.as_str())]
    RateLimited(Box<Throttled>),
}

/// Why a token was not accepted (all answered 401 900901). Logged and counted, never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("the credential header was sent more than once")]
    RepeatedCredential,
    #[error("algorithm not supported (none, HMAC or unknown)")]
    UnsupportedAlgorithm,
    #[error("algorithm not allowed by the key manager or inconsistent with the key")]
    DisallowedAlgorithm,
    #[error("unknown or disabled issuer")]
    UnknownIssuer,
    #[error("no key with this kid")]
    UnknownKey,
    #[error("the key manager's keys are not available")]
    KeysUnavailable,
    #[error("bad signature")]
    BadSignature,
    #[error("missing or non-numeric exp")]
    MissingExpiry,
    #[error("non-numeric nbf")]
    InvalidNotBefore,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
    #[error("wrong audience")]
    WrongAudience,
    #[error("revoked")]
    Revoked,
    #[error("the API has no endpoint for the key type")]
    NoEndpointForKeyType,
    #[error("an API key claim has the wrong shape")]
    MalformedClaims,
}

/// Why a token's application is not subscribed (all answered 403 900908).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotSubscribed {
    #[error("no consumer key claim")]
    NoConsumerKey,
    #[error("no key mapping for the consumer key")]
    NoKeyMapping,
    #[error("the key mapping's application does not exist")]
    NoApplication,
    #[error("no subscription to this API")]
    NoSubscription,
    #[error("the API key's subscribedAPIs do not name this API")]
    ApiNotInKey,
    #[error("the API key is not permitted from the client's IP")]
    IpNotPermitted,
    #[error("the API key is not permitted for the request's Referer")]
    RefererNotPermitted,
    /// The API key's `subscriptionTier` or application `tier` names a policy this snapshot
    /// does not have: the key cannot be limited as its subscription says, so it is not used.
    #[error("the API key names a rate-limit policy the gateway does not have")]
    UnknownPolicy,
}

// === impl Rejection ===

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::MissingCredential
            | Rejection::InvalidToken(_)
            | Rejection::CertificateNotAccepted(_)
            | Rejection::SubscriptionBlocked => StatusCode::UNAUTHORIZED,
            Rejection::NotSubscribed(_) | Rejection::SubscriptionInactive | Rejection::MissingScope => {
                StatusCode::FORBIDDEN
            }
            Rejection::ApiBlocked => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The contract's stable error code (client.md, "Error responses").
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::MissingCredential => "900902",
            Rejection::InvalidToken(_) | Rejection::CertificateNotAccepted(_) => "900901",
            Rejection::SubscriptionBlocked => "900907",
            Rejection::NotSubscribed(_) => "900908",
            Rejection::SubscriptionInactive => "900909",
            Rejection::MissingScope => "900910",
            Rejection::ApiBlocked => "700700",
            Rejection::RateLimited(throttled) => throttled.level.code(),
        }
    }

    /// A short, fixed message for the response body.
    pub fn message(&self) -> &'static str {
        match self {
            Rejection::MissingCredential => "Missing Credentials",
            Rejection::InvalidToken(_) | Rejection::CertificateNotAccepted(_) => "Invalid Credentials",
            Rejection::SubscriptionBlocked => "Unauthorized",
            Rejection::NotSubscribed(_) => "Resource forbidden",
            Rejection::SubscriptionInactive => "Resource forbidden",
            Rejection::MissingScope => "The access token does not allow you to access the requested resource",
            Rejection::ApiBlocked => "API blocked",
            Rejection::RateLimited(_) => "Message throttled out",
        }
    }

    /// A fixed description for the response body; never the token or an internal error.
    pub fn description(&self) -> &'static str {
        match self {
            Rejection::MissingCredential => "Make sure your API invocation call has a credential the API accepts",
            Rejection::InvalidToken(_) | Rejection::CertificateNotAccepted(_) => {
                "Make sure you have provided the correct security credentials"
            }
            Rejection::SubscriptionBlocked => "The subscription to this API is blocked for this key type",
            Rejection::NotSubscribed(_) => "The application is not subscribed to this API",
            Rejection::SubscriptionInactive => "The subscription to this API is on hold or rejected",
            Rejection::MissingScope => "The access token does not hold a scope this operation requires",
            Rejection::ApiBlocked => {
                "This API has been blocked temporarily. Please try again later or contact the system administrators."
            }
            Rejection::RateLimited(_) => "You have exceeded your quota. Retry after the time given in Retry-After.",
        }
    }

    /// The `error` parameter of `WWW-Authenticate` for 401s: `None` for a missing credential,
    /// `Some("invalid_token")` for the others; not a 401 at all for every other variant.
    pub fn bearer_error(&self) -> Option<Option<&'static str>> {
        match self {
            Rejection::MissingCredential => Some(None),
            Rejection::InvalidToken(_) | Rejection::CertificateNotAccepted(_) | Rejection::SubscriptionBlocked => {
                Some(Some("invalid_token"))
            }
            Rejection::NotSubscribed(_)
            | Rejection::SubscriptionInactive
            | Rejection::MissingScope
            | Rejection::ApiBlocked
            | Rejection::RateLimited(_) => None,
        }
    }
}

impl From<TokenError> for Rejection {
    fn from(error: TokenError) -> Self {
        Rejection::InvalidToken(error)
    }
}

impl From<NotSubscribed> for Rejection {
    fn from(reason: NotSubscribed) -> Self {
        Rejection::NotSubscribed(reason)
    }
}
