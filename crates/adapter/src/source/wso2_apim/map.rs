//! What API-M answered → the model's entities, through the [`crate::wso2`] mapping: one
//! function per resource group, each giving the entities, what it refused (with the
//! feature named), and what the source keeps beside them (deployed revisions, int ids).

use std::collections::HashMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::{DeployedRevision, EnvInfo};
use crate::dto::RawEntity;
use crate::rejected::{EntityKind, Rejected};
use crate::wso2::data::{self, ApiMetadata, DataError};
use crate::wso2::{ArchiveError, ArchiveLimits, DeployedApi, RuntimeArtifacts, api_from_project};

/// The entities of one resource group, and what was refused.
#[derive(Debug, Default)]
pub(crate) struct Mapped {
    pub(crate) entities: Vec<RawEntity>,
    pub(crate) rejected: Vec<Rejected>,
}

/// The APIs of the runtime artifacts, with the revision of each one mapped.
#[derive(Debug, Default)]
pub(crate) struct MappedApis {
    pub(crate) mapped: Mapped,
    pub(crate) revisions: Vec<DeployedRevision>,
    /// The UUIDs of the APIs deployed on the labels (served or refused).
    pub(crate) deployed: Vec<String>,
}

/// Where the APIs are served: the configured labels and tenant.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub(crate) labels: Vec<String>,
    pub(crate) tenant: String,
}

// === impl Mapped ===

impl Mapped {
    fn push(&mut self, result: Result<RawEntity, Rejected>) {
        match result {
            Ok(entity) => self.entities.push(entity),
            Err(rejected) => self.rejected.push(rejected),
        }
    }

    pub(crate) fn extend(&mut self, other: Mapped) {
        self.entities.extend(other.entities);
        self.rejected.extend(other.rejected);
    }
}

/// A DTO as the model's JSON, without the fields it leaves out.
pub(crate) fn model_value(dto: &impl Serialize) -> Value {
    let mut value = serde_json::to_value(dto).unwrap_or(Value::Null);
    strip_nulls(&mut value);
    value
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|_, field| !field.is_null());
            fields.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// The runtime-artifacts zip with `/apis` metadata (by UUID) → the APIs deployed on the
/// scope's labels. An unreadable archive fails the whole group; an API that cannot be read
/// or uses a feature Tollgate cannot enforce is refused alone.
pub(crate) fn apis(
    zip: &[u8],
    metadata: &HashMap<String, ApiMetadata>,
    scope: &Scope,
) -> Result<MappedApis, ArchiveError> {
    let artifacts = RuntimeArtifacts::from_zip(zip, ArchiveLimits::default())?;
    let mut out = MappedApis::default();
    for deployed in &artifacts.apis {
        if deployed.organization_id.as_deref().is_some_and(|org| !org.eq_ignore_ascii_case(&scope.tenant)) {
            continue;
        }
        if let Some(result) = api(deployed, &artifacts, metadata, scope) {
            let uuid = api_uuid(deployed);
            out.deployed.push(uuid.clone());
            if result.is_ok()
                && let Some(revision) = revision(deployed, &uuid, scope)
            {
                out.revisions.push(revision);
            }
            out.mapped.push(result);
        }
    }
    Ok(out)
}

/// One deployed API on the scope's labels (`None` when it is on none of them).
fn api(
    deployed: &DeployedApi,
    artifacts: &RuntimeArtifacts,
    metadata: &HashMap<String, ApiMetadata>,
    scope: &Scope,
) -> Option<Result<RawEntity, Rejected>> {
    let uuid = api_uuid(deployed);
    let refused = |reason: &dyn std::fmt::Display| Rejected {
        entity: EntityKind::Api,
        id: uuid.clone(),
        error: format!("api {uuid:?}: {reason}"),
    };
    let labels: Vec<&str> = scope.labels.iter().map(String::as_str).collect();
    let mut placement = match deployed.placement(&labels, &artifacts.env_properties) {
        Ok(Some(placement)) => placement,
        Ok(None) => return None,
        Err(refusal) => return Some(Err(refused(&refusal))),
    };
    let current = metadata.get(&uuid);
    if current.and_then(|m| m.status.as_deref()).is_some_and(|status| status.eq_ignore_ascii_case("RETIRED")) {
        return None;
    }
    placement.is_default_version = current.map(|m| m.is_default_version);
    let project = match &deployed.project {
        Ok(project) => project,
        Err(error) => return Some(Err(refused(error))),
    };
    Some(match api_from_project(project, &placement) {
        Ok(mut dto) => {
            if let Some(status) = current.and_then(|m| served_lifecycle(m.status.as_deref())) {
                dto.lifecycle_state = Some(status.into());
            }
            Ok(RawEntity::new(model_value(&dto)))
        }
        Err(refusal) => Err(refused(&refusal)),
    })
}

