//! Event-hub messages as API-M publishes them (INTERFACE.md §4.3, §4.4): the topic (the
//! routing key on `amq.topic`) and the body, for the entities the fake holds. Notifications
//! carry the base `Event` fields (`eventId`, `timeStamp`, `type`, `tenantId`,
//! `tenantDomain`) and the type's own, base64-encoded in `payloadData.event`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::FakeApi;

/// One message for the event hub.
#[derive(Debug, Clone)]
pub struct HubEvent {
    /// `notification`, `keyManager` or `tokenRevocation`.
    pub topic: &'static str,
    pub body: Vec<u8>,
}

/// `DEPLOY_API_IN_GATEWAY` of `api` on its labels.
pub fn api_deployed(api: &FakeApi) -> HubEvent {
    notification("DEPLOY_API_IN_GATEWAY", gateway_event(api))
}

/// `REMOVE_API_FROM_GATEWAY` of `api` from its labels.
pub fn api_removed(api: &FakeApi) -> HubEvent {
    notification("REMOVE_API_FROM_GATEWAY", gateway_event(api))
}

/// `API_LIFECYCLE_CHANGE` of `api` to `status` (`BLOCKED`, `PUBLISHED`, ...).
pub fn api_lifecycle(api: &FakeApi, status: &str) -> HubEvent {
    let meta = &api.metadata;
    let event = json!({"apiName": meta["name"], "apiId": meta["apiId"], "uuid": api.uuid,
        "apiVersion": meta["version"], "apiContext": meta["context"], "apiProvider": meta["provider"],
        "apiType": "HTTP", "apiStatus": status});
    notification("API_LIFECYCLE_CHANGE", event)
}

/// `APPLICATION_CREATE`, `_UPDATE` or `_DELETE` of application `uuid` (`id`) with `policy`.
pub fn application(event_type: &str, uuid: &str, id: i64, policy: &str) -> HubEvent {
    let event = json!({"uuid": uuid, "applicationId": id, "applicationName": uuid, "tokenType": "JWT",
        "applicationPolicy": policy, "groupId": "", "attributes": {}, "subscriber": "admin"});
    notification(event_type, event)
}

/// `APPLICATION_REGISTRATION_CREATE` or `REMOVE_APPLICATION_KEYMAPPING`.
pub fn key_mapping(event_type: &str, application: (&str, i64), consumer_key: &str, key_manager: &str) -> HubEvent {
    let event = json!({"applicationId": application.1, "applicationUUID": application.0,
        "consumerKey": consumer_key, "keyType": "PRODUCTION", "keyManager": key_manager});
    notification(event_type, event)
}

/// `SUBSCRIPTIONS_CREATE`, `_UPDATE` or `_DELETE`: `subscription` as the fake lists it.
pub fn subscription(event_type: &str, subscription: &Value) -> HubEvent {
    let event = json!({"subscriptionId": subscription["subscriptionId"],
        "subscriptionUUID": subscription["subscriptionUUID"], "apiId": subscription["apiId"],
        "apiUUID": subscription["apiUUID"], "applicationId": subscription["appId"],
        "applicationUUID": subscription["applicationUUID"], "policyId": subscription["policyId"],
        "subscriptionState": subscription["subscriptionState"]});
    notification(event_type, event)
}

/// `POLICY_CREATE`, `_UPDATE` or `_DELETE` of a `SUBSCRIPTION`, `APPLICATION` or `API`
/// policy: like API-M's, the event carries no limit.
pub fn policy(event_type: &str, policy_type: &str, name: &str) -> HubEvent {
    let event = json!({"policyType": policy_type, "policyId": 1, "policyName": name, "quotaType": "requestCount"});
    notification(event_type, event)
}

/// A `keyManager` message (`add`, `update`, `delete`) for key manager `name`; `value` is
/// its configuration (the keys of `/keymanagers`), base64-encoded as API-M sends it.
pub fn key_manager(action: &str, name: &str, configuration: &Value) -> HubEvent {
    let payload = json!({"event_type": "key_manager_configuration", "action": action, "name": name,
        "type": "default", "enabled": true, "value": STANDARD.encode(configuration.to_string()),
        "tenantDomain": "carbon.super", "tenantId": -1234});
    HubEvent { topic: "keyManager", body: envelope(&payload) }
}

/// A `tokenRevocation` message: the token with `jti` is revoked until `expiry_ms`.
pub fn token_revoked(jti: &str, expiry_ms: u64) -> HubEvent {
    let payload = json!({"eventId": event_id(), "revokedToken": jti, "ttl": "3600", "expiryTime": expiry_ms,
        "type": "Default", "tenantId": -1234});
    HubEvent { topic: "tokenRevocation", body: envelope(&payload) }
}

/// Milliseconds since the epoch: the time API-M stamps on its events.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64)
}

/// The `DEPLOY_API_IN_GATEWAY` / `REMOVE_API_FROM_GATEWAY` fields.
fn gateway_event(api: &FakeApi) -> Value {
    let meta = &api.metadata;
    let labels: Vec<&str> = api.environments.iter().map(|(label, _)| label.as_str()).collect();
    json!({"apiId": meta["apiId"], "uuid": api.uuid, "name": meta["name"], "version": meta["version"],
        "provider": meta["provider"], "apiType": "HTTP", "gatewayLabels": labels, "context": meta["context"],
        "associatedApis": [], "deleted": false})
}

/// A `notification` message: `event` with the base fields, base64 in the payload.
fn notification(event_type: &str, mut event: Value) -> HubEvent {
    let stamp = now_ms();
    event["eventId"] = json!(event_id());
    event["timeStamp"] = json!(stamp);
    event["type"] = json!(event_type);
    event["tenantId"] = json!(-1234);
    event["tenantDomain"] = json!("carbon.super");
    let payload = json!({"eventType": event_type, "timestamp": stamp, "event": STANDARD.encode(event.to_string())});
    HubEvent { topic: "notification", body: envelope(&payload) }
}

/// `{"event": {"payloadData": …}}`.
fn envelope(payload: &Value) -> Vec<u8> {
    json!({"event": {"payloadData": payload}}).to_string().into_bytes()
}

/// A UUID-shaped id, unique in this process.
fn event_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("00000000-0000-4000-8000-{:012x}", NEXT.fetch_add(1, Ordering::Relaxed))
}
