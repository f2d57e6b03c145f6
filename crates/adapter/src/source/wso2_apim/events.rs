//! An event of the hub → what to do (contract/wso2.md, "Events"): the entity it names is
//! re-fetched from API-M rather than trusted (policy events carry no limits); deletes need
//! no fetch.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::client::{ApimClient, ApimError, DeployedRevision, Resource};
use super::map::{Scope, array, entries, field, list, model_value};
use super::pull::{self, Group, GroupData};
use crate::engine::Change;
use crate::rejected::EntityKind;
use crate::wso2::data::{ApiPolicy, ApplicationPolicy, RevokedJwt, SubscriptionPolicy};
use crate::wso2::{self, Action, ApiIdentity, PolicyType};

/// What an event comes to.
#[derive(Debug)]
pub(crate) enum Resolution {
    /// These changes, acked once serving; the API revision to acknowledge to API-M then.
    Apply { changes: Vec<Change>, revision: Option<DeployedRevision> },
    /// Nothing changes for this gateway: acked at once.
    Skip(&'static str),
    /// Only a full pull can settle it (a refused entity must show as rejected; an event
    /// that names too little): acked once the pull serves.
    Resync(String),
}

/// What the source knows that events refer to: int ids → UUIDs.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) applications: HashMap<i64, String>,
    pub(crate) subscriptions: HashMap<i64, String>,
}

/// Resolves events against API-M.
#[derive(Debug)]
pub(crate) struct Resolver<'a> {
    pub(crate) client: &'a ApimClient,
    pub(crate) scope: &'a Scope,
    pub(crate) index: &'a Index,
}

// === impl Resolver ===

