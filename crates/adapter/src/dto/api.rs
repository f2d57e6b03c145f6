use serde::{Deserialize, Serialize};

use super::Text;

/// An `Api` as written (model.md). Every field is optional here so that a missing one is
/// reported by validation with its name; keys it does not have are collected ([`super::keys`]).
/// Serialised (absent fields as `null`) where a source maps another format onto the model
/// (the WSO2 mapping) and hands the engine the model's wire shape.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiDto<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    #[serde(borrow)]
    pub version: Option<Text<'a>>,
    #[serde(borrow)]
    pub context: Option<Text<'a>>,
    pub is_default_version: Option<bool>,
    #[serde(borrow)]
    pub vhosts: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    pub lifecycle_state: Option<Text<'a>>,
    #[serde(borrow)]
    pub security_schemes: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    pub authorization_header: Option<Text<'a>>,
    #[serde(borrow)]
    pub throttling_policy: Option<Text<'a>>,
    #[serde(borrow)]
    pub endpoints: Option<EndpointsDto<'a>>,
    #[serde(borrow)]
    pub cors: Option<CorsDto<'a>>,
    #[serde(borrow)]
    pub operations: Option<Vec<OperationDto<'a>>>,
    #[serde(borrow)]
    pub api_key_header: Option<Text<'a>>,
    /// The certificates accepted with `mutualssl` (docs/definitions.md, "Mutual TLS").
    #[serde(borrow)]
    pub client_certificates: Option<Vec<ClientCertificateDto<'a>>>,
    /// Not served yet (docs/definitions.md, "Not yet served"): a known key, so the file
    /// source does not take it for a misspelt one; `true` is refused by validation.
    pub backend_jwt: Option<bool>,
}

/// One `clientCertificates` entry (model.md, ClientCertificate).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientCertificateDto<'a> {
    #[serde(borrow)]
    pub alias: Option<Text<'a>>,
    #[serde(borrow)]
    pub certificate: Option<Text<'a>>,
    #[serde(borrow)]
    pub policy: Option<Text<'a>>,
}

/// `endpoints`: production and/or sandbox.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EndpointsDto<'a> {
    #[serde(borrow)]
    pub production: Option<EndpointDto<'a>>,
    #[serde(borrow)]
    pub sandbox: Option<EndpointDto<'a>>,
}

/// One endpoint.
///
/// Besides the fields of model.md it accepts `protocol`: `"http1"` (default: HTTP/1.1, or
/// HTTP/2 when a TLS upstream selects it in ALPN) or `"http2"` (HTTP/2 only: prior knowledge
/// on `http://`, ALPN `h2` on `https://`), a Tollgate addition for gRPC and h2c upstreams.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EndpointDto<'a> {
    #[serde(borrow)]
    pub urls: Option<Vec<Text<'a>>>,
    #[serde(rename = "type")]
    #[serde(borrow)]
    pub kind: Option<Text<'a>>,
    pub timeout_ms: Option<u64>,
    pub connect_timeout_ms: Option<u64>,
    pub retries: Option<RetriesDto>,
    #[serde(borrow)]
    pub protocol: Option<Text<'a>>,
}

/// `retries`: how often, and on which upstream statuses.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RetriesDto {
    pub count: Option<u64>,
    pub status_codes: Option<Vec<u64>>,
}

/// `cors`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CorsDto<'a> {
    #[serde(borrow)]
    pub allow_origins: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    pub allow_methods: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    pub allow_headers: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    pub expose_headers: Option<Vec<Text<'a>>>,
    pub allow_credentials: Option<bool>,
    pub max_age_seconds: Option<u64>,
}

/// One `operations` entry.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OperationDto<'a> {
    #[serde(borrow)]
    pub target: Option<Text<'a>>,
    #[serde(borrow)]
    pub verb: Option<Text<'a>>,
    pub secured: Option<bool>,
    #[serde(borrow)]
    pub scopes: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    pub throttling_policy: Option<Text<'a>>,
}
