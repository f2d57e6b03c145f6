use tollgate_router::api::{TargetError, TemplateError};

use crate::rejected::{EntityKind, Rejected};

/// Why a field's value was refused. Each variant is one rule of `model.md`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("required")]
    Missing,
    /// A key that no field of the model has (the file source), with the nearest known key.
    #[error("unknown key{}", did_you_mean(.suggestion.as_deref()))]
    UnknownKey { suggestion: Option<String> },
    #[error("must not be empty")]
    Empty,
    #[error("must not contain control characters")]
    ControlCharacter,
    /// The value has the wrong JSON/YAML type or shape (the decoder's message).
    #[error("{0}")]
    Decode(String),
    #[error("must start with '/'")]
    NotAbsolute,
    #[error("must not end with '/'")]
    TrailingSlash,
    #[error("must not contain an empty segment ('//')")]
    EmptySegment,
    #[error("'.' and '..' segments are not allowed")]
    DotSegment,
    #[error("'{{version}}' must be a whole path segment and appear at most once")]
    VersionPlaceholder,
    #[error("invalid character {0:?}")]
    InvalidCharacter(char),
    #[error("unknown value {value:?}; expected {expected}")]
    UnknownValue { value: String, expected: &'static str },
    #[error(
        "unknown security scheme {0:?}; known: oauth2, api_key, mutualssl, mutualssl_mandatory, \
         oauth_basic_auth_api_key_mandatory"
    )]
    UnknownSecurityScheme(String),
    #[error("names no credential scheme (oauth2, api_key or mutualssl)")]
    NoCredentialScheme,
    /// A field whose promise this version cannot keep (serving the Api without it would give
    /// less than its definition asks).
    #[error("not supported by this version of Tollgate: {0}")]
    NotSupported(&'static str),
    /// `backendJwt: true` on a gateway without a signing key (client.md, "Backend JWT").
    #[error("needs a backend JWT signing key: [backend_jwt] is not in the gateway configuration")]
    NoBackendJwtKey,
    #[error("not a valid HTTP header name")]
    HeaderName,
    #[error("not a valid host name")]
    HostName,
    #[error("not a valid HTTP method")]
    Method,
    #[error("at least one of production and sandbox is required")]
    NoEndpoint,
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("must be between {min} and {max}")]
    OutOfRange { min: u64, max: u64 },
    #[error("not a valid HTTP status code (100-599)")]
    StatusCode,
    #[error("duplicate operation {0}")]
    DuplicateOperation(String),
    #[error("duplicate alias {0:?}")]
    DuplicateAlias(String),
    #[error(transparent)]
    Certificate(#[from] tollgate_enforcer::client_cert::CertificateProblem),
    #[error("unknown {kind} policy {name:?}")]
    UnknownPolicy { kind: &'static str, name: String },
    #[error("{0:?} is never accepted: 'none' and HMAC (HS*) algorithms are not allowed")]
    ForbiddenAlgorithm(String),
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    #[error("exactly one of jwksUrl and certificate is required")]
    KeySource,
    #[error("must be an absolute http:// or https:// URL")]
    Url,
    #[error("not a PEM public key or certificate")]
    Pem,
    #[error("a private key is not accepted; give the public key or the certificate")]
    PrivateKey,
    #[error("only subscription policies may have a burst")]
    BurstNotAllowed,
    #[error("one of jti and signature is required")]
    NoRevokedId,
    #[error("{what} {value} is already used by {kind} {other:?}")]
    Taken { what: &'static str, value: String, kind: EntityKind, other: String },
    /// The route table refused the API (the router's message).
    #[error("{0}")]
    Route(String),
    #[error("defined more than once in the same update; the later one is rejected")]
    Duplicate,
    #[error("still referenced by {kind} {id:?}; the policy stays")]
    StillReferenced { kind: EntityKind, id: String },
}

/// A refused field: `field` is its path in the entity (`operations[3].target`), empty when
/// the rule concerns the entity as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", field_prefix(field))]
pub struct FieldError {
    pub field: String,
    pub problem: Problem,
}

/// A refused entity: which one (kind and id) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {id:?}: {error}")]
pub struct EntityError {
    pub kind: EntityKind,
    pub id: String,
    pub error: FieldError,
}

// === impl FieldError ===

impl FieldError {
    pub fn new(field: impl Into<String>, problem: Problem) -> Self {
        FieldError { field: field.into(), problem }
    }

    /// A rule about the entity as a whole.
    pub fn entity(problem: Problem) -> Self {
        FieldError { field: String::new(), problem }
    }

    /// Places this error inside `parent` (`target` within `operations[3]`).
    pub fn within(mut self, parent: &str) -> Self {
        self.field = match self.field.is_empty() {
            true => parent.to_owned(),
            false if self.field.starts_with('[') => format!("{parent}{}", self.field),
            false => format!("{parent}.{}", self.field),
        };
        self
    }

    /// A helper for `map_err`: the problem, at `field`.
    pub fn at(field: &'static str) -> impl Fn(Problem) -> FieldError {
        move |problem| FieldError::new(field, problem)
    }
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |known| format!("; did you mean `{known}`?"))
}

fn field_prefix(field: &str) -> String {
    match field.is_empty() {
        true => String::new(),
        false => format!("{field}: "),
    }
}

// === impl EntityError ===

impl EntityError {
    pub fn new(kind: EntityKind, id: impl Into<String>, error: FieldError) -> Self {
        EntityError { kind, id: id.into(), error }
    }
}

impl From<EntityError> for Rejected {
    fn from(error: EntityError) -> Self {
        Rejected { entity: error.kind, error: error.to_string(), id: error.id }
    }
}
