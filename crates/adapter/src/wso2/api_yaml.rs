//! `api.yaml` / `api.json` of an apictl project or a runtime artifact (INTERFACE.md §3.4):
//! the keys a gateway needs, typed; every other key is ignored (API-M adds keys in every
//! version, and business information, visibility, tags... change nothing served).

use serde::Deserialize;
use serde_json::Value;

/// `{"type": ..., "version": "v4.x.y", "data": ...}`: how apictl and API-M wrap every file.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope<T> {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub version: Option<String>,
    pub data: T,
}

/// The `data` of an `api` file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiData {
    /// The API UUID; absent in hand-written apictl projects.
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(deserialize_with = "super::decode::scalar_text")]
    pub version: String,
    /// Without the version, unless the author put it there; may contain `{version}`.
    pub context: String,
    #[serde(default, rename = "type")]
    pub api_type: Option<String>,
    #[serde(default)]
    pub life_cycle_status: Option<String>,
    #[serde(default)]
    pub is_default_version: Option<bool>,
    #[serde(default)]
    pub authorization_header: Option<String>,
    #[serde(default)]
    pub api_key_header: Option<String>,
    #[serde(default)]
    pub security_scheme: Option<Vec<String>>,
    #[serde(default)]
    pub api_throttling_policy: Option<String>,
    #[serde(default)]
    pub cors_configuration: Option<CorsConfiguration>,
    #[serde(default)]
    pub endpoint_config: Option<Value>,
    #[serde(default)]
    pub endpoint_implementation_type: Option<String>,
    #[serde(default)]
    pub operations: Option<Vec<ApiOperation>>,
    /// API-level operation policies (newer API-M).
    #[serde(default)]
    pub api_policies: Option<PolicyFlows>,
    /// Synapse mediation sequences (older API-M).
    #[serde(default)]
    pub mediation_policies: Option<Vec<Value>>,
    /// 4.5+ multi-endpoint APIs.
    #[serde(default)]
    pub primary_production_endpoint_id: Option<String>,
    #[serde(default)]
    pub primary_sandbox_endpoint_id: Option<String>,
    /// Backend throughput limits: no equivalent.
    #[serde(default)]
    pub max_tps: Option<Value>,
    #[serde(default)]
    pub enable_schema_validation: Option<bool>,
    #[serde(default)]
    pub response_caching_enabled: Option<bool>,
    #[serde(default)]
    pub organization_id: Option<String>,
}

/// `corsConfiguration`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CorsConfiguration {
    pub cors_configuration_enabled: Option<bool>,
    pub access_control_allow_origins: Option<Vec<String>>,
    pub access_control_allow_credentials: Option<bool>,
    pub access_control_allow_headers: Option<Vec<String>>,
    pub access_control_allow_methods: Option<Vec<String>>,
}

/// One `operations` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiOperation {
    pub target: Option<String>,
    pub verb: Option<String>,
    pub auth_type: Option<String>,
    pub throttling_policy: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub operation_policies: Option<PolicyFlows>,
}

/// `operationPolicies` / `apiPolicies`: policies per flow.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PolicyFlows {
    pub request: Option<Vec<PolicyReference>>,
    pub response: Option<Vec<PolicyReference>>,
    pub fault: Option<Vec<PolicyReference>>,
}

/// One attached policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicyReference {
    pub policy_name: Option<String>,
    pub policy_version: Option<String>,
}

/// `deployment_environments.yaml`'s `data` entries.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentEnvironmentSpec {
    pub deployment_environment: String,
    #[serde(default)]
    pub deployment_vhost: Option<String>,
    #[serde(default)]
    pub display_on_devportal: Option<bool>,
}

/// `client_certificates.json` / `endpoint_certificates.json` entries: the certificate is
/// a file name beside it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateEntry {
    pub alias: String,
    #[serde(default)]
    pub certificate: Option<String>,
    /// Client certificates: the subscription tier of requests made with it.
    #[serde(default)]
    pub tier_name: Option<String>,
    /// Endpoint certificates: the endpoint URL it is trusted for.
    #[serde(default)]
    pub endpoint: Option<String>,
}

// === impl PolicyFlows ===

impl PolicyFlows {
    /// The name of the first policy attached to any flow.
    pub fn first_policy(&self) -> Option<String> {
        let flows = [&self.request, &self.response, &self.fault];
        let first = flows.into_iter().flatten().flatten().next()?;
        Some(first.policy_name.clone().unwrap_or_else(|| "(unnamed)".to_owned()))
    }
}
