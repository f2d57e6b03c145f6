//! A full pull (contract/wso2.md, "Full pull"): every resource group fetched at once, each on
//! its own (one failing never stops the others), then mapped on the configuration thread.

use std::collections::HashMap;

use super::client::{ApimClient, ApimError, Artifacts, DeployedRevision, Resource};
use super::map::{self, Mapped, Scope, array, entries, field, list};
use crate::rejected::EntityKind;
use crate::wso2::data::{
    ApiPolicy, Application, ApplicationPolicy, KeyMapping, Subscription, SubscriptionPolicy, key_manager_dto,
    revoked_tokens,
};

/// The groups of resources a full pull fetches; each is replaced whole or kept whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Group {
    Apis,
    Applications,
    KeyMappings,
    Subscriptions,
    Policies,
    KeyManagers,
    RevokedTokens,
}

/// One group, mapped: its entities and refusals, and what the source keeps beside them.
#[derive(Debug, Default)]
pub(crate) struct GroupData {
    pub(crate) mapped: Mapped,
    /// The API revisions mapped (APIs group).
    pub(crate) revisions: Vec<DeployedRevision>,
    /// Int id → UUID (applications, subscriptions): older events name only the int.
    pub(crate) ids: HashMap<i64, String>,
}

/// What every resource answered, unmapped.
#[derive(Debug)]
pub(crate) struct Fetched {
    apis: Result<(Artifacts, Vec<Vec<u8>>), ApimError>,
    applications: Result<Vec<u8>, ApimError>,
    key_mappings: Result<Vec<u8>, ApimError>,
    subscriptions: Result<Vec<u8>, ApimError>,
    policies: Result<[Vec<u8>; 3], ApimError>,
    key_managers: Result<Vec<u8>, ApimError>,
    revoked: Result<Vec<u8>, ApimError>,
}

/// Fetches every group at once.
pub(crate) async fn fetch(client: &ApimClient, labels: &[String]) -> Fetched {
    let get = |resource| client.get(resource, &[]);
    let (apis, applications, key_mappings, subscriptions, policies, key_managers, revoked) = tokio::join!(
        fetch_apis(client, labels),
        get(Resource::Applications),
        get(Resource::KeyMappings),
        get(Resource::Subscriptions),
        fetch_policies(client),
        get(Resource::KeyManagers),
        get(Resource::RevokedTokens),
    );
    Fetched { apis, applications, key_mappings, subscriptions, policies, key_managers, revoked }
}

/// The runtime artifacts of the labels, and `/apis?gatewayLabel=` of each label.
async fn fetch_apis(client: &ApimClient, labels: &[String]) -> Result<(Artifacts, Vec<Vec<u8>>), ApimError> {
    let artifacts = client.artifacts(labels, None).await?;
    let mut metadata = Vec::with_capacity(labels.len());
    for label in labels {
        metadata.push(client.get(Resource::Apis, &[("gatewayLabel", label)]).await?);
    }
    Ok((artifacts, metadata))
}

async fn fetch_policies(client: &ApimClient) -> Result<[Vec<u8>; 3], ApimError> {
    let (subscription, application, api) = tokio::join!(
        client.get(Resource::SubscriptionPolicies, &[]),
        client.get(Resource::ApplicationPolicies, &[]),
        client.get(Resource::ApiPolicies, &[]),
    );
    Ok([subscription?, application?, api?])
}

/// Maps every group that was fetched (on the configuration thread: the zip and the lists
/// can be large).
pub(crate) fn map_all(fetched: Fetched, scope: &Scope) -> Vec<(Group, Result<GroupData, ApimError>)> {
    vec![
        (Group::Apis, fetched.apis.and_then(|(artifacts, metadata)| map_apis(&artifacts, &metadata, scope))),
        (Group::Applications, fetched.applications.and_then(|bytes| applications(entries("applications", &bytes)?))),
        (Group::KeyMappings, fetched.key_mappings.and_then(|bytes| key_mappings(entries("key mappings", &bytes)?))),
        (
            Group::Subscriptions,
            fetched.subscriptions.and_then(|bytes| subscriptions(entries("subscriptions", &bytes)?)),
        ),
        (Group::Policies, fetched.policies.and_then(|lists| policies(&lists))),
        (Group::KeyManagers, fetched.key_managers.and_then(|bytes| key_managers(array("key managers", &bytes)?))),
        (Group::RevokedTokens, fetched.revoked.and_then(|bytes| revoked(&bytes))),
    ]
}

