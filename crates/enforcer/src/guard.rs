use std::sync::Arc;

use crate::client_cert::ClientCertificates;
use crate::schemes::SecuritySchemes;

/// What the enforcer needs to know about the API a request matched. Built once per snapshot
/// by the adapter and embedded in the router's `Api`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiGuard {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub version: Arc<str>,
    /// `lifecycleState: BLOCKED`: every request is answered 503 700700.
    pub blocked: bool,
    /// The API-level `api` policy, applied to the whole API.
    pub throttling_policy: Option<Arc<str>>,
    /// Which credentials the API accepts (`securitySchemes`).
    pub schemes: SecuritySchemes,
    /// Where the API is served (the router's base paths): an API key's `subscribedAPIs` entry
    /// names the API by one of them.
    pub base_paths: Box<[Arc<str>]>,
    /// `clientCertificates`, parsed when the snapshot was built; empty without `mutualssl`.
    pub client_certificates: Arc<ClientCertificates>,
}

/// What the enforcer needs to know about the operation a request matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationGuard {
    /// `false`: no credential needed; the `Unauthenticated` policy applies per client IP.
    pub secured: bool,
    /// Any-of: when non-empty, the token must hold at least one.
    pub scopes: Box<[Arc<str>]>,
    /// The resource-level `api` policy, used only when the API has none.
    pub throttling_policy: Option<Arc<str>>,
    /// A stable name for the operation (`GET /pets/{petId}`), the key of per-resource limits.
    pub resource: Arc<str>,
}
