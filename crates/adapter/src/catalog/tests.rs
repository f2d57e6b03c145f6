use std::sync::Arc;

use serde_json::{Value, json};

use tollgate_enforcer::model::Subscription;

use super::*;
use crate::dto::{Document, Event, EventKind};
use crate::validate::ValidationSettings;

fn api(id: &str, context: &str) -> Value {
    json!({
        "id": id, "name": id, "version": "v1", "context": context,
        "endpoints": {"production": {"urls": ["http://127.0.0.1:9001"]}},
        "operations": [{"target": "/*", "verb": "*"}]
    })
}

fn document(value: &Value) -> Document {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    Document::from_json(&bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn event(revision: u64, kind: &str, payload: Value) -> Event {
    Event { revision, kind: EventKind::parse(kind.to_owned()), payload }
}

fn errors(rejected: &[Rejected]) -> Vec<&str> {
    rejected.iter().map(|r| r.error.as_str()).collect()
}

fn api_ids(catalog: &Catalog) -> Vec<String> {
    catalog.entities::<Api>().map(|api| api.id().to_string()).collect()
}

#[test]
fn a_rejected_update_keeps_the_previous_version() {
    let mut catalog = Catalog::new();
    assert!(catalog.replace(&document(&json!({"apis": [api("a", "/a"), api("b", "/b")]}))).is_empty());
    let before = catalog.set::<Api>().get("a").cloned();
    let mut broken = api("a", "/a");
    broken["operations"] = json!([]);
    let rejected = catalog.replace(&document(&json!({"apis": [broken, api("b", "/b2"), api("c", "/c")]})));
    assert_eq!(errors(&rejected), ["api \"a\": operations: must not be empty"]);
    assert_eq!(api_ids(&catalog), ["a", "b", "c"]);
    assert!(before.zip(catalog.set::<Api>().get("a")).is_some_and(|(old, now)| Arc::ptr_eq(&old, now)));
    assert_eq!(catalog.rejections().count(), 1);
    assert!(catalog.replace(&document(&json!({"apis": [api("b", "/b2")]}))).is_empty());
    assert_eq!(api_ids(&catalog), ["b"]);
    assert_eq!(catalog.rejections().count(), 0);
}

#[test]
fn an_entity_without_a_previous_version_is_simply_absent() {
    let mut catalog = Catalog::new();
    let rejected = catalog.replace(&document(&json!({"apis": [{"name": "x"}, api("ok", "/ok")]})));
    assert_eq!(errors(&rejected), ["api \"apis[0]\": id: required"]);
    assert_eq!(api_ids(&catalog), ["ok"]);
}

#[test]
fn a_rejected_event_keeps_the_previous_version() {
    let mut catalog = Catalog::new();
    assert!(catalog.apply_event(&event(1, "API_DEPLOYED", api("a", "/a"))).is_empty());
    let mut broken = api("a", "/a2");
    broken["endpoints"] = json!({});
    let rejected = catalog.apply_event(&event(2, "API_DEPLOYED", broken));
    assert_eq!(errors(&rejected), ["api \"a\": endpoints: at least one of production and sandbox is required"]);
    assert_eq!(catalog.set::<Api>().get("a").map(|a| a.base_paths[0].to_string()).as_deref(), Some("/a/v1"));
    assert_eq!(catalog.rejections().count(), 1);
    assert!(catalog.apply_event(&event(3, "API_DEPLOYED", api("a", "/a3"))).is_empty());
    assert_eq!(catalog.rejections().count(), 0);
    assert!(catalog.apply_event(&event(4, "API_UNDEPLOYED", json!({"id": "a"}))).is_empty());
    assert!(catalog.apply_event(&event(5, "API_UNDEPLOYED", json!({"id": "never-there"}))).is_empty());
    assert_eq!(catalog.counts()[EntityKind::Api], 0);
}

#[test]
fn the_later_of_two_conflicting_apis_is_rejected() {
    let mut catalog = Catalog::new();
    let mut same_name = api("c", "/c");
    same_name["name"] = json!("a");
    let mut on_host = api("d", "/a");
    on_host["vhosts"] = json!(["api.example.com"]);
    let rejected = catalog.replace(&document(&json!({"apis": [api("a", "/a"), api("b", "/a"), same_name, on_host]})));
    assert_eq!(
        errors(&rejected),
        [
            "api \"b\": context: base path /a/v1 on any host is already used by api \"a\"",
            "api \"c\": name: name and version a v1 is already used by api \"a\""
        ]
    );
    assert_eq!(api_ids(&catalog), ["a", "d"], "a host-specific API may share an any-host base path");
    let rejected = catalog.apply_event(&event(7, "API_DEPLOYED", api("e", "/a")));
    assert_eq!(errors(&rejected), ["api \"e\": context: base path /a/v1 on any host is already used by api \"a\""]);
    let mut default_version = api("a2", "/a");
    (default_version["version"], default_version["isDefaultVersion"]) = (json!("v2"), json!(true));
    assert!(catalog.apply_event(&event(8, "API_DEPLOYED", default_version)).is_empty());
}

#[test]
fn a_duplicate_id_in_one_document_rejects_the_later() {
    let mut catalog = Catalog::new();
    let rejected = catalog.replace(&document(&json!({"apis": [api("a", "/a"), api("a", "/other")]})));
    assert_eq!(errors(&rejected), ["api \"a\": defined more than once in the same update; the later one is rejected"]);
    assert_eq!(catalog.set::<Api>().get("a").map(|a| a.base_paths[0].to_string()).as_deref(), Some("/a/v1"));
}

#[test]
fn unknown_policies_reject_the_referencing_entity() {
    let mut catalog = Catalog::new();
    let mut throttled = api("a", "/a");
    throttled["throttlingPolicy"] = json!("Gold");
    let rejected = catalog.replace(&document(&json!({
        "apis": [throttled],
        "applications": [{"id": "app", "policy": "Custom"}, {"id": "app2", "policy": "20PerMin"}],
        "subscriptions": [{"id": "s", "apiId": "a", "applicationId": "app", "policy": "Platinum", "status": "UNBLOCKED"}],
        "policies": [{"kind": "application", "name": "Custom", "limit": {"requestCount": 5, "timeUnit": "min"}}]
    })));
    assert_eq!(
        errors(&rejected),
        [
            "api \"a\": throttlingPolicy: unknown api policy \"Gold\"",
            "subscription \"s\": policy: unknown subscription policy \"Platinum\""
        ]
    );
    assert_eq!(catalog.counts()[EntityKind::Application], 2);
}

#[test]
fn a_policy_still_referenced_is_not_deleted() {
    let mut catalog = Catalog::new();
    let custom = json!({"kind": "application", "name": "Custom", "limit": {"requestCount": 5, "timeUnit": "min"}});
    let app = json!({"id": "app", "policy": "Custom"});
    assert!(catalog.replace(&document(&json!({"applications": [app], "policies": [custom]}))).is_empty());
    let delete = event(2, "POLICY_DELETED", json!({"kind": "application", "name": "Custom"}));
    assert_eq!(
        errors(&catalog.apply_event(&delete)),
        ["policy \"application/Custom\": still referenced by application \"app\"; the policy stays"]
    );
    assert_eq!(catalog.counts()[EntityKind::Policy], 1);
    // A snapshot that drops the policy but keeps a broken update of its user: the kept
    // previous version still needs the policy, so it stays too.
    let rejected = catalog.replace(&document(&json!({"applications": [{"id": "app", "policy": "Custom"}]})));
    assert_eq!(
        errors(&rejected),
        [
            "application \"app\": policy: unknown application policy \"Custom\"",
            "policy \"application/Custom\": still referenced by application \"app\"; the policy stays"
        ]
    );
    assert_eq!(catalog.counts()[EntityKind::Policy], 1);
    assert!(catalog.apply_event(&event(3, "APPLICATION_DELETED", json!({"id": "app"}))).is_empty());
    assert!(catalog.apply_event(&delete).is_empty());
    assert_eq!(catalog.counts()[EntityKind::Policy], 0);
}

#[test]
fn deleting_an_application_cascades() {
    let mut catalog = Catalog::new();
    let rejected = catalog.replace(&document(&json!({
        "applications": [{"id": "app"}, {"id": "other"}],
        "keyMappings": [
            {"applicationId": "app", "consumerKey": "k1", "keyType": "PRODUCTION", "keyManager": "km"},
            {"applicationId": "other", "consumerKey": "k2", "keyType": "PRODUCTION", "keyManager": "km"}
        ],
        "subscriptions": [
            {"id": "s1", "apiId": "a", "applicationId": "app", "status": "UNBLOCKED"},
            {"id": "s2", "apiId": "a", "applicationId": "other", "status": "UNBLOCKED"}
        ]
    })));
    assert!(rejected.is_empty(), "{rejected:?}");
    assert!(catalog.apply_event(&event(2, "APPLICATION_DELETED", json!({"id": "app"}))).is_empty());
    let counts = catalog.counts();
    assert_eq!(
        (counts[EntityKind::Application], counts[EntityKind::KeyMapping], counts[EntityKind::Subscription]),
        (1, 1, 1)
    );
    assert!(catalog.entities::<Subscription>().all(|s| &*s.application_id == "other"));
}

#[test]
fn uniqueness_of_subscriptions_key_mappings_and_issuers() {
    let mut catalog = Catalog::new();
    let rejected = catalog.replace(&document(&json!({
        "subscriptions": [
            {"id": "s1", "apiId": "a", "applicationId": "app", "status": "UNBLOCKED"},
            {"id": "s2", "apiId": "a", "applicationId": "app", "status": "BLOCKED"}
        ],
        "keyMappings": [
            {"applicationId": "app", "consumerKey": "k", "keyType": "PRODUCTION", "keyManager": "km"},
            {"applicationId": "other", "consumerKey": "k", "keyType": "SANDBOX", "keyManager": "km"}
        ],
        "keyManagers": [
            {"name": "one", "issuer": "https://idp", "jwksUrl": "https://idp/jwks"},
            {"name": "two", "issuer": "https://idp", "jwksUrl": "https://idp/jwks2"}
        ]
    })));
    assert_eq!(
        errors(&rejected),
        [
            "subscription \"s2\": applicationId: subscription to api \"a\" with application \"app\" is already used by subscription \"s1\"",
            "keyMapping \"km/k\": defined more than once in the same update; the later one is rejected",
            "keyManager \"two\": issuer: issuer \"https://idp\" is already used by keyManager \"one\""
        ]
    );
    let moved = json!({"id": "s1", "apiId": "a", "applicationId": "app", "status": "BLOCKED"});
    assert!(
        catalog.apply_event(&event(2, "SUBSCRIPTION_UPSERTED", moved)).is_empty(),
        "an upsert may keep its own pair"
    );
}

#[test]
fn every_event_type_applies() {
    let mut catalog = Catalog::new();
    let events = [
        event(
            1,
            "POLICY_UPSERTED",
            json!({"kind": "subscription", "name": "Platinum", "limit": {"requestCount": 9, "timeUnit": "sec"}}),
        ),
        event(2, "KEY_MANAGER_UPSERTED", json!({"name": "km", "issuer": "https://idp", "jwksUrl": "https://idp/jwks"})),
        event(3, "API_DEPLOYED", api("a", "/a")),
        event(4, "APPLICATION_UPSERTED", json!({"id": "app"})),
        event(
            5,
            "KEY_MAPPING_UPSERTED",
            json!({"applicationId": "app", "consumerKey": "k", "keyType": "PRODUCTION", "keyManager": "km"}),
        ),
        event(
            6,
            "SUBSCRIPTION_UPSERTED",
            json!({"id": "s", "apiId": "a", "applicationId": "app", "policy": "Platinum", "status": "UNBLOCKED"}),
        ),
        event(7, "TOKEN_REVOKED", json!({"jti": "j", "expiresAt": 100})),
        event(8, "SOMETHING_NEW", json!({})),
        event(9, "SOMETHING_NEW", json!({})),
    ];
    for event in &events {
        assert!(catalog.apply_event(event).is_empty(), "{event:?}");
    }
    assert_eq!(catalog.skipped_event_types.len(), 1);
    assert_eq!(catalog.counts(), ByKind::from_fn(|kind| usize::from(kind != EntityKind::Document)));
    let deletes = [
        event(10, "SUBSCRIPTION_DELETED", json!({"id": "s"})),
        event(11, "KEY_MAPPING_DELETED", json!({"consumerKey": "k", "keyManager": "km"})),
        event(12, "POLICY_DELETED", json!({"kind": "subscription", "name": "Platinum"})),
        event(13, "KEY_MANAGER_DELETED", json!({"name": "km"})),
        event(14, "APPLICATION_DELETED", json!({"id": "app"})),
        event(15, "API_UNDEPLOYED", json!({"id": "a"})),
    ];
    for event in &deletes {
        assert!(catalog.apply_event(event).is_empty(), "{event:?}");
    }
    assert_eq!(catalog.counts(), ByKind::from_fn(|kind| usize::from(kind == EntityKind::RevokedToken)));
    catalog.prune_revocations(100);
    assert_eq!(catalog.counts()[EntityKind::RevokedToken], 0);
}

#[test]
fn a_delete_without_a_key_is_rejected() {
    let mut catalog = Catalog::new();
    let rejected = catalog.apply_event(&event(5, "KEY_MAPPING_DELETED", json!({"consumerKey": "k"})));
    assert_eq!(errors(&rejected), ["keyMapping \"event 5\": the payload does not name a keyMapping"]);
    let rejected = catalog.apply_event(&event(6, "POLICY_DELETED", json!({"kind": "tier", "name": "x"})));
    assert_eq!(
        errors(&rejected),
        ["policy \"event 6\": kind: unknown value \"tier\"; expected subscription, application or api"]
    );
}

#[test]
fn an_identical_replace_changes_nothing() {
    let mut catalog = Catalog::new();
    let doc = document(&json!({"apis": [api("a", "/a")], "applications": [{"id": "app"}]}));
    catalog.replace(&doc);
    let _ = catalog.take_changes();
    catalog.replace(&doc);
    assert_eq!(catalog.take_changes(), Changes::default());
    catalog.replace(&document(&json!({"apis": [api("a", "/a")], "applications": [{"id": "app", "name": "renamed"}]})));
    assert_eq!(catalog.take_changes(), ByKind::from_fn(|kind| kind == EntityKind::Application));
}

#[test]
fn a_subscription_event_for_a_taken_pair_replaces_the_old_subscription() {
    let mut catalog = Catalog::new();
    let old = json!({"id": "s1", "apiId": "a", "applicationId": "app", "status": "UNBLOCKED"});
    assert!(catalog.apply_event(&event(1, "SUBSCRIPTION_UPSERTED", old)).is_empty());
    let new = json!({"id": "s2", "apiId": "a", "applicationId": "app", "policy": "Gold", "status": "UNBLOCKED"});
    assert!(catalog.apply_event(&event(2, "SUBSCRIPTION_UPSERTED", new)).is_empty());
    let ids: Vec<_> = catalog.entities::<Subscription>().map(|s| s.id.to_string()).collect();
    assert_eq!(ids, ["s2"]);
}

#[test]
fn entities_from_the_same_raw_value_are_not_decoded_again_but_still_checked() {
    let mut catalog = Catalog::new();
    let mut throttled = api("a", "/a");
    throttled["throttlingPolicy"] = json!("Custom");
    let custom = json!({"kind": "api", "name": "Custom", "limit": {"requestCount": 5, "timeUnit": "min"}});
    let first = document(&json!({"apis": [throttled], "policies": [custom]}));
    assert!(catalog.replace(&first).is_empty());
    let before = catalog.set::<Api>().get("a").cloned();
    assert!(
        before.as_ref().is_some_and(|api| catalog
            .set::<Api>()
            .built_from("a", &first.apis[0])
            .is_some_and(|a| Arc::ptr_eq(a, api)))
    );
    assert!(catalog.replace(&first).is_empty());
    assert!(before.zip(catalog.set::<Api>().get("a")).is_some_and(|(old, now)| Arc::ptr_eq(&old, now)));
    let without_policy = Document { policies: Vec::new(), ..first.clone() };
    assert_eq!(
        errors(&catalog.replace(&without_policy)),
        [
            "api \"a\": throttlingPolicy: unknown api policy \"Custom\"",
            "policy \"api/Custom\": still referenced by api \"a\"; the policy stays"
        ]
    );
    assert_eq!((catalog.counts()[EntityKind::Api], catalog.counts()[EntityKind::Policy]), (1, 1));
}

#[test]
fn backend_jwt_apis_are_served_only_by_a_catalog_for_a_gateway_that_signs() {
    let mut asking = api("signed", "/signed");
    asking["backendJwt"] = json!(true);
    let whole = document(&json!({"apis": [asking.clone(), api("plain", "/plain")]}));
    let mut without = Catalog::new();
    let rejected = without.replace(&whole);
    assert_eq!(rejected.len(), 1, "refused without [backend_jwt]: {:?}", errors(&rejected));
    assert!(rejected[0].error.starts_with("api \"signed\": backendJwt: "), "{}", rejected[0].error);
    assert_eq!(api_ids(&without), ["plain"]);
    let refused = without.apply_event(&event(2, "API_DEPLOYED", asking.clone()));
    assert_eq!(refused.len(), 1, "an event is refused the same way");

    let mut with = Catalog::with_settings(ValidationSettings { backend_jwt_signer: true });
    assert!(with.replace(&whole).is_empty());
    assert_eq!(api_ids(&with), ["signed", "plain"]);
    assert!(with.apply_event(&event(3, "API_DEPLOYED", asking)).is_empty());
    assert_eq!(Catalog::new().replace(&whole).len(), 1, "each catalog has its own settings");
}
