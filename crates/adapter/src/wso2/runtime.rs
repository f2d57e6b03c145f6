//! The runtime-artifacts zip of `/internal/data/v1/runtime-artifacts` (INTERFACE.md §3):
//! `deployments.json`, `env_properties.json` and one zip per deployed API revision.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::api::Placement;
use super::api_yaml::Envelope;
use super::archive::{ArchiveError, ArchiveLimits, Budget, Entry, read_entries};
use super::decode::decode_file;
use super::endpoints::EndpointOverrides;
use super::project::ApiProject;
use super::refusal::Refusal;

/// The whole response, read. A problem with the archive itself (bounds, names, nesting, an
/// unreadable `deployments.json`) refuses it all; a problem with one API's zip is that
/// API's ([`DeployedApi::project`]), so the others still apply.
#[derive(Debug, Clone)]
pub struct RuntimeArtifacts {
    /// `deployments.json`'s `version` (`v4.3.0`).
    pub format_version: Option<String>,
    pub apis: Vec<DeployedApi>,
    pub env_properties: EnvProperties,
}

/// One entry of `deployments.json` with its API project.
#[derive(Debug, Clone)]
pub struct DeployedApi {
    /// `<apiUUID>-<revisionUUID>.zip`.
    pub api_file: String,
    pub environments: Vec<DeploymentEnvironment>,
    pub organization_id: Option<String>,
    pub project: Result<ApiProject, ArchiveError>,
}

/// Where a revision is deployed: a gateway environment (label) and its vhost.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentEnvironment {
    pub name: String,
    pub vhost: String,
    /// Milliseconds; 4.3+.
    #[serde(default)]
    pub deployed_time_stamp: Option<u64>,
    /// `hybrid`, ...; 4.3+.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// `env_properties.json`: per API UUID and environment name, endpoint overrides.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct EnvProperties {
    #[serde(default)]
    pub apis: BTreeMap<String, BTreeMap<String, EnvironmentProperties>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EnvironmentProperties {
    pub env_name: Option<String>,
    pub configs: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
struct DeploymentsData {
    deployments: Vec<DeploymentDto>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentDto {
    api_file: String,
    #[serde(default)]
    environments: Vec<DeploymentEnvironment>,
    #[serde(default)]
    organization_id: Option<String>,
}

// === impl RuntimeArtifacts ===

impl RuntimeArtifacts {
    /// Reads the zip, within `limits`, and each API zip that `deployments.json` names.
    pub fn from_zip(bytes: &[u8], limits: ArchiveLimits) -> Result<Self, ArchiveError> {
        let mut budget = Budget::new(limits);
        let entries = read_entries(bytes, 0, &mut budget)?;
        let root = |name: &str| entries.iter().find(|entry| entry.name.eq_ignore_ascii_case(name));
        let deployments_file =
            root("deployments.json").ok_or(ArchiveError::Missing { name: "deployments.json".to_owned() })?;
        let deployments: Envelope<DeploymentsData> = decode_file(&deployments_file.name, &deployments_file.bytes)?;
        let env_properties = match root("env_properties.json") {
            Some(file) => decode_file(&file.name, &file.bytes)?,
            None => EnvProperties::default(),
        };
        let mut apis = Vec::with_capacity(deployments.data.deployments.len());
        for deployment in deployments.data.deployments {
            let project = match entries.iter().find(|entry| entry.name == deployment.api_file) {
                Some(zip) => read_entries(&zip.bytes, 1, &mut budget).map(|files| ApiProject::from_files(&files)),
                None => Ok(Err(ArchiveError::Missing { name: deployment.api_file.clone() })),
            }?;
            apis.push(DeployedApi {
                api_file: deployment.api_file,
                environments: deployment.environments,
                organization_id: deployment.organization_id,
                project,
            });
        }
        Ok(RuntimeArtifacts { format_version: deployments.version, apis, env_properties })
    }
}

// === impl DeployedApi ===

impl DeployedApi {
    /// The placement of this API on the configured `labels` (gateway environments, matched
    /// case-insensitively): their vhosts, and the endpoint overrides of the first matching
    /// environment that has any. `None` when it is deployed on none of them.
    pub fn placement(&self, labels: &[&str], env_properties: &EnvProperties) -> Result<Option<Placement>, Refusal> {
        let on_label = |env: &&DeploymentEnvironment| labels.iter().any(|label| label.eq_ignore_ascii_case(&env.name));
        let environments: Vec<&DeploymentEnvironment> = self.environments.iter().filter(on_label).collect();
        if environments.is_empty() {
            return Ok(None);
        }
        let mut vhosts: Vec<String> = environments.iter().map(|env| env.vhost.clone()).collect();
        vhosts.sort();
        vhosts.dedup();
        let api_id = self.project.as_ref().ok().and_then(|project| project.api.id.clone()).unwrap_or_default();
        let overrides = env_properties.apis.get(&api_id);
        let by_env = environments.iter().find_map(|env| overrides.and_then(|o| o.get(&env.name)));
        let endpoints = by_env.map(|props| endpoint_overrides(&props.configs)).transpose()?.unwrap_or_default();
        Ok(Some(Placement { vhosts, is_default_version: None, endpoints }))
    }
}

/// `configs.productionEndpoint` / `sandboxEndpoint`: a URL string each. Another shape is
/// refused rather than ignored (the API would be served on the wrong upstream).
fn endpoint_overrides(configs: &BTreeMap<String, Value>) -> Result<EndpointOverrides, Refusal> {
    let url = |key: &str| match configs.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(url)) if url.is_empty() => Ok(None),
        Some(Value::String(url)) => Ok(Some(url.clone())),
        Some(_) => Err(Refusal::EnvironmentEndpoint(key.to_owned())),
    };
    Ok(EndpointOverrides { production: url("productionEndpoint")?, sandbox: url("sandboxEndpoint")? })
}

/// The entries of an archive, for callers that read an apictl project zip themselves.
pub fn read_archive(bytes: &[u8], limits: ArchiveLimits) -> Result<Vec<Entry>, ArchiveError> {
    read_entries(bytes, 0, &mut Budget::new(limits))
}
