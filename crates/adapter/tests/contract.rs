//! The contract examples decode, validate, build and apply.

mod common;

use std::sync::Arc;

use http::Method;
use prometheus::Registry;
use tollgate_adapter::dto::{Document, EventPage};
use tollgate_adapter::{AdapterMetrics, Catalog, EntityKind, SnapshotBuilder, SourceKind, SyncState};
use tollgate_enforcer::model::{PolicyKind, RevokedId, SubscriptionStatus};
use tollgate_router::route::RouteMatch;

use common::{NOW, applier_with, read_fixture};

fn contract_catalog() -> (Catalog, Vec<tollgate_adapter::Rejected>) {
    let document = Document::from_json(&read_fixture("snapshot.json")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((document.revision, document.environment.as_deref()), (Some(42), Some("default")));
    let mut catalog = Catalog::new();
    let rejected = catalog.replace(&document);
    (catalog, rejected)
}

#[test]
fn the_contract_snapshot_validates_and_builds() {
    let (mut catalog, rejected) = contract_catalog();
    assert!(rejected.is_empty(), "{rejected:?}");
    let built = SnapshotBuilder::new().build(&mut catalog, 42, NOW, rejected);
    let snapshot = &built.snapshot;
    assert_eq!(snapshot.revision, 42);
    let RouteMatch::Found(route) = snapshot.routes.find("gw.example.com", &Method::GET, "/petstore/1.0.0/pets/7")
    else {
        panic!("the versioned path must route");
    };
    assert_eq!(&*route.operation.guard.resource, "GET /pets/{petId}");
    assert_eq!(route.api.guard.throttling_policy.as_deref(), Some("50KPerMin"));
    let default_version = snapshot.routes.find("gw.example.com", &Method::DELETE, "/petstore/pets/7");
    assert!(
        matches!(default_version, RouteMatch::Found(r) if r.operation.guard.throttling_policy.as_deref() == Some("10KPerMin"))
    );
    let enforcement = &snapshot.enforcement;
    assert!(enforcement.key_managers.by_issuer("https://127.0.0.1:9443/oauth2/token").is_some());
    assert_eq!(enforcement.key_mappings.len(), 3);
    let sub = enforcement.subscriptions.get("5f1b7c2e-petstore-1.0.0", "app-2").map(|s| s.status);
    assert_eq!(sub, Some(SubscriptionStatus::ProdOnlyBlocked));
    let gold = enforcement.policies.get(PolicyKind::Subscription, "Gold").and_then(|p| p.burst).map(|b| b.count.get());
    assert_eq!(gold, Some(200), "the snapshot's Gold overrides the built-in");
    assert_eq!(built.counts[EntityKind::Api], 1);
    assert_eq!(built.counts[EntityKind::Application], 2);
}

#[test]
fn the_contract_events_apply() {
    let (mut catalog, _) = contract_catalog();
    let page = EventPage::from_json(&read_fixture("events.json")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((page.revision, page.events.len()), (45, 3));
    for event in &page.events {
        assert!(catalog.apply_event(event).is_empty(), "{event:?}");
    }
    let built = SnapshotBuilder::new().build(&mut catalog, page.revision, NOW, Vec::new());
    let enforcement = &built.snapshot.enforcement;
    let replaced = enforcement.subscriptions.get("5f1b7c2e-petstore-1.0.0", "app-2");
    assert!(
        replaced.is_some_and(|s| &*s.id == "sub-3" && &*s.policy == "Silver"),
        "sub-3 takes over app-2's subscription"
    );
    assert_eq!(enforcement.subscriptions.len(), 2);
    assert!(enforcement.revocations.is_revoked(&RevokedId::Jti("0f6c1d2e-7a55-4bd0-9c1e-3a1f2d9b8e77".into())));
    assert!(built.snapshot.routes.is_empty(), "API_UNDEPLOYED removed the only API");
}

#[test]
fn a_malformed_event_page_is_unreadable_as_a_whole() {
    let missing_type = br#"{"revision": 2, "events": [{"revision": 2, "payload": {}}]}"#;
    let error = EventPage::from_json(missing_type).err().map(|e| e.to_string());
    assert!(error.as_deref().is_some_and(|e| e.starts_with("events[0]: missing field `type`")), "{error:?}");
    let not_an_array = br#"{"apis": {"id": "x"}}"#;
    let error = Document::from_json(not_an_array).err().map(|e| e.to_string());
    assert!(
        error.as_deref().is_some_and(|e| e.starts_with("apis: invalid type: map, expected a sequence")),
        "{error:?}"
    );
}

#[test]
fn building_reuses_what_did_not_change() {
    let (mut catalog, rejected) = contract_catalog();
    let mut builder = SnapshotBuilder::new();
    let first = builder.build(&mut catalog, 42, NOW, rejected).snapshot;
    let page = EventPage::from_json(&read_fixture("events.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(catalog.apply_event(&page.events[0]).is_empty());
    let second = builder.build(&mut catalog, 43, NOW, Vec::new()).snapshot;
    let (a, b) = (&first.enforcement, &second.enforcement);
    assert!(Arc::ptr_eq(&first.routes, &second.routes));
    assert!(Arc::ptr_eq(&a.key_managers, &b.key_managers));
    assert!(Arc::ptr_eq(&a.applications, &b.applications));
    assert!(Arc::ptr_eq(&a.key_mappings, &b.key_mappings));
    assert!(Arc::ptr_eq(&a.policies, &b.policies));
    assert!(Arc::ptr_eq(&a.revocations, &b.revocations));
    assert!(!Arc::ptr_eq(&a.subscriptions, &b.subscriptions));
    // The same snapshot again: nothing is rebuilt.
    let (same, _) = contract_catalog();
    let mut catalog_again = same;
    let mut fresh = SnapshotBuilder::new();
    let base = fresh.build(&mut catalog_again, 1, NOW, Vec::new()).snapshot;
    let document = Document::from_json(&read_fixture("snapshot.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(catalog_again.replace(&document).is_empty());
    let again = fresh.build(&mut catalog_again, 2, NOW, Vec::new()).snapshot;
    assert!(Arc::ptr_eq(&base.routes, &again.routes));
    assert!(Arc::ptr_eq(&base.enforcement.subscriptions, &again.enforcement.subscriptions));
    assert!(Arc::ptr_eq(&base.enforcement.key_managers, &again.enforcement.key_managers));
    // An API change rebuilds the routes but not the enforcement data.
    assert!(catalog_again.apply_event(&page.events[2]).is_empty());
    let third = fresh.build(&mut catalog_again, 3, NOW, Vec::new()).snapshot;
    assert!(!Arc::ptr_eq(&again.routes, &third.routes));
    assert!(Arc::ptr_eq(&again.enforcement.policies, &third.enforcement.policies));
}

#[test]
fn the_applier_swaps_and_reports() {
    let registry = Registry::new();
    let metrics = AdapterMetrics::register(&registry).unwrap_or_else(|e| panic!("{e}"));
    let applier = applier_with(SourceKind::ControlPlane, metrics);
    let (mut catalog, mut rejected) = contract_catalog();
    let broken = serde_json::json!({"apis": [{"id": "broken-v1"}]});
    rejected.extend(
        catalog.replace(&Document::from_json(&serde_json::to_vec(&broken).unwrap_or_default()).unwrap_or_default()),
    );
    let built = SnapshotBuilder::new().build(&mut catalog, 45, NOW, rejected);
    applier.apply(built);
    assert_eq!(applier.store().load().map(|s| s.revision), Some(45));
    let status = applier.status().load();
    assert_eq!((status.state, status.revision), (SyncState::Synced, Some(45)));
    assert_eq!(status.last_applied.as_deref(), Some("2023-11-14T22:13:20Z"));
    assert_eq!(status.rejected.len(), 1);
    assert_eq!(status.rejected[0].entity, EntityKind::Api);
    assert_eq!(status.rejected[0].id, "broken-v1");
    let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap_or_default();
    assert!(text.contains("tollgate_config_revision 45"), "{text}");
    assert!(text.contains("tollgate_config_rejected_total{entity=\"api\"} 1"), "{text}");
    assert!(text.contains("tollgate_config_last_applied_timestamp_seconds 1700000000"), "{text}");
    let json = serde_json::to_value(&*status).unwrap_or_default();
    assert_eq!(json["rejected"][0]["entity"], "api");
    assert_eq!(json["source"], "control-plane");
    applier.record_failure(tollgate_adapter::SyncFailure::Network, &"connection refused");
    let status = applier.status().load();
    assert_eq!((status.state, status.last_error.as_deref()), (SyncState::Error, Some("connection refused")));
    let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap_or_default();
    assert!(text.contains("tollgate_config_sync_failures_total{reason=\"network\"} 1"), "{text}");
}

#[test]
fn yaml_documents_decode_like_json_and_bombs_are_refused() {
    let yaml = "apis:\n  - id: a\n    name: A\n    version: '1.0'\n    context: /a\n    endpoints:\n      production:\n        urls: [http://up]\n    operations:\n      - {target: /x, verb: GET}\n";
    let document = Document::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}"));
    let mut catalog = Catalog::new();
    assert!(catalog.replace(&document).is_empty());
    assert_eq!(catalog.counts()[EntityKind::Api], 1);
    let unquoted = Document::from_yaml(&yaml.replace("'1.0'", "1.0")).unwrap_or_default();
    let rejected = catalog.replace(&unquoted);
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0].error.starts_with("api \"a\": version: invalid type: floating point"), "{rejected:?}");
    let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let aliases = vec![format!("*l{}", level - 1); 10].join(", ");
        bomb.push_str(&format!("l{level}: &l{level} [{aliases}]\n"));
    }
    assert!(Document::from_yaml(&bomb).is_err(), "a billion-laughs document must be refused");
}
