use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::*;

fn notification(event_type: &str, event: &Value) -> Vec<u8> {
    let encoded = STANDARD.encode(event.to_string());
    json!({"event": {"payloadData": {"eventType": event_type, "timeStamp": 5, "event": encoded}}})
        .to_string()
        .into_bytes()
}

fn change(event_type: &str, event: &Value) -> Result<Change, EventError> {
    decode_event("notification", &notification(event_type, event)).map(|event| event.change)
}

#[test]
fn deploy_events_name_the_api_and_its_labels_with_the_older_and_newer_api_id() {
    let newer = change(
        "DEPLOY_API_IN_GATEWAY",
        &json!({"apiId": 4, "uuid": "u-1", "name": "A", "version": "v1",
        "context": "/a/v1", "gatewayLabels": ["Default"], "deleted": false, "tenantId": 0}),
    );
    let api = ApiIdentity {
        uuid: Some("u-1".into()),
        name: Some("A".into()),
        version: Some("v1".into()),
        context: Some("/a/v1".into()),
    };
    assert_eq!(newer, Ok(Change::ApiDeployed { api: api.clone(), gateway_labels: vec!["Default".into()] }));
    let legacy =
        change("REMOVE_API_FROM_GATEWAY", &json!({"apiId": "u-1", "name": "A", "version": "v1", "context": "/a/v1"}));
    assert_eq!(legacy, Ok(Change::ApiUndeployed { api, gateway_labels: vec![] }));
}

#[test]
fn api_lifecycle_default_version_and_delete_events() {
    let lifecycle = change("API_LIFECYCLE_CHANGE", &json!({"uuid": "u", "apiStatus": "BLOCKED"}));
    assert!(matches!(lifecycle, Ok(Change::ApiLifecycle { status, .. }) if status == "BLOCKED"));
    let default = change("API_UPDATE", &json!({"uuid": "u", "action": "DEFAULT_VERSION"}));
    assert!(matches!(default, Ok(Change::Api { action: Action::Upsert, default_version: true, .. })));
    assert!(matches!(change("API_DELETE", &json!({"uuid": "u"})), Ok(Change::Api { action: Action::Delete, .. })));
}

#[test]
fn application_key_mapping_subscription_and_policy_events_name_their_entity() {
    let app = change("APPLICATION_DELETE", &json!({"uuid": "app", "applicationId": 7, "applicationName": "Shop"}));
    assert_eq!(app, Ok(Change::Application { uuid: Some("app".into()), id: Some(7), action: Action::Delete }));
    let mapping = change(
        "APPLICATION_REGISTRATION_CREATE",
        &json!({"applicationId": 7, "applicationUUID": "app",
        "consumerKey": "ck", "keyType": "PRODUCTION", "keyManager": "Resident Key Manager"}),
    );
    let expected = Change::KeyMapping {
        application_uuid: Some("app".into()),
        consumer_key: "ck".into(),
        key_manager: "Resident Key Manager".into(),
        action: Action::Upsert,
    };
    assert_eq!(mapping, Ok(expected));
    let removed = change("REMOVE_APPLICATION_KEYMAPPING", &json!({"consumerKey": "ck", "keyManager": "KM"}));
    assert!(matches!(removed, Ok(Change::KeyMapping { action: Action::Delete, .. })));
    let subscription = change(
        "SUBSCRIPTIONS_UPDATE",
        &json!({"subscriptionId": 3, "subscriptionUUID": "sub", "policyId": "Gold", "apiUUID": "api-1"}),
    );
    assert_eq!(
        subscription,
        Ok(Change::Subscription {
            uuid: Some("sub".into()),
            id: Some(3),
            api: Some("api-1".into()),
            action: Action::Upsert
        })
    );
    let policy = change("POLICY_DELETE", &json!({"policyType": "SUBSCRIPTION", "policyId": 1, "policyName": "Gold"}));
    assert_eq!(
        policy,
        Ok(Change::Policy { kind: PolicyType::Subscription, name: "Gold".into(), action: Action::Delete })
    );
}

#[test]
fn unknown_types_bad_base64_and_missing_fields_are_errors_and_known_irrelevant_types_ignored() {
    assert_eq!(change("SOMETHING_NEW", &json!({})), Err(EventError::UnknownType("SOMETHING_NEW".into())));
    assert_eq!(change("SCOPE_CREATE", &json!({"name": "s"})), Ok(Change::Ignored));
    let missing = change("POLICY_CREATE", &json!({"policyType": "API"}));
    assert_eq!(missing, Err(EventError::Missing { event_type: "POLICY_CREATE".into(), field: "policyName" }));
    let bad = json!({"event": {"payloadData": {"eventType": "API_CREATE", "timestamp": 1, "event": "%%%"}}});
    assert_eq!(decode_event("notification", bad.to_string().as_bytes()).err(), Some(EventError::Base64));
    let not_json = json!({"event": {"payloadData": {"eventType": "API_CREATE", "event": STANDARD.encode("nope")}}});
    assert!(matches!(decode_event("notification", not_json.to_string().as_bytes()), Err(EventError::Json(_))));
}

#[test]
fn key_manager_events_arrive_on_either_spelling_of_the_topic() {
    let body = json!({"event": {"payloadData": {"event_type": "key_manager_configuration", "action": "delete",
        "name": "KM", "type": "default", "enabled": true, "value": "e30=", "tenantDomain": "carbon.super"}}});
    for topic in ["keymanager", "keyManager"] {
        let event = decode_event(topic, body.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event.change, Change::KeyManager { name: "KM".into(), action: Action::Delete });
        assert!(TenantFilter::default().admits(&event));
    }
}

#[test]
fn tenants_are_decided_by_domain_then_id_then_api_context() {
    let event = |id: Option<i64>, domain: Option<&str>, context: Option<&str>| Event {
        event_type: "DEPLOY_API_IN_GATEWAY".into(),
        tenant: Tenant { id, domain: domain.map(str::to_owned) },
        timestamp_ms: None,
        change: Change::ApiDeployed {
            api: ApiIdentity { context: context.map(str::to_owned), ..ApiIdentity::default() },
            gateway_labels: vec![],
        },
    };
    let super_tenant = TenantFilter::default();
    assert!(!super_tenant.admits(&event(Some(-1234), Some("wso2.com"), None)), "the domain decides");
    assert!(!super_tenant.admits(&event(Some(3), None, None)));
    assert!(super_tenant.admits(&event(Some(0), None, Some("/pets/v1"))), "0 is no tenant id");
    assert!(!super_tenant.admits(&event(Some(0), None, Some("/t/wso2.com/pets/v1"))));
    assert!(TenantFilter::new("wso2.com").admits(&event(None, None, Some("/t/wso2.com/pets/v1"))));
    assert!(super_tenant.admits(&event(None, None, None)), "an event naming no tenant only asks for a re-fetch");
}
