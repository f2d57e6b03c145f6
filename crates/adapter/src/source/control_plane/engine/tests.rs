use serde_json::{Value, json};

use super::*;
use crate::dto::{Event, EventKind};
use crate::rejected::EntityKind;

const NOW: u64 = 1_700_000_000;

fn api(id: &str, context: &str) -> Value {
    json!({
        "id": id, "name": id, "version": "v1", "context": context,
        "endpoints": {"production": {"urls": ["http://127.0.0.1:9001"]}},
        "operations": [{"target": "/*", "verb": "*"}]
    })
}

fn broken(id: &str) -> Value {
    json!({"id": id, "name": id, "version": "v1", "context": "no-slash", "operations": []})
}

fn snapshot_json(revision: u64, apis: &[Value]) -> Vec<u8> {
    let document = json!({"revision": revision, "environment": "default", "apis": apis,
        "applications": [{"id": "app-1"}, {"id": "app-2"}],
        "keyMappings": [{"applicationId": "app-1", "consumerKey": "ck-1", "keyType": "PRODUCTION", "keyManager": "km"}],
        "subscriptions": [{"id": "s-1", "apiId": "a", "applicationId": "app-1", "status": "UNBLOCKED"}],
        "policies": [{"kind": "subscription", "name": "Tiny", "limit": {"requestCount": 5, "unitTime": 1, "timeUnit": "min"}}],
        "keyManagers": [{"name": "km", "issuer": "https://idp", "jwksUrl": "https://idp/jwks"}],
        "revokedTokens": [{"jti": "old", "expiresAt": NOW - 1}, {"jti": "t-1", "expiresAt": NOW + 3600}]});
    serde_json::to_vec(&document).unwrap_or_default()
}

fn loaded(revision: u64, apis: &[Value]) -> (Engine, Built) {
    let document = Document::from_json_with_text(&snapshot_json(revision, apis)).unwrap_or_else(|e| panic!("{e}"));
    let mut engine = Engine::new("default");
    let built = engine.snapshot(&document, revision, NOW, &[]);
    (engine, built)
}

fn event(revision: u64, kind: &str, payload: Value) -> Event {
    Event { revision, kind: EventKind::parse(kind.to_owned()), payload }
}

fn page(revision: u64, events: Vec<Event>) -> EventPage {
    EventPage { revision, events }
}

fn served(built: &Built) -> Vec<String> {
    built.snapshot.routes.apis().map(|api| api.id().to_string()).collect()
}

#[test]
fn a_snapshot_then_contiguous_events_build_one_snapshot_per_page() {
    let (mut engine, built) = loaded(10, &[api("a", "/a")]);
    assert_eq!((built.snapshot.revision, engine.revision()), (10, Some(10)));
    let events = vec![
        event(11, "API_DEPLOYED", api("b", "/b")),
        event(
            12,
            "SUBSCRIPTION_UPSERTED",
            json!({"id": "s-2", "apiId": "b", "applicationId": "app-2", "status": "UNBLOCKED"}),
        ),
        event(13, "API_UNDEPLOYED", json!({"id": "a"})),
    ];
    let outcome = engine.events(&page(13, events), NOW);
    assert_eq!(outcome.discontinuity, None);
    let built = outcome.built.unwrap_or_else(|| panic!("the page applies"));
    assert_eq!((built.snapshot.revision, served(&built)), (13, vec!["b".to_owned()]));
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    assert!(built.snapshot.enforcement.subscriptions.get("b", "app-2").is_some());
    assert!(engine.events(&page(13, Vec::new()), NOW).built.is_none(), "an empty page builds nothing");
}

#[test]
fn a_gap_applies_the_events_before_it_and_asks_for_a_snapshot() {
    let (mut engine, _) = loaded(10, &[]);
    let events = vec![event(11, "API_DEPLOYED", api("b", "/b")), event(13, "API_DEPLOYED", api("c", "/c"))];
    let outcome = engine.events(&page(13, events), NOW);
    assert_eq!(outcome.discontinuity, Some(Discontinuity::Gap { expected: 12, found: 13 }));
    assert_eq!(outcome.built.map(|built| served(&built)), Some(vec!["b".to_owned()]));
    assert_eq!(engine.revision(), Some(11));
    let stale = engine.events(&page(11, vec![event(11, "API_DEPLOYED", api("d", "/d"))]), NOW);
    assert_eq!(stale.discontinuity, Some(Discontinuity::Gap { expected: 12, found: 11 }), "a replayed event");
}

#[test]
fn pages_that_contradict_the_revision_held_ask_for_a_snapshot() {
    let (mut engine, _) = loaded(10, &[]);
    let missing = engine.events(&page(12, Vec::new()), NOW).discontinuity;
    assert_eq!(missing, Some(Discontinuity::Missing { after: 10, newest: 12 }));
    let behind = engine.events(&page(4, Vec::new()), NOW).discontinuity;
    assert_eq!(behind, Some(Discontinuity::Behind { after: 10, newest: 4 }));
    assert_eq!(Discontinuity::Gone { after: 1 }.reason(), SyncFailure::Resync);
    assert_eq!(Discontinuity::Undecodable("x".into()).reason(), SyncFailure::Decode);
}

