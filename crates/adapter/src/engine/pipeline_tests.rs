use serde_json::{Value, json};

use super::*;
use crate::dto::EventKind;
use crate::rejected::EntityKind;
use crate::validate::ValidationSettings;

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

fn replace(pipeline: &mut Pipeline, document: &Document, revision: u64, in_force: &[Rejected]) -> Built {
    let step = pipeline.replace(document, Revision::At(revision), NOW, in_force);
    step.built.unwrap_or_else(|| panic!("a revision of its own always builds"))
}

fn loaded(revision: u64, apis: &[Value]) -> (Pipeline, Built) {
    let document = Document::from_json_with_text(&snapshot_json(revision, apis)).unwrap_or_else(|e| panic!("{e}"));
    let mut pipeline = Pipeline::new(true, ValidationSettings::default());
    let built = replace(&mut pipeline, &document, revision, &[]);
    (pipeline, built)
}

/// A change as the control plane's event of `kind` makes it.
fn event(revision: u64, kind: &str, payload: Value) -> Change {
    let (kind, action) = EventKind::parse(kind.to_owned()).change().unwrap_or_else(|| panic!("{kind}"));
    Change { kind, action, payload, name: format!("event {revision}") }
}

fn changes(pipeline: &mut Pipeline, revision: u64, changes: &[Change]) -> Step {
    pipeline.changes(changes, Revision::At(revision), NOW)
}

fn served_after(step: Step) -> Built {
    step.built.unwrap_or_else(|| panic!("the changes apply"))
}

fn served(built: &Built) -> Vec<String> {
    built.snapshot.routes.apis().map(|api| api.id().to_string()).collect()
}

#[test]
fn a_snapshot_then_changes_build_one_snapshot_per_update() {
    let (mut pipeline, built) = loaded(10, &[api("a", "/a")]);
    assert_eq!((built.snapshot.revision, pipeline.revision()), (10, Some(10)));
    let step = changes(
        &mut pipeline,
        13,
        &[
            event(11, "API_DEPLOYED", api("b", "/b")),
            event(
                12,
                "SUBSCRIPTION_UPSERTED",
                json!({"id": "s-2", "apiId": "b", "applicationId": "app-2", "status": "UNBLOCKED"}),
            ),
            event(13, "API_UNDEPLOYED", json!({"id": "a"})),
        ],
    );
    let expected = Diff { added: 1, changed: 0, removed: 1 };
    assert_eq!((step.diff[EntityKind::Api], step.diff[EntityKind::Subscription].added), (expected, 1));
    let built = served_after(step);
    assert_eq!((built.snapshot.revision, served(&built)), (13, vec!["b".to_owned()]));
    assert!(built.rejected.is_empty(), "{:?}", built.rejected);
    assert!(built.snapshot.enforcement.subscriptions.get("b", "app-2").is_some());
}

#[test]
fn a_broken_entity_is_rejected_and_the_rest_and_the_revision_advance() {
    let (mut pipeline, built) = loaded(10, &[api("a", "/a"), broken("bad"), api("c", "/c")]);
    assert_eq!(served(&built), ["a", "c"]);
    assert_eq!(
        built.rejected.iter().map(|r| (r.entity, r.id.as_str())).collect::<Vec<_>>(),
        [(EntityKind::Api, "bad")]
    );
    let step = changes(
        &mut pipeline,
        13,
        &[event(11, "API_DEPLOYED", broken("a")), event(13, "API_DEPLOYED", api("d", "/d"))],
    );
    let results: Vec<(&str, EventResult)> =
        step.results.iter().map(|(kind, result)| (kind.as_str(), *result)).collect();
    assert_eq!(results, [("API_DEPLOYED", EventResult::Rejected), ("API_DEPLOYED", EventResult::Applied)]);
    let built = served_after(step);
    assert_eq!((built.snapshot.revision, served(&built)), (13, vec!["a".to_owned(), "c".to_owned(), "d".to_owned()]));
    assert_eq!(built.rejected.len(), 1, "only the broken change's entity: {:?}", built.rejected);
    let outstanding: Vec<_> = built.outstanding.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(outstanding, ["bad", "a"]);
}

#[test]
fn the_state_image_rebuilds_what_is_served() {
    let (mut pipeline, _) = loaded(10, &[api("a", "/a"), api("b", "/b")]);
    let step = changes(
        &mut pipeline,
        16,
        &[
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
        ],
    );
    let built = served_after(step);
    let image = pipeline.image(&built, "default").unwrap_or_else(|| panic!("texts are kept"));
    let mirror = pipeline.mirror().unwrap_or_else(|| panic!("texts are kept"));
    assert_eq!(mirror.texts(EntityKind::KeyMapping).len(), 0, "the cascade went to the mirror");
    assert_eq!(mirror.texts(EntityKind::RevokedToken).len(), 2, "the expired revocation was pruned");
    let bytes = image.to_json().unwrap_or_default();
    let document = Document::from_json_with_text(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let mut restarted = Pipeline::new(true, ValidationSettings::default());
    let again = replace(&mut restarted, &document, image.revision, &image.rejected);
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
    let built = replace(&mut Pipeline::new(true, ValidationSettings::default()), &document, 3, &[]);
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
    let build =
        |document: Document| replace(&mut Pipeline::new(false, ValidationSettings::default()), &document, 5, &[]);
    let from_text = build(Document::from_json_with_text(&bytes).unwrap_or_else(|e| panic!("{e}")));
    let from_values = build(Document::from_json(&bytes).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(from_text.rejected, from_values.rejected);
    assert_eq!((served(&from_text), from_text.counts), (served(&from_values), from_values.counts));
    let named: Vec<_> = from_text.rejected.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(named, ["p", "t", "apis[3]", "b", "a"], "{:?}", from_text.rejected);
    assert!(from_text.rejected[1].error.contains("operations[0].secured"), "{:?}", from_text.rejected[1]);
}

#[test]
fn a_next_revision_is_built_only_when_something_changed() {
    let document = |apis: &[Value]| Document::from_json(&snapshot_json(1, apis)).unwrap_or_else(|e| panic!("{e}"));
    let mut pipeline = Pipeline::new(false, ValidationSettings::default());
    let first = pipeline.replace(&document(&[api("a", "/a"), broken("x")]), Revision::Next, NOW, &[]);
    assert_eq!(first.built.map(|built| built.snapshot.revision), Some(1), "the first set is revision 1");
    let same = pipeline.replace(&document(&[api("a", "/a"), broken("x")]), Revision::Next, NOW, &[]);
    assert!(same.built.is_none(), "the same set, its rejection included, is no new revision");
    assert_eq!(same.diff, ByKind::default());
    let fixed = pipeline.replace(&document(&[api("a", "/a")]), Revision::Next, NOW, &[]);
    assert_eq!(fixed.built.map(|built| built.snapshot.revision), Some(2), "a rejection withdrawn is news");
    let moved = pipeline.replace(&document(&[api("a", "/a2"), api("b", "/b")]), Revision::Next, NOW, &[]);
    assert_eq!(moved.diff[EntityKind::Api], Diff { added: 1, changed: 1, removed: 0 });
    assert_eq!(moved.built.map(|built| built.snapshot.revision), Some(3));
    let none = pipeline.changes(&[], Revision::Next, NOW);
    assert!(none.built.is_none() && none.results.is_empty());
    assert_eq!(pipeline.changes(&[], Revision::At(9), NOW).built.map(|b| b.snapshot.revision), Some(9));
}
