//! Why a WSO2 API is not served: the feature it uses that Tollgate cannot enforce as written.

/// A WSO2 API that Tollgate refuses rather than serve with less security or different
/// behaviour than API-M promised (contract/wso2.md, "What is served, and what is refused").
/// The message names the feature, for `/config`, the log and `tollgate check`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("API type {0} is not supported (only HTTP/REST APIs are served)")]
    ApiType(String),
    #[error("endpoint implementation {0} is not supported (only backend endpoints are served)")]
    Implementation(String),
    #[error("security scheme {0} is not supported")]
    SecurityScheme(String),
    #[error("API keys under more than one name ({0}) are not supported; an Api reads one header or query parameter")]
    ApiKeyNames(String),
    #[error("API key scheme {scheme:?} in {location} is not supported (only header or query)")]
    ApiKeyLocation { scheme: String, location: String },
    #[error(
        "mutual TLS needs client certificates, which an OpenAPI document alone cannot carry (use an apictl project with Client-certificates/)"
    )]
    ClientCertificatesOutsideProject,
    #[error("mutual TLS without client certificates: the project's Client-certificates/ holds none")]
    NoClientCertificates,
    #[error("client certificate {0:?} is named in client_certificates.json but its certificate file is missing")]
    ClientCertificateFile(String),
    #[error("security scheme type {0:?} of {1:?} is not supported")]
    SecuritySchemeType(String, String),
    #[error("mediation policies are not supported")]
    MediationPolicies,
    #[error("API policy {0} is not supported")]
    ApiPolicy(String),
    #[error("operation policy {policy} on {operation} is not supported")]
    OperationPolicy { operation: String, policy: String },
    #[error("endpoint type {0} has no Tollgate equivalent")]
    EndpointType(String),
    #[error("backend credentials (endpoint security) are not supported yet")]
    BackendCredentials,
    #[error("per-resource endpoints ({0}) are not supported; only API-level endpoints are served")]
    PerResourceEndpoints(String),
    #[error("endpoint reference {0:?} names no x-wso2-endpoints entry")]
    UnknownEndpointReference(String),
    #[error("circuit breakers are not supported")]
    CircuitBreakers,
    #[error("per-endpoint TLS trust (Endpoint-certificates) is not supported")]
    EndpointCertificates,
    #[error("environment-specific endpoint of {0} is not a URL")]
    EnvironmentEndpoint(String),
    #[error("multi-endpoint APIs are not supported")]
    MultipleEndpoints,
    #[error("response caching is not supported")]
    ResponseCache,
    #[error("schema validation is not supported")]
    SchemaValidation,
    #[error("backend throughput limits (maxTps) are not supported")]
    BackendThroughput,
    #[error("extension {0} is not supported")]
    Extension(String),
    #[error("lifecycle state {0} is not served")]
    Lifecycle(String),
    #[error("resource {target}: {reason}")]
    Target { target: String, reason: &'static str },
    #[error(
        "base path {base_path} does not hold the version {version} as a segment, and an Api is served at its context plus its version"
    )]
    BasePath { base_path: String, version: String },
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{what} is not readable: {reason}")]
    Unreadable { what: &'static str, reason: String },
    #[error("the document is not an OpenAPI 3 or Swagger 2 document (no top-level openapi or swagger key)")]
    NotOpenApi,
}