impl Resolver<'_> {
    /// Re-fetches what `change` names; a failed request is the caller's to retry.
    pub(crate) async fn resolve(&self, change: &wso2::Change) -> Result<Resolution, ApimError> {
        match change {
            wso2::Change::ApiDeployed { api, gateway_labels } => self.deployed(api, gateway_labels).await,
            wso2::Change::ApiUndeployed { api, gateway_labels } => self.undeployed(api, gateway_labels).await,
            wso2::Change::ApiLifecycle { api, .. } => self.api(api).await,
            wso2::Change::Api { api, action: Action::Delete, .. } => Ok(delete_api(api)),
            wso2::Change::Api { api, default_version: true, .. } => self.api(api).await,
            wso2::Change::Api { .. } => Ok(Resolution::Skip("an API change takes effect when a revision is deployed")),
            wso2::Change::Application { uuid, id, action } => self.application(uuid.as_deref(), *id, *action).await,
            wso2::Change::KeyMapping { consumer_key, key_manager, action, .. } => {
                self.key_mapping(consumer_key, key_manager, *action).await
            }
            wso2::Change::Subscription { uuid, id, api, action } => {
                self.subscription(uuid.as_deref(), *id, api.as_deref(), *action).await
            }
            wso2::Change::Policy { kind, name, action } => self.policy(*kind, name, *action).await,
            wso2::Change::KeyManager { name, action } => self.key_manager(name, *action).await,
            wso2::Change::TokenRevoked { token, expiry_ms } => Ok(revoked(token, *expiry_ms)),
            wso2::Change::Ignored => Ok(Resolution::Skip("an event type Tollgate has nothing to do for")),
        }
    }

    fn on_configured(&self, labels: &[String]) -> bool {
        labels.iter().any(|label| self.scope.labels.iter().any(|own| own.eq_ignore_ascii_case(label)))
    }

    async fn deployed(&self, api: &ApiIdentity, labels: &[String]) -> Result<Resolution, ApimError> {
        match self.on_configured(labels) {
            true => self.api(api).await,
            false => Ok(Resolution::Skip("deployed on no label of this gateway")),
        }
    }

    /// Removed from every configured label: deleted without a fetch; from some: re-fetched,
    /// since it may still be deployed on another.
    async fn undeployed(&self, api: &ApiIdentity, labels: &[String]) -> Result<Resolution, ApimError> {
        let covers = |own: &String| labels.iter().any(|label| label.eq_ignore_ascii_case(own));
        match (self.on_configured(labels), self.scope.labels.iter().all(covers)) {
            (false, _) => Ok(Resolution::Skip("removed from no label of this gateway")),
            (true, true) => Ok(delete_api(api)),
            (true, false) => self.api(api).await,
        }
    }

    /// The API's artifacts on the configured labels, with its `/apis` metadata of each.
    async fn api(&self, api: &ApiIdentity) -> Result<Resolution, ApimError> {
        let Some(uuid) = api.uuid.as_deref() else {
            return Ok(Resolution::Resync("the event names no API UUID".into()));
        };
        let artifacts = self.client.artifacts(&self.scope.labels, Some(uuid)).await?;
        let mut metadata = Vec::with_capacity(self.scope.labels.len());
        for label in &self.scope.labels {
            metadata.push(self.client.get(Resource::Apis, &[("gatewayLabel", label), ("apiId", uuid)]).await?);
        }
        let mut data = pull::map_apis(&artifacts, &metadata, self.scope)?;
        data.mapped.entities.retain(|entity| entity_id(entity, "id").as_deref() == Some(uuid));
        let revision = data.revisions.into_iter().find(|revision| revision.api_id == uuid);
        Ok(match one(EntityKind::Api, uuid, &data.mapped, json!({ "id": uuid })) {
            Resolution::Apply { changes, .. } => Resolution::Apply { changes, revision },
            other @ (Resolution::Skip(_) | Resolution::Resync(_)) => other,
        })
    }

    async fn application(&self, uuid: Option<&str>, id: Option<i64>, action: Action) -> Result<Resolution, ApimError> {
        let uuid = uuid.map(str::to_owned).or_else(|| id.and_then(|id| self.index.applications.get(&id).cloned()));
        let Some(uuid) = uuid else { return Ok(Resolution::Resync("the event names no known application".into())) };
        if action == Action::Delete {
            return Ok(delete(EntityKind::Application, &uuid, json!({ "id": uuid })));
        }
        let app_id = id.map(|id| id.to_string());
        let query: Vec<(&str, &str)> = app_id.iter().map(|id| ("appId", id.as_str())).collect();
        let mut found = entries("applications", &self.client.get(Resource::Applications, &query).await?)?;
        found.retain(|entry| field(entry, "uuid") == uuid);
        let data = pull::applications(found)?;
        Ok(one(EntityKind::Application, &uuid, &data.mapped, json!({ "id": uuid })))
    }

    async fn key_mapping(
        &self,
        consumer_key: &str,
        key_manager: &str,
        action: Action,
    ) -> Result<Resolution, ApimError> {
        let key = json!({ "keyManager": key_manager, "consumerKey": consumer_key });
        let name = format!("{key_manager}/{consumer_key}");
        if action == Action::Delete {
            return Ok(delete(EntityKind::KeyMapping, &name, key));
        }
        let query = [("consumerKey", consumer_key), ("keymanager", key_manager)];
        let mut found = entries("key mappings", &self.client.get(Resource::KeyMappings, &query).await?)?;
        found.retain(|e| field(e, "consumerKey") == consumer_key && field(e, "keyManager") == key_manager);
        Ok(one(EntityKind::KeyMapping, &name, &pull::key_mappings(found)?.mapped, key))
    }

    async fn subscription(
        &self,
        uuid: Option<&str>,
        id: Option<i64>,
        api: Option<&str>,
        action: Action,
    ) -> Result<Resolution, ApimError> {
        let uuid = uuid.map(str::to_owned).or_else(|| id.and_then(|id| self.index.subscriptions.get(&id).cloned()));
        let Some(uuid) = uuid else { return Ok(Resolution::Resync("the event names no known subscription".into())) };
        if action == Action::Delete {
            return Ok(delete(EntityKind::Subscription, &uuid, json!({ "id": uuid })));
        }
        // The resource cannot be asked for one subscription by its UUID, only for an API's:
        // without that, every subscription of the deployment would be listed per event.
        let by_api: Vec<(&str, &str)> = api.map(|api| ("apiUUID", api)).into_iter().collect();
        let mut found = entries("subscriptions", &self.client.get(Resource::Subscriptions, &by_api).await?)?;
        found.retain(|entry| field(entry, "subscriptionUUID") == uuid);
        Ok(one(EntityKind::Subscription, &uuid, &pull::subscriptions(found)?.mapped, json!({ "id": uuid })))
    }

    async fn policy(&self, kind: PolicyType, name: &str, action: Action) -> Result<Resolution, ApimError> {
        let (resource, model_kind) = match kind {
            PolicyType::Subscription => (Resource::SubscriptionPolicies, "subscription"),
            PolicyType::Application => (Resource::ApplicationPolicies, "application"),
            PolicyType::Api => (Resource::ApiPolicies, "api"),
        };
        let key = json!({ "kind": model_kind, "name": name });
        let id = format!("{model_kind}/{name}");
        if action == Action::Delete {
            return Ok(delete(EntityKind::Policy, &id, key));
        }
        let mut found = entries(resource.name(), &self.client.get(resource, &[("policyName", name)]).await?)?;
        found.retain(|entry| field(entry, "name") == name);
        let named = |_: &Value| id.clone();
        let mapped = match kind {
            PolicyType::Subscription => {
                list(resource.name(), EntityKind::Policy, found, named, SubscriptionPolicy::to_dto)
            }
            PolicyType::Application => {
                list(resource.name(), EntityKind::Policy, found, named, ApplicationPolicy::to_dto)
            }
            PolicyType::Api => list(resource.name(), EntityKind::Policy, found, named, ApiPolicy::to_dto),
        };
        Ok(one(EntityKind::Policy, &id, &mapped, key))
    }

    async fn key_manager(&self, name: &str, action: Action) -> Result<Resolution, ApimError> {
        let key = json!({ "name": name });
        if action == Action::Delete {
            return Ok(delete(EntityKind::KeyManager, name, key));
        }
        let mut found = array("key managers", &self.client.get(Resource::KeyManagers, &[]).await?)?;
        found.retain(|entry| field(entry, "name") == name);
        Ok(one(EntityKind::KeyManager, name, &pull::key_managers(found)?.mapped, key))
    }
}

