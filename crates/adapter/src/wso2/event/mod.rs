//! Events of API-M's AMQP event hub (INTERFACE.md §4): the routing key (topic) and the
//! message body → what changed. The source re-fetches the entity named rather than trusting
//! the payload (policy events carry no limits), so an event carries identities only.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

mod tenant;

pub use tenant::{SUPER_TENANT_DOMAIN, SUPER_TENANT_ID, TenantFilter};

/// One event, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// WSO2's name of the event (`API_CREATE`, `key_manager_configuration`, ...).
    pub event_type: String,
    pub tenant: Tenant,
    /// When API-M published it, in milliseconds, when the event says.
    pub timestamp_ms: Option<u64>,
    pub change: Change,
}

/// The tenant an event belongs to, as far as it says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tenant {
    pub id: Option<i64>,
    pub domain: Option<String>,
}

/// Whether an entity was created or changed (re-fetch it), or removed (no fetch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Upsert,
    Delete,
}

/// A policy's kind in events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    Subscription,
    Application,
    Api,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `DEPLOY_API_IN_GATEWAY`: fetch the API's artifacts for these labels.
    ApiDeployed {
        api: ApiIdentity,
        gateway_labels: Vec<String>,
    },
    /// `REMOVE_API_FROM_GATEWAY`.
    ApiUndeployed {
        api: ApiIdentity,
        gateway_labels: Vec<String>,
    },
    /// `API_LIFECYCLE_CHANGE`: the new `apiStatus`.
    ApiLifecycle {
        api: ApiIdentity,
        status: String,
    },
    /// `API_CREATE`, `API_UPDATE` (`default_version` when its action is `DEFAULT_VERSION`),
    /// `API_DELETE`.
    Api {
        api: ApiIdentity,
        action: Action,
        default_version: bool,
    },
    Application {
        uuid: Option<String>,
        id: Option<i64>,
        action: Action,
    },
    KeyMapping {
        application_uuid: Option<String>,
        consumer_key: String,
        key_manager: String,
        action: Action,
    },
    Subscription {
        uuid: Option<String>,
        id: Option<i64>,
        /// The subscribed API's UUID, which narrows the re-fetch (API-M 4.x filters
        /// `/subscriptions` by `apiUUID`; an older one ignores it and lists all).
        api: Option<String>,
        action: Action,
    },
    Policy {
        kind: PolicyType,
        name: String,
        action: Action,
    },
    KeyManager {
        name: String,
        action: Action,
    },
    /// `tokenRevocation`: a jti (or signature) until `expiry_ms`.
    TokenRevoked {
        token: String,
        expiry_ms: Option<u64>,
    },
    /// An event type Tollgate has nothing to do for (scopes, certificates, throttle
    /// decisions, ...).
    Ignored,
}

/// An API as events name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiIdentity {
    /// The UUID, when the event has one (API-M ≥ 4.0; 3.x sent it as `apiId`).
    pub uuid: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    /// With the version.
    pub context: Option<String>,
}