pub(crate) fn map_apis(artifacts: &Artifacts, metadata: &[Vec<u8>], scope: &Scope) -> Result<GroupData, ApimError> {
    let mut by_uuid = HashMap::new();
    for bytes in metadata {
        by_uuid.extend(map::metadata(bytes)?);
    }
    let Artifacts::Zip(zip) = artifacts else { return Ok(GroupData::default()) };
    let apis = map::apis(zip, &by_uuid, scope)?;
    Ok(GroupData { mapped: apis.mapped, revisions: apis.revisions, ids: HashMap::new() })
}

pub(crate) fn applications(entries: Vec<serde_json::Value>) -> Result<GroupData, ApimError> {
    let ids = int_ids(&entries, "id", "uuid");
    let mapped =
        list("applications", EntityKind::Application, entries, |e| field(e, "uuid"), |a: &Application| Ok(a.to_dto()));
    Ok(GroupData { mapped, ids, ..GroupData::default() })
}

pub(crate) fn key_mappings(entries: Vec<serde_json::Value>) -> Result<GroupData, ApimError> {
    let name = |e: &serde_json::Value| format!("{}/{}", field(e, "keyManager"), field(e, "consumerKey"));
    let mapped = list("key mappings", EntityKind::KeyMapping, entries, name, |m: &KeyMapping| Ok(m.to_dto()));
    Ok(GroupData { mapped, ..GroupData::default() })
}

pub(crate) fn subscriptions(entries: Vec<serde_json::Value>) -> Result<GroupData, ApimError> {
    let ids = int_ids(&entries, "subscriptionId", "subscriptionUUID");
    let name = |e: &serde_json::Value| field(e, "subscriptionUUID");
    let mapped = list("subscriptions", EntityKind::Subscription, entries, name, |s: &Subscription| Ok(s.to_dto()));
    Ok(GroupData { mapped, ids, ..GroupData::default() })
}

/// The three policy lists: subscription, application, API.
pub(crate) fn policies(lists: &[Vec<u8>; 3]) -> Result<GroupData, ApimError> {
    let [subscription, application, api] = lists;
    let name = |kind: &'static str| move |e: &serde_json::Value| format!("{kind}/{}", field(e, "name"));
    let kind = EntityKind::Policy;
    let mut mapped = list(
        "subscription policies",
        kind,
        entries("subscription policies", subscription)?,
        name("subscription"),
        SubscriptionPolicy::to_dto,
    );
    mapped.extend(list(
        "application policies",
        kind,
        entries("application policies", application)?,
        name("application"),
        ApplicationPolicy::to_dto,
    ));
    mapped.extend(list("api policies", kind, entries("api policies", api)?, name("api"), ApiPolicy::to_dto));
    Ok(GroupData { mapped, ..GroupData::default() })
}

pub(crate) fn key_managers(entries: Vec<serde_json::Value>) -> Result<GroupData, ApimError> {
    let mapped = list("key managers", EntityKind::KeyManager, entries, |e| field(e, "name"), key_manager_dto);
    Ok(GroupData { mapped, ..GroupData::default() })
}

/// `/revokedjwt` in either form; revocations by consumer key or subject have no equivalent.
pub(crate) fn revoked(bytes: &[u8]) -> Result<GroupData, ApimError> {
    let tokens = revoked_tokens(bytes)?;
    if tokens.unsupported > 0 {
        tracing::warn!(count = tokens.unsupported, "revocations by consumer key or subject are not supported; ignored");
    }
    let entities = tokens.tokens.iter().map(|token| crate::dto::RawEntity::new(map::model_value(&token.to_dto())));
    Ok(GroupData { mapped: Mapped { entities: entities.collect(), rejected: Vec::new() }, ..GroupData::default() })
}

fn int_ids(entries: &[serde_json::Value], int: &str, uuid: &str) -> HashMap<i64, String> {
    let pair = |e: &serde_json::Value| Some((e.get(int)?.as_i64()?, e.get(uuid)?.as_str()?.to_owned()));
    entries.iter().filter_map(pair).collect()
}