#[test]
fn a_broken_entity_is_rejected_and_the_rest_and_the_revision_advance() {
    let (mut engine, built) = loaded(10, &[api("a", "/a"), broken("bad"), api("c", "/c")]);
    assert_eq!(served(&built), ["a", "c"]);
    assert_eq!(
        built.rejected.iter().map(|r| (r.entity, r.id.as_str())).collect::<Vec<_>>(),
        [(EntityKind::Api, "bad")]
    );
    let events = vec![
        event(11, "API_DEPLOYED", broken("a")),
        event(12, "SOMETHING_NEW", json!({})),
        event(13, "API_DEPLOYED", api("d", "/d")),
    ];
    let built = engine.events(&page(13, events), NOW).built.unwrap_or_else(|| panic!("the page applies"));
    assert_eq!((built.snapshot.revision, served(&built)), (13, vec!["a".to_owned(), "c".to_owned(), "d".to_owned()]));
    assert_eq!(built.rejected.len(), 1, "only the broken event's entity: {:?}", built.rejected);
    let outstanding: Vec<_> = built.outstanding.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(outstanding, ["bad", "a"]);
}

#[test]
fn the_state_image_rebuilds_what_is_served() {
    let (mut engine, _) = loaded(10, &[api("a", "/a"), api("b", "/b")]);
    let events = vec![
        event(11, "API_DEPLOYED", broken("a")),
        event(12, "APPLICATION_DELETED", json!({"id": "app-1"})),
        event(13, "API_DEPLOYED", api("e", "/e")),
        event(
            14,
            "POLICY_UPSERTED",
            json!({"kind": "application", "name": "Few", "limit": {"requestCount": 1, "timeUnit": "sec"}}),
        ),
        event(15, "TOKEN_REVOKED", json!({"jti": "t-2", "expiresAt": NOW + 60})),
        event(16, "API_UNDEPLOYED", json!({"id": "b"})),
    ];
    let built = engine.events(&page(16, events), NOW).built.unwrap_or_else(|| panic!("the page applies"));
    let image = engine.image(&built);
    assert_eq!(engine.mirror.texts(EntityKind::KeyMapping).len(), 0, "the cascade went to the mirror");
    assert_eq!(engine.mirror.texts(EntityKind::RevokedToken).len(), 2, "the expired revocation was pruned");
    let bytes = image.to_json().unwrap_or_default();
    let document = Document::from_json_with_text(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let mut restarted = Engine::new("default");
    let again = restarted.snapshot(&document, image.revision, NOW, &image.rejected);
    assert!(again.rejected.is_empty(), "the state holds accepted entities only: {:?}", again.rejected);
    assert_eq!((again.snapshot.revision, served(&again)), (16, served(&built)));
    assert_eq!(again.counts, built.counts);
    assert_eq!(again.outstanding, built.outstanding, "the rejection in force survives a restart");
    let kept = again.snapshot.routes.apis().find(|api| &**api.id() == "a").map(|api| api.base_paths[0].to_string());
    assert_eq!(kept.as_deref(), Some("/a/v1"), "the previous version of the rejected API is kept");
}

#[test]
fn an_entity_nested_too_deeply_is_rejected_alone() {
    let deep = format!("{}1{}", "[".repeat(140), "]".repeat(140));
    let good = api("a", "/a").to_string();
    let text = format!(r#"{{"revision": 3, "apis": [{good}, {{"id": "deep", "cors": {deep}}}]}}"#);
    assert!(Document::from_json(text.as_bytes()).is_err(), "a tree of values refuses the whole document");
    let document = Document::from_json_with_text(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let built = Engine::new("default").snapshot(&document, 3, NOW, &[]);
    assert_eq!(served(&built), ["a"]);
    assert!(built.rejected.iter().any(|r| r.error.contains("recursion limit")), "{:?}", built.rejected);
}

#[test]
fn texts_and_values_validate_alike() {
    let mut unknown_policy = api("p", "/p");
    unknown_policy["throttlingPolicy"] = json!("NoSuchTier");
    let mut wrong_type = api("t", "/t");
    wrong_type["operations"][0]["secured"] = json!("yes");
    let apis = [api("a", "/a"), unknown_policy, wrong_type, json!({"name": "no-id"}), broken("b"), api("a", "/again")];
    let bytes = snapshot_json(5, &apis);
    let build = |document: Document| Engine::new("default").snapshot(&document, 5, NOW, &[]);
    let from_text = build(Document::from_json_with_text(&bytes).unwrap_or_else(|e| panic!("{e}")));
    let from_values = build(Document::from_json(&bytes).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(from_text.rejected, from_values.rejected);
    assert_eq!((served(&from_text), from_text.counts), (served(&from_values), from_values.counts));
    let named: Vec<_> = from_text.rejected.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(named, ["p", "t", "apis[3]", "b", "a"], "{:?}", from_text.rejected);
    assert!(from_text.rejected[1].error.contains("operations[0].secured"), "{:?}", from_text.rejected[1]);
}

#[test]
fn each_event_taken_reports_what_became_of_it() {
    let (mut engine, _) = loaded(10, &[]);
    let events = vec![
        event(11, "API_DEPLOYED", api("b", "/b")),
        event(12, "API_DEPLOYED", broken("c")),
        event(13, "API_RENAMED", json!({"id": "b"})),
        event(15, "API_UNDEPLOYED", json!({"id": "b"})),
    ];
    let outcome = engine.events(&page(15, events), NOW);
    let results: Vec<(&str, EventResult)> =
        outcome.results.iter().map(|(kind, result)| (kind.as_str(), *result)).collect();
    assert_eq!(
        results,
        [
            ("API_DEPLOYED", EventResult::Applied),
            ("API_DEPLOYED", EventResult::Rejected),
            ("unknown", EventResult::Skipped)
        ],
        "the event after the gap is not taken"
    );
}
