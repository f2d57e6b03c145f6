//! The engine driven by a fake source: updates in, snapshots served, state written,
//! outcomes notified, metrics counted.

use std::sync::mpsc;
use std::time::Duration;

use prometheus::Registry;
use serde_json::{Value, json};
use tollgate_enforcer::clock::ManualClock;
use tollgate_enforcer::{Enforcer, EnforcerMetrics, EnforcerSettings};
use tollgate_router::SnapshotStore;

use super::*;
use crate::dto::{Document, RawEntity};
use crate::kind::ByKind;
use crate::metrics::AdapterMetrics;
use crate::rejected::{EntityKind, Rejected};
use crate::status::{SourceKind, SyncState};

const NOW: u64 = 1_700_000_000;
const SOON: Duration = Duration::from_secs(5);

/// A source that is nothing but the updates it sends.
struct FakeSource {
    engine: EngineHandle,
    applier: Arc<Applier>,
    registry: Registry,
}

impl FakeSource {
    fn start(state_dir: Option<&std::path::Path>) -> Self {
        let registry = Registry::new();
        let metrics = AdapterMetrics::register(&registry).unwrap_or_else(|e| panic!("{e}"));
        let clock = ManualClock::at(NOW);
        let enforcer_metrics = EnforcerMetrics::unregistered().unwrap_or_else(|e| panic!("{e}"));
        let enforcer = Arc::new(Enforcer::new(EnforcerSettings::default(), clock.clone(), enforcer_metrics));
        let store = Arc::new(SnapshotStore::new());
        let applier = Arc::new(Applier::new(store, enforcer, metrics, clock, SourceKind::ControlPlane));
        let settings = EngineSettings {
            state_dir: state_dir.map(StateDir::new),
            environment: "default".into(),
            ..Default::default()
        };
        let engine = Engine::start(applier.clone(), settings).unwrap_or_else(|e| panic!("{e}"));
        FakeSource { engine, applier, registry }
    }

    fn served(&self) -> (Option<u64>, Vec<String>) {
        let snapshot = self.applier.store().load();
        let apis = snapshot.as_ref().map(|s| s.routes.apis().map(|api| api.id().to_string()).collect());
        (snapshot.map(|s| s.revision), apis.unwrap_or_default())
    }

    fn metric(&self, series: &str) -> bool {
        let text = prometheus::TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default();
        text.lines().any(|line| line == series)
    }
}

fn api(id: &str) -> Value {
    json!({"id": id, "name": id, "version": "v1", "context": format!("/{id}"),
        "endpoints": {"production": {"urls": ["http://127.0.0.1:9"]}},
        "operations": [{"target": "/*", "verb": "*"}]})
}

fn broken(id: &str) -> Value {
    json!({"id": id, "name": id, "version": "v1", "context": "no-slash", "operations": []})
}

fn set(apis: &[Value]) -> Document {
    Document { apis: apis.iter().cloned().map(RawEntity::new).collect(), ..Document::default() }
}

fn replace(revision: Revision, apis: &[Value]) -> Update {
    Update::Replace { revision, document: Box::new(set(apis)), in_force: Vec::new() }
}

fn ids(rejected: &[Rejected]) -> Vec<&str> {
    rejected.iter().map(|rejected| rejected.id.as_str()).collect()
}

#[tokio::test]
async fn a_whole_set_is_validated_built_swapped_and_reported() {
    let source = FakeSource::start(None);
    let outcome = source.engine.apply(replace(Revision::At(7), &[api("a"), broken("bad"), api("b")])).await;
    let Outcome::Serving { revision, rejected, diff } = outcome else { panic!("{outcome:?}") };
    assert_eq!((revision, ids(&rejected)), (7, vec!["bad"]));
    assert_eq!(diff[EntityKind::Api], Diff { added: 2, changed: 0, removed: 0 });
    assert_eq!(source.served(), (Some(7), vec!["a".to_owned(), "b".to_owned()]));
    let status = source.engine.status().load();
    assert_eq!((status.state, status.revision, status.entities[EntityKind::Api]), (SyncState::Synced, Some(7), 2));
    assert_eq!(ids(&status.rejected), ["bad"]);
    assert!(source.metric("tollgate_config_revision 7"));
    assert!(source.metric("tollgate_config_rejected_total{entity=\"api\"} 1"));
}

