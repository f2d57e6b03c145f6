//! An OpenAPI 3 or Swagger 2 document with WSO2's `x-wso2-*` extensions (INTERFACE.md §3.6),
//! typed as far as a gateway reads it. Schemas, parameters and responses are not read.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::archive::ArchiveError;
use super::decode::decode_file;

/// A whole OpenAPI or Swagger document.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OpenApi {
    pub(crate) openapi: Option<String>,
    pub(crate) swagger: Option<String>,
    pub(crate) info: Option<Info>,
    pub(crate) servers: Vec<Server>,
    /// Swagger 2: the upstream's host, base path and schemes.
    pub(crate) host: Option<String>,
    #[serde(rename = "basePath")]
    pub(crate) base_path: Option<String>,
    pub(crate) schemes: Vec<String>,
    pub(crate) paths: BTreeMap<String, PathItem>,
    pub(crate) security: Option<Vec<Requirement>>,
    pub(crate) components: Option<Components>,
    #[serde(rename = "securityDefinitions")]
    pub(crate) security_definitions: BTreeMap<String, SecurityScheme>,
    #[serde(flatten)]
    pub(crate) extensions: Extensions,
}

/// `info`: title and version name an API imported without a project.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Info {
    pub(crate) title: Option<String>,
    #[serde(deserialize_with = "super::decode::optional_scalar_text")]
    pub(crate) version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Server {
    pub(crate) url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Components {
    #[serde(rename = "securitySchemes")]
    pub(crate) security_schemes: BTreeMap<String, SecurityScheme>,
}

/// A security scheme: its type (`oauth2`, `apiKey`, `http`, ...) and, for `http`, its scheme.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SecurityScheme {
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) scheme: Option<String>,
    /// `apiKey`: the header or query parameter's name, and which of the two (`in`).
    pub(crate) name: Option<String>,
    #[serde(rename = "in")]
    pub(crate) location: Option<String>,
}

/// One security requirement: scheme name → scopes.
pub(crate) type Requirement = BTreeMap<String, Vec<String>>;

/// A path: its operations by method, and the extensions that may sit beside them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PathItem {
    pub(crate) get: Option<Operation>,
    pub(crate) put: Option<Operation>,
    pub(crate) post: Option<Operation>,
    pub(crate) delete: Option<Operation>,
    pub(crate) options: Option<Operation>,
    pub(crate) head: Option<Operation>,
    pub(crate) patch: Option<Operation>,
    pub(crate) trace: Option<Operation>,
    #[serde(flatten)]
    pub(crate) extensions: Extensions,
}

/// One operation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Operation {
    pub(crate) security: Option<Vec<Requirement>>,
    #[serde(flatten)]
    pub(crate) extensions: Extensions,
}

/// The `x-…` keys WSO2 reads, at the root, a path or an operation (each level reads those
/// that apply to it), and every other key of that level.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Extensions {
    #[serde(rename = "x-wso2-basePath")]
    pub(crate) base_path: Option<String>,
    #[serde(rename = "x-wso2-production-endpoints")]
    pub(crate) production_endpoints: Option<EndpointsExtension>,
    #[serde(rename = "x-wso2-sandbox-endpoints")]
    pub(crate) sandbox_endpoints: Option<EndpointsExtension>,
    #[serde(rename = "x-wso2-endpoints")]
    pub(crate) endpoints: Option<Vec<BTreeMap<String, Cluster>>>,
    #[serde(rename = "x-wso2-cors")]
    pub(crate) cors: Option<BTreeMap<String, Value>>,
    #[serde(rename = "x-wso2-throttling-tier")]
    pub(crate) wso2_throttling_tier: Option<String>,
    #[serde(rename = "x-throttling-tier")]
    pub(crate) throttling_tier: Option<String>,
    #[serde(rename = "x-auth-type")]
    pub(crate) auth_type: Option<String>,
    #[serde(rename = "x-wso2-disable-security")]
    pub(crate) disable_security: Option<bool>,
    #[serde(rename = "x-wso2-auth-header")]
    pub(crate) auth_header: Option<String>,
    #[serde(rename = "x-wso2-api-key-header")]
    pub(crate) api_key_header: Option<String>,
    #[serde(rename = "x-wso2-mutual-ssl")]
    pub(crate) mutual_ssl: Option<String>,
    #[serde(rename = "x-wso2-application-security")]
    pub(crate) application_security: Option<ApplicationSecurity>,
    #[serde(rename = "x-wso2-response-cache")]
    pub(crate) response_cache: Option<ResponseCache>,
    #[serde(rename = "x-wso2-http2-backend-enabled")]
    pub(crate) http2_backend_enabled: Option<bool>,
    #[serde(rename = "x-scopes")]
    pub(crate) scopes: Option<OneOrMany>,
    /// Every other key of this level (schemas, parameters, other extensions).
    #[serde(flatten)]
    pub(crate) other: BTreeMap<String, IgnoredAny>,
}