/// The groups an event's entity belongs to, and its key (for dropping out-of-date events).
pub(crate) fn entity_key(change: &wso2::Change) -> Option<(Group, String)> {
    let key = match change {
        wso2::Change::ApiDeployed { api, .. }
        | wso2::Change::ApiUndeployed { api, .. }
        | wso2::Change::ApiLifecycle { api, .. }
        | wso2::Change::Api { api, .. } => (Group::Apis, api.uuid.clone()?),
        wso2::Change::Application { uuid, id, .. } => {
            (Group::Applications, uuid.clone().or_else(|| id.map(|id| id.to_string()))?)
        }
        wso2::Change::KeyMapping { consumer_key, key_manager, .. } => {
            (Group::KeyMappings, format!("{key_manager}/{consumer_key}"))
        }
        wso2::Change::Subscription { uuid, id, .. } => {
            (Group::Subscriptions, uuid.clone().or_else(|| id.map(|id| id.to_string()))?)
        }
        wso2::Change::Policy { kind, name, .. } => (Group::Policies, format!("{kind:?}/{name}")),
        wso2::Change::KeyManager { name, .. } => (Group::KeyManagers, name.clone()),
        wso2::Change::TokenRevoked { .. } | wso2::Change::Ignored => return None,
    };
    Some(key)
}

/// The one entity fetched → an upsert; none → a delete (it is gone); a refusal → a full
/// pull, which shows it as rejected.
fn one(kind: EntityKind, name: &str, mapped: &super::map::Mapped, key: Value) -> Resolution {
    if let Some(rejected) = mapped.rejected.first() {
        return Resolution::Resync(rejected.error.clone());
    }
    match mapped.entities.first().and_then(|entity| entity.value().ok()) {
        Some(value) => Resolution::Apply {
            changes: vec![Change::upsert(kind, value.into_owned(), name.to_owned())],
            revision: None,
        },
        None => delete(kind, name, key),
    }
}

fn delete(kind: EntityKind, name: &str, key: Value) -> Resolution {
    Resolution::Apply { changes: vec![Change::delete(kind, key, name.to_owned())], revision: None }
}

fn delete_api(api: &ApiIdentity) -> Resolution {
    match api.uuid.as_deref() {
        Some(uuid) => delete(EntityKind::Api, uuid, json!({ "id": uuid })),
        None => Resolution::Resync("the event names no API UUID".into()),
    }
}

/// A revocation needs no fetch: the event is the whole entity.
fn revoked(token: &str, expiry_ms: Option<u64>) -> Resolution {
    let Some(expiry_time) = expiry_ms else { return Resolution::Resync("the revocation has no expiry time".into()) };
    let dto = RevokedJwt { jwt_signature: token.to_owned(), expiry_time }.to_dto();
    let change = Change::upsert(EntityKind::RevokedToken, model_value(&dto), "revoked token");
    Resolution::Apply { changes: vec![change], revision: None }
}

fn entity_id(entity: &crate::dto::RawEntity, key: &str) -> Option<String> {
    entity.value().ok()?.get(key)?.as_str().map(str::to_owned)
}

// === impl GroupData ===

impl GroupData {
    /// Its int ids in `index` (applications, subscriptions).
    pub(crate) fn index_into(&self, group: Group, index: &mut Index) {
        match group {
            Group::Applications => index.applications.extend(self.ids.clone()),
            Group::Subscriptions => index.subscriptions.extend(self.ids.clone()),
            Group::Apis | Group::KeyMappings | Group::Policies | Group::KeyManagers | Group::RevokedTokens => {}
        }
    }
}