/// `/apis`' current lifecycle state (the artifact's is the one at deploy time), when it is
/// one that is served.
fn served_lifecycle(status: Option<&str>) -> Option<&'static str> {
    match status?.to_ascii_uppercase().as_str() {
        "PUBLISHED" | "CREATED" => Some("PUBLISHED"),
        "PROTOTYPED" => Some("PROTOTYPED"),
        "DEPRECATED" => Some("DEPRECATED"),
        "BLOCKED" => Some("BLOCKED"),
        _ => None,
    }
}

/// The API UUID: api.json's `id`, else the first 36 characters of `<apiUUID>-<revUUID>.zip`.
fn api_uuid(deployed: &DeployedApi) -> String {
    let from_file = || deployed.api_file.get(..36).unwrap_or(&deployed.api_file).to_owned();
    deployed.project.as_ref().ok().and_then(|project| project.api.id.clone()).unwrap_or_else(from_file)
}

/// What API-M is told once the API serves: its revision on each configured label.
fn revision(deployed: &DeployedApi, uuid: &str, scope: &Scope) -> Option<DeployedRevision> {
    let revision_id = deployed.project.as_ref().ok()?.revision_id?;
    let mut env_info: Vec<EnvInfo> = deployed
        .environments
        .iter()
        .filter(|env| scope.labels.iter().any(|label| label.eq_ignore_ascii_case(&env.name)))
        .map(|env| EnvInfo { name: env.name.clone(), vhost: env.vhost.clone() })
        .collect();
    env_info.sort();
    Some(DeployedRevision { api_id: uuid.to_owned(), revision_id, env_info })
}

/// `/apis` entries by UUID.
pub(crate) fn metadata(bytes: &[u8]) -> Result<HashMap<String, ApiMetadata>, DataError> {
    let list: Vec<ApiMetadata> = data::decode_list("apis", bytes)?;
    Ok(list.into_iter().map(|api| (api.uuid.clone(), api)).collect())
}

/// A list resource whose entries map one by one: an entry that does not decode or map is
/// refused alone (named by `id_of` its raw JSON).
pub(crate) fn list<T: DeserializeOwned, D: Serialize>(
    resource: &'static str,
    kind: EntityKind,
    entries: Vec<Value>,
    id_of: impl Fn(&Value) -> String,
    to_dto: impl Fn(&T) -> Result<D, DataError>,
) -> Mapped {
    let mut mapped = Mapped::default();
    for entry in entries {
        let id = id_of(&entry);
        let result = serde_json::from_value::<T>(entry)
            .map_err(|error| DataError::Json { resource, reason: error.to_string() })
            .and_then(|typed| to_dto(&typed))
            .map(|dto| RawEntity::new(model_value(&dto)))
            .map_err(|error| Rejected { entity: kind, id: id.clone(), error: format!("{kind} {id:?}: {error}") });
        mapped.push(result);
    }
    mapped
}

/// The text of `key` in a raw entry, for naming it.
pub(crate) fn field(entry: &Value, key: &str) -> String {
    match entry.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => String::new(),
    }
}

/// A list response (`{"count", "list"}`) as raw entries.
pub(crate) fn entries(resource: &'static str, bytes: &[u8]) -> Result<Vec<Value>, DataError> {
    data::decode_list(resource, bytes)
}

/// A bare-array response (`/keymanagers`) as raw entries.
pub(crate) fn array(resource: &'static str, bytes: &[u8]) -> Result<Vec<Value>, DataError> {
    data::decode(resource, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::{EndpointDto, EndpointsDto, KeyMappingDto};

    #[test]
    fn a_dto_becomes_the_model_json_without_the_fields_it_leaves_out() {
        let dto = KeyMappingDto { consumer_key: Some("ck".into()), ..KeyMappingDto::default() };
        assert_eq!(model_value(&dto), serde_json::json!({"consumerKey": "ck"}));
        let endpoints = EndpointsDto {
            production: Some(EndpointDto { urls: Some(vec!["http://a".into()]), ..EndpointDto::default() }),
            sandbox: None,
        };
        assert_eq!(model_value(&endpoints), serde_json::json!({"production": {"urls": ["http://a"]}}));
    }

    #[test]
    fn list_entries_that_do_not_decode_are_refused_alone_and_named() {
        let entries = vec![
            serde_json::json!({"applicationUUID": "a", "consumerKey": "ck", "keyType": "PRODUCTION", "keyManager": "KM"}),
            serde_json::json!({"consumerKey": "ck2", "keyManager": "KM"}),
        ];
        let name = |e: &Value| format!("{}/{}", field(e, "keyManager"), field(e, "consumerKey"));
        let mapped = list("key mappings", EntityKind::KeyMapping, entries, name, |m: &data::KeyMapping| Ok(m.to_dto()));
        assert_eq!(mapped.entities.len(), 1);
        assert_eq!(mapped.rejected.len(), 1);
        assert_eq!(mapped.rejected[0].id, "KM/ck2");
        assert!(mapped.rejected[0].error.contains("applicationUUID"), "{}", mapped.rejected[0].error);
    }
}