/// `x-wso2-production-endpoints`: a cluster, or a `#/x-wso2-endpoints/<name>` reference.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum EndpointsExtension {
    Reference(String),
    Cluster(Cluster),
}

/// An endpoint cluster as CC reads it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Cluster {
    pub(crate) urls: Vec<String>,
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    pub(crate) advance_endpoint_config: Option<AdvanceEndpointConfig>,
    pub(crate) security_config: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct AdvanceEndpointConfig {
    pub(crate) timeout_in_millis: Option<u64>,
    pub(crate) retry_config: Option<RetryConfig>,
    pub(crate) circuit_breakers: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RetryConfig {
    pub(crate) count: Option<u64>,
    pub(crate) status_codes: Option<Vec<u64>>,
}

/// `x-wso2-application-security`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ApplicationSecurity {
    #[serde(rename = "security-types")]
    pub(crate) security_types: Vec<String>,
    pub(crate) optional: Option<bool>,
}

/// `x-wso2-response-cache`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ResponseCache {
    pub(crate) enabled: Option<bool>,
}

/// A list that may be written as one value.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

// === impl OpenApi ===

impl OpenApi {
    /// Decodes a document (JSON or YAML). Whether it is one is decided by its top-level
    /// `openapi` or `swagger` key ([`OpenApi::is_openapi`]), not here.
    pub fn from_file(name: &str, bytes: &[u8]) -> Result<Self, ArchiveError> {
        decode_file(name, bytes)
    }

    /// Whether the document names itself an OpenAPI 3 or Swagger 2 document.
    pub fn is_openapi(&self) -> bool {
        self.openapi.is_some() || self.swagger.is_some()
    }

    /// The security schemes declared by name (`components.securitySchemes`, Swagger 2's
    /// `securityDefinitions`).
    pub(crate) fn scheme(&self, name: &str) -> Option<&SecurityScheme> {
        let components = self.components.as_ref().and_then(|c| c.security_schemes.get(name));
        components.or_else(|| self.security_definitions.get(name))
    }

    /// Every declared security scheme with its name.
    pub(crate) fn schemes(&self) -> impl Iterator<Item = (&String, &SecurityScheme)> {
        let components = self.components.iter().flat_map(|c| &c.security_schemes);
        components.chain(&self.security_definitions)
    }

    /// Each path's operations with their method (upper case), paths in key order.
    pub(crate) fn operations(&self) -> impl Iterator<Item = (&str, &PathItem, &'static str, &Operation)> {
        self.paths.iter().flat_map(|(path, item)| {
            item.by_method().into_iter().map(move |(method, operation)| (path.as_str(), item, method, operation))
        })
    }
}

// === impl PathItem ===

impl PathItem {
    /// The operations with their method (upper case), in a fixed method order.
    pub(crate) fn by_method(&self) -> Vec<(&'static str, &Operation)> {
        let all = [&self.get, &self.put, &self.post, &self.delete, &self.options, &self.head, &self.patch, &self.trace];
        let upper = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"];
        upper.into_iter().zip(all).filter_map(|(method, op)| op.as_ref().map(|op| (method, op))).collect()
    }
}

// === impl OneOrMany ===

impl OneOrMany {
    pub(crate) fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}
