//! A deployed API as the router serves it: where it lives (vhosts, base paths), what it
//! accepts (operations), and where it forwards (endpoints). Built by the adapter from a
//! validated document; immutable afterwards.

mod endpoint;
mod template;

use std::sync::Arc;

use http::{HeaderName, Method};
use tollgate_enforcer::{ApiGuard, OperationGuard};

use crate::metrics::ApiMetrics;

pub use endpoint::{Endpoint, EndpointSettings, Endpoints, Retries, Strategy, Target, TargetError, UpstreamProtocol};
pub use template::{PathTemplate, Segment, TemplateError};

/// A validated, deployed API.
#[derive(Debug)]
pub struct Api {
    pub guard: ApiGuard,
    /// Where the API is served: its base path first, then its context when it is the default
    /// version. Each starts with `/` and has no trailing `/`.
    pub base_paths: Box<[Arc<str>]>,
    /// Lowercased host names; empty = every host.
    pub vhosts: Box<[Arc<str>]>,
    /// The header that carries the bearer token (default `Authorization`).
    pub auth_header: HeaderName,
    /// The header and query parameter that carry an API key (default `apikey`).
    pub api_key: ApiKeyName,
    pub endpoints: Endpoints,
    pub cors: Option<Cors>,
    pub operations: Box<[Operation]>,
    /// `backendJwt`: authenticated requests reach the upstream with a backend JWT (client.md,
    /// "Backend JWT"); never forwarded without one.
    pub backend_jwt: bool,
    /// Metric handles, resolved on the first request.
    pub metrics: ApiMetrics,
}

/// The Api's `apiKeyHeader`: the request header, and the query parameter, that carry an API
/// key. The header name is case-insensitive; the query parameter is matched as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyName {
    pub header: HeaderName,
    pub query: Arc<str>,
}

/// One resource template with one verb.
#[derive(Debug)]
pub struct Operation {
    pub template: PathTemplate,
    pub verb: Verb,
    pub guard: OperationGuard,
}

/// The method an operation accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// `*`: every method.
    Any,
    One(Method),
}

/// CORS settings of an API; the gateway answers preflights and decorates responses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cors {
    /// `*` allows every origin.
    pub allow_origins: Box<[Arc<str>]>,
    pub allow_methods: Box<[Arc<str>]>,
    pub allow_headers: Box<[Arc<str>]>,
    pub expose_headers: Box<[Arc<str>]>,
    pub allow_credentials: bool,
    pub max_age_seconds: Option<u32>,
}

// === impl Api ===

impl Api {
    /// The Api's `id`.
    pub fn id(&self) -> &Arc<str> {
        &self.guard.id
    }

    pub fn name(&self) -> &Arc<str> {
        &self.guard.name
    }

    pub fn version(&self) -> &Arc<str> {
        &self.guard.version
    }
}

// === impl ApiKeyName ===

impl Default for ApiKeyName {
    /// `apikey`, the model's default.
    fn default() -> Self {
        ApiKeyName { header: HeaderName::from_static("apikey"), query: Arc::from("apikey") }
    }
}

// === impl Verb ===

impl Verb {
    pub fn accepts(&self, method: &Method) -> bool {
        match self {
            Verb::Any => true,
            Verb::One(verb) => verb == method,
        }
    }
}