#[tokio::test]
async fn changes_apply_in_order_a_refused_one_keeps_the_previous_version() {
    let source = FakeSource::start(None);
    source.engine.apply(replace(Revision::At(1), &[api("a")])).await;
    let changes = vec![
        Change::upsert(EntityKind::Api, broken("a"), "message 1"),
        Change::upsert(EntityKind::Api, api("b"), "message 2"),
        Change::delete(EntityKind::Subscription, json!({}), "message 3"),
        Change::delete(EntityKind::RevokedToken, json!({"jti": "t"}), "message 4"),
    ];
    let outcome = source.engine.apply(Update::Changes { revision: Revision::Next, changes }).await;
    let Outcome::Serving { revision, rejected, diff } = outcome else { panic!("{outcome:?}") };
    assert_eq!((revision, ids(&rejected)), (2, vec!["a", "message 3", "message 4"]));
    assert_eq!(diff[EntityKind::Api].added, 1);
    assert_eq!(source.served(), (Some(2), vec!["a".to_owned(), "b".to_owned()]), "a's previous version stays");
    let a = source.applier.store().load().and_then(|s| s.routes.apis().next().map(|api| api.base_paths[0].to_string()));
    assert_eq!(a.as_deref(), Some("/a/v1"));
    assert!(source.metric("tollgate_source_events_total{result=\"applied\",type=\"API_DEPLOYED\"} 1"));
    assert!(source.metric("tollgate_source_events_total{result=\"rejected\",type=\"API_DEPLOYED\"} 1"));
    assert!(source.metric("tollgate_source_events_total{result=\"rejected\",type=\"SUBSCRIPTION_DELETED\"} 1"));
    assert!(source.metric("tollgate_source_events_total{result=\"rejected\",type=\"unknown\"} 1"));
}

#[tokio::test]
async fn the_engine_diffs_a_new_whole_set_against_what_is_served() {
    let source = FakeSource::start(None);
    let first = source.engine.apply(replace(Revision::Next, &[api("a"), api("b")])).await;
    assert_eq!(first.revision(), Some(1));
    let before = source.applier.store().load();
    let again = source.engine.apply(replace(Revision::Next, &[api("a"), api("b")])).await;
    assert_eq!(again, Outcome::Unchanged { revision: Some(1) });
    let after = source.applier.store().load();
    assert!(before.zip(after).is_some_and(|(before, after)| Arc::ptr_eq(&before, &after)), "nothing was swapped");
    let mut changed = api("b");
    changed["operations"] = json!([{"target": "/other", "verb": "GET"}]);
    let outcome = source.engine.apply(replace(Revision::Next, &[changed, api("c")])).await;
    let Outcome::Serving { revision, diff, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!((revision, diff[EntityKind::Api]), (2, Diff { added: 1, changed: 1, removed: 1 }));
    assert_eq!(
        diff.iter().filter(|(kind, _)| *kind != EntityKind::Api).map(|(_, d)| *d).collect::<Vec<_>>(),
        [Diff::default(); 6]
    );
    assert_eq!(source.served().1, ["b", "c"]);
}

#[tokio::test]
async fn the_notifier_fires_once_the_update_is_serving() {
    let source = FakeSource::start(None);
    let (seen, notified) = mpsc::channel();
    let store = source.applier.store().clone();
    let notify: Notify = Box::new(move |outcome| {
        // What a source acknowledging a message checks: the change is served already.
        let _ = seen.send((outcome, store.load().map(|snapshot| snapshot.revision)));
    });
    source.engine.submit(replace(Revision::At(3), &[api("a")]), Some(notify));
    let (outcome, serving) = notified.recv_timeout(SOON).unwrap_or_else(|e| panic!("not notified: {e}"));
    assert_eq!((outcome.revision(), serving), (Some(3), Some(3)));
    assert!(notified.recv_timeout(Duration::from_millis(1)).is_err(), "fired once");
    let unchanged = source.engine.apply_blocking(Update::Changes { revision: Revision::Next, changes: Vec::new() });
    assert_eq!(unchanged, Outcome::Unchanged { revision: Some(3) });
}

#[tokio::test]
async fn each_revision_is_written_and_a_restart_serves_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let source = FakeSource::start(Some(dir.path()));
    assert_eq!(source.engine.load_state(), None, "no state yet");
    source.engine.apply(replace(Revision::At(4), &[api("a"), broken("bad")])).await;
    let change = Change::upsert(EntityKind::Application, json!({"id": "app"}), "message 1");
    source.engine.apply(Update::Changes { revision: Revision::At(5), changes: vec![change] }).await;
    let state = StateDir::new(dir.path());
    let written = tollgate_tests::eventually(SOON, async || {
        state.load("default").ok().flatten().is_some_and(|saved| saved.revision == 5)
    });
    assert!(written.await, "revision 5 is written");
    drop(source);
    let restarted = FakeSource::start(Some(dir.path()));
    assert_eq!(restarted.engine.load_state(), Some(5));
    assert_eq!(restarted.served(), (Some(5), vec!["a".to_owned()]));
    let status = restarted.engine.status().load();
    assert_eq!((status.entities[EntityKind::Application], ids(&status.rejected)), (1, vec!["bad"]));
    assert!(restarted.metric("tollgate_config_rejected_total{entity=\"api\"} 0"), "in force, not counted again");
    let counts: ByKind<usize> = status.entities;
    assert_eq!(counts.total(), 2);
}