/// Why a message could not be decoded. A source acks it and schedules a full resync: it can
/// never succeed, and requeueing would loop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("topic {0:?} is not one the gateway consumes")]
    UnexpectedTopic(String),
    #[error("the message is not the expected JSON: {0}")]
    Json(String),
    #[error("the event payload is not valid base64")]
    Base64,
    #[error("event type {0:?} is unknown")]
    UnknownType(String),
    #[error("event {event_type}: {field} is missing")]
    Missing { event_type: String, field: &'static str },
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    event: PayloadData<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayloadData<T> {
    payload_data: T,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    event_type: String,
    #[serde(default, alias = "timeStamp")]
    timestamp: Option<u64>,
    event: String,
}

/// The base64-decoded `event` of a notification: the base `Event` fields and the union of
/// the fields of every event type (INTERFACE.md §4.4).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct NotificationEvent {
    time_stamp: Option<u64>,
    tenant_id: Option<i64>,
    tenant_domain: Option<String>,
    action: Option<String>,
    // APIs: `apiId` is an int (a UUID string in 3.x).
    uuid: Option<String>,
    api_id: Option<Value>,
    name: Option<String>,
    version: Option<String>,
    context: Option<String>,
    api_name: Option<String>,
    api_version: Option<String>,
    api_context: Option<String>,
    api_status: Option<String>,
    gateway_labels: Option<Vec<String>>,
    // Applications, key mappings, subscriptions.
    application_id: Option<i64>,
    #[serde(rename = "applicationUUID")]
    application_uuid: Option<String>,
    consumer_key: Option<String>,
    key_manager: Option<String>,
    subscription_id: Option<i64>,
    #[serde(rename = "subscriptionUUID")]
    subscription_uuid: Option<String>,
    #[serde(rename = "apiUUID")]
    api_uuid: Option<String>,
    // Policies.
    policy_type: Option<String>,
    policy_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyManagerPayload {
    #[serde(default)]
    event_type: Option<String>,
    action: String,
    name: String,
    #[serde(default)]
    tenant_domain: Option<String>,
    #[serde(default)]
    tenant_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevocationPayload {
    revoked_token: String,
    #[serde(default)]
    expiry_time: Option<u64>,
    #[serde(default)]
    tenant_id: Option<i64>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// Event types that need nothing from Tollgate.
const IGNORED_TYPES: [&str; 14] = [
    "SCOPE_CREATE",
    "SCOPE_UPDATE",
    "SCOPE_DELETE",
    "ENDPOINT_CERTIFICATE_ADD",
    "ENDPOINT_CERTIFICATE_REMOVE",
    "GA_CONFIG_UPDATE",
    "UDATE_API_LOG_LEVEL",
    "CUSTOM_POLICY_ADD",
    "CUSTOM_POLICY_UPDATE",
    "CUSTOM_POLICY_DELETE",
    "LLM_PROVIDER_CREATE",
    "LLM_PROVIDER_UPDATE",
    "LLM_PROVIDER_DELETE",
    "HEALTH_CHECK",
];

/// Decodes a message received with routing key `topic`.
pub fn decode_event(topic: &str, body: &[u8]) -> Result<Event, EventError> {
    match topic {
        "notification" => notification(body),
        "keymanager" | "keyManager" => key_manager(body),
        "tokenRevocation" => revocation(body),
        "throttleData" => Ok(Event {
            event_type: "throttleData".to_owned(),
            tenant: Tenant::default(),
            timestamp_ms: None,
            change: Change::Ignored,
        }),
        other => Err(EventError::UnexpectedTopic(other.to_owned())),
    }
}

fn payload<T: DeserializeOwned>(body: &[u8]) -> Result<T, EventError> {
    let envelope: Envelope<T> = serde_json::from_slice(body).map_err(|e| EventError::Json(e.to_string()))?;
    Ok(envelope.event.payload_data)
}

fn notification(body: &[u8]) -> Result<Event, EventError> {
    let outer: Notification = payload(body)?;
    let decoded = STANDARD.decode(outer.event.trim()).map_err(|_| EventError::Base64)?;
    let inner: NotificationEvent = serde_json::from_slice(&decoded).map_err(|e| EventError::Json(e.to_string()))?;
    let change = change(&outer.event_type, &inner)?;
    Ok(Event {
        timestamp_ms: outer.timestamp.or(inner.time_stamp),
        tenant: Tenant { id: inner.tenant_id, domain: inner.tenant_domain },
        event_type: outer.event_type,
        change,
    })
}

fn change(event_type: &str, e: &NotificationEvent) -> Result<Change, EventError> {
    let missing = |field| EventError::Missing { event_type: event_type.to_owned(), field };
    let labels = || e.gateway_labels.clone().unwrap_or_default();
    let action = if event_type.ends_with("_DELETE") || event_type == "REMOVE_APPLICATION_KEYMAPPING" {
        Action::Delete
    } else {
        Action::Upsert
    };
    Ok(match event_type {
        "DEPLOY_API_IN_GATEWAY" => Change::ApiDeployed { api: api_identity(e), gateway_labels: labels() },
        "REMOVE_API_FROM_GATEWAY" => Change::ApiUndeployed { api: api_identity(e), gateway_labels: labels() },
        "API_LIFECYCLE_CHANGE" => Change::ApiLifecycle {
            api: api_identity(e),
            status: e.api_status.clone().ok_or_else(|| missing("apiStatus"))?,
        },
        "API_CREATE" | "API_UPDATE" | "API_DELETE" => {
            let default_version = e.action.as_deref() == Some("DEFAULT_VERSION");
            Change::Api { api: api_identity(e), action, default_version }
        }
        "APPLICATION_CREATE" | "APPLICATION_UPDATE" | "APPLICATION_DELETE" => {
            Change::Application { uuid: e.uuid.clone(), id: e.application_id, action }
        }
        "APPLICATION_REGISTRATION_CREATE" | "REMOVE_APPLICATION_KEYMAPPING" => Change::KeyMapping {
            application_uuid: e.application_uuid.clone(),
            consumer_key: e.consumer_key.clone().ok_or_else(|| missing("consumerKey"))?,
            key_manager: e.key_manager.clone().ok_or_else(|| missing("keyManager"))?,
            action,
        },
        "SUBSCRIPTIONS_CREATE" | "SUBSCRIPTIONS_UPDATE" | "SUBSCRIPTIONS_DELETE" => Change::Subscription {
            uuid: e.subscription_uuid.clone(),
            id: e.subscription_id,
            api: e.api_uuid.clone(),
            action,
        },
        "POLICY_CREATE" | "POLICY_UPDATE" | "POLICY_DELETE" => Change::Policy {
            kind: policy_type(e.policy_type.as_deref()).ok_or_else(|| missing("policyType"))?,
            name: e.policy_name.clone().ok_or_else(|| missing("policyName"))?,
            action,
        },
        ignored if IGNORED_TYPES.contains(&ignored) => Change::Ignored,
        unknown => return Err(EventError::UnknownType(unknown.to_owned())),
    })
}

/// An API's identity from either event family: `DEPLOY_*` (`name`, `version`, `context`)
/// or `API_*` (`apiName`, `apiVersion`, `apiContext`). 3.x sent the UUID as `apiId`.
fn api_identity(e: &NotificationEvent) -> ApiIdentity {
    let legacy_uuid = e.api_id.as_ref().and_then(Value::as_str).map(str::to_owned);
    ApiIdentity {
        uuid: e.uuid.clone().or(legacy_uuid),
        name: e.name.clone().or_else(|| e.api_name.clone()),
        version: e.version.clone().or_else(|| e.api_version.clone()),
        context: e.context.clone().or_else(|| e.api_context.clone()),
    }
}

fn policy_type(kind: Option<&str>) -> Option<PolicyType> {
    match kind?.to_ascii_uppercase().as_str() {
        "SUBSCRIPTION" => Some(PolicyType::Subscription),
        "APPLICATION" => Some(PolicyType::Application),
        "API" => Some(PolicyType::Api),
        _ => None,
    }
}

fn key_manager(body: &[u8]) -> Result<Event, EventError> {
    let km: KeyManagerPayload = payload(body)?;
    let event_type = km.event_type.unwrap_or_else(|| "key_manager_configuration".to_owned());
    let action = match km.action.to_ascii_lowercase().as_str() {
        "add" | "update" => Action::Upsert,
        "delete" => Action::Delete,
        other => return Err(EventError::UnknownType(format!("{event_type} action {other}"))),
    };
    Ok(Event {
        event_type,
        tenant: Tenant { id: km.tenant_id, domain: km.tenant_domain },
        timestamp_ms: None,
        change: Change::KeyManager { name: km.name, action },
    })
}

fn revocation(body: &[u8]) -> Result<Event, EventError> {
    let revoked: RevocationPayload = payload(body)?;
    Ok(Event {
        event_type: revoked.kind.unwrap_or_else(|| "tokenRevocation".to_owned()),
        tenant: Tenant { id: revoked.tenant_id, domain: None },
        timestamp_ms: None,
        change: Change::TokenRevoked { token: revoked.revoked_token, expiry_ms: revoked.expiry_time },
    })
}

#[cfg(test)]
mod tests;
