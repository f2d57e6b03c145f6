//! The control-plane source against the fake control plane of the test harness, in process:
//! snapshot, events, resyncs, failures and backoff, status reports, the last-known-good state.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prometheus::Registry;
use serde_json::{Value, json};
use tollgate_adapter::{
    AdapterMetrics, Applier, ControlPlaneSettings, ControlPlaneSource, ControlPlaneTasks, SourceKind,
};
use tollgate_tests::control_plane::ControlPlane;
use tollgate_tests::eventually;

use common::{applier_with, engine};

const SOON: Duration = Duration::from_secs(5);

fn api(id: &str) -> Value {
    json!({"id": id, "name": id, "version": "v1", "context": format!("/{id}"),
        "endpoints": {"production": {"urls": ["http://127.0.0.1:9"]}},
        "operations": [{"target": "/*", "verb": "*", "secured": false}]})
}

struct Running {
    applier: Arc<Applier>,
    registry: Registry,
    _tasks: ControlPlaneTasks,
}

fn settings(plane: &ControlPlane, state_dir: Option<&Path>) -> ControlPlaneSettings {
    let mut settings = ControlPlaneSettings::new(plane.url(), "default");
    settings.state_dir = state_dir.map(Path::to_owned);
    settings.wait = Duration::from_secs(2);
    settings.status_interval = Duration::from_secs(60);
    settings.gateway_id = "gw-1".into();
    settings
}

/// A source for `settings`, its state loaded, its tasks running.
fn start(settings: ControlPlaneSettings) -> (Running, Option<u64>) {
    tollgate_tests::install_crypto();
    let registry = Registry::new();
    let metrics = AdapterMetrics::register(&registry).unwrap_or_else(|e| panic!("{e}"));
    let applier = applier_with(SourceKind::ControlPlane, metrics);
    let engine = engine(&applier, settings.engine_settings());
    let mut source = ControlPlaneSource::new(settings, engine).unwrap_or_else(|e| panic!("{e}"));
    let loaded = source.load_state();
    let tasks = source.spawn().unwrap_or_else(|e| panic!("{e}"));
    (Running { applier, registry, _tasks: tasks }, loaded)
}

impl Running {
    fn revision(&self) -> Option<u64> {
        self.applier.store().load().map(|snapshot| snapshot.revision)
    }

    fn apis(&self) -> Vec<String> {
        let snapshot = self.applier.store().load();
        snapshot.map(|s| s.routes.apis().map(|api| api.id().to_string()).collect()).unwrap_or_default()
    }

    async fn reaches(&self, revision: u64) -> bool {
        eventually(SOON, async || self.revision() == Some(revision)).await
    }

    fn failures(&self, reason: &str) -> u64 {
        let families = self.registry.gather();
        let family = families.iter().find(|f| f.name() == "tollgate_config_sync_failures_total");
        let metrics = family.map(|family| family.get_metric().to_vec()).unwrap_or_default();
        let labelled = metrics.iter().find(|m| m.get_label().iter().any(|l| l.value() == reason));
        labelled.map_or(0, |m| m.get_counter().get_value() as u64)
    }
}

#[tokio::test]
async fn a_snapshot_then_events_apply_and_are_reported() {
    let plane = ControlPlane::start().await;
    plane.deploy(api("a"));
    let (gateway, loaded) = start(settings(&plane, None));
    assert_eq!(loaded, None);
    assert!(gateway.reaches(1).await, "the snapshot applies");
    plane.deploy(api("b"));
    plane.publish("SOMETHING_NEW", json!({}));
    let revision = plane.undeploy("a");
    assert!(gateway.reaches(revision).await);
    assert_eq!(gateway.apis(), ["b"]);
    let report = plane.status_matching(SOON, |s| s["revision"] == json!(revision)).await;
    let report = report.unwrap_or_else(|| panic!("no report of {revision}: {:?}", plane.statuses()));
    assert_eq!((report["gatewayId"].as_str(), report["environment"].as_str()), (Some("gw-1"), Some("default")));
    assert!(report["appliedAt"].as_str().is_some_and(|at| at.ends_with('Z')), "{report}");
    assert_eq!(gateway.applier.status().load().connected, Some(true));
}

#[tokio::test]
async fn gaps_and_410s_fetch_a_new_snapshot() {
    let plane = ControlPlane::start().await;
    plane.deploy(api("a"));
    let (gateway, _) = start(settings(&plane, None));
    assert!(gateway.reaches(1).await);
    plane.skip_revision();
    let revision = plane.deploy(api("b"));
    assert!(gateway.reaches(revision).await, "the gap is healed by a snapshot");
    assert_eq!(plane.snapshot_requests().0, 2);
    assert_eq!(gateway.failures("resync"), 1);
    // While the gateway cannot poll, the control plane moves on and forgets its log: the
    // next poll asks for events it no longer keeps.
    plane.down().await;
    let revision = plane.deploy(api("c"));
    plane.compact();
    plane.up().await;
    assert!(gateway.reaches(revision).await, "the 410 is healed by a snapshot");
    assert_eq!(gateway.apis(), ["a", "b", "c"]);
    assert!(gateway.failures("resync") >= 2);
}

#[tokio::test]
async fn failures_back_off_and_the_state_stays_served() {
    let plane = ControlPlane::start().await;
    plane.deploy(api("a"));
    let (gateway, _) = start(settings(&plane, None));
    assert!(gateway.reaches(1).await);
    plane.drop_next_polls(2);
    assert!(eventually(SOON, async || gateway.failures("network") >= 2).await, "dropped polls count as network");
    plane.fail_with(Some(503));
    assert!(eventually(SOON, async || gateway.failures("server") >= 2).await);
    assert_eq!((gateway.revision(), gateway.apis()), (Some(1), vec!["a".to_owned()]), "still served");
    let status = gateway.applier.status().load();
    assert_eq!(status.connected, Some(false));
    assert!(status.last_error.as_deref().is_some_and(|e| e.contains("503")), "{status:?}");
    let polls = plane.polls();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(plane.polls() - polls <= 3, "retries back off instead of hammering: {}", plane.polls() - polls);
    plane.fail_with(None);
    let revision = plane.deploy(api("b"));
    assert!(eventually(Duration::from_secs(40), async || gateway.revision() == Some(revision)).await);
}

#[tokio::test]
async fn a_wrong_token_is_counted_as_unauthorized() {
    let plane = ControlPlane::builder().token("right").start().await;
    let mut settings = settings(&plane, None);
    settings.token = Some("wrong".into());
    let (gateway, _) = start(settings);
    assert!(eventually(SOON, async || gateway.failures("unauthorized") >= 2).await);
    assert_eq!(gateway.revision(), None, "nothing served without a configuration");
    assert!(plane.unauthorized() >= 2);
}

#[tokio::test]
async fn a_restart_serves_the_last_known_good_state_and_revalidates_it() {
    let plane = ControlPlane::start().await;
    let state = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    plane.deploy(api("a"));
    let mut broken = api("bad");
    broken["context"] = json!("no-slash");
    plane.deploy(broken);
    let revision = plane.deploy(api("b"));
    {
        let (first, _) = start(settings(&plane, Some(state.path())));
        assert!(first.reaches(revision).await);
        let file = state.path().join("snapshot.json");
        let written = async || std::fs::read(&file).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        assert!(eventually(SOON, async || written().await.is_some_and(|s| s["revision"] == json!(revision))).await);
    }
    plane.down().await;
    let (second, loaded) = start(settings(&plane, Some(state.path())));
    assert_eq!(loaded, Some(revision), "served at once, before any network");
    assert_eq!((second.revision(), second.apis()), (Some(revision), vec!["a".to_owned(), "b".to_owned()]));
    let rejected = second.applier.status().load().rejected.clone();
    assert_eq!(rejected.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["bad"], "rejections survive");
    let reported_before = plane.statuses().len();
    plane.up().await;
    let revalidated = eventually(Duration::from_secs(20), async || plane.snapshot_requests().1 == 1).await;
    assert!(revalidated, "the restarted gateway asks with If-None-Match and gets a 304");
    assert!(eventually(Duration::from_secs(20), async || plane.statuses().len() > reported_before).await);
    let report = plane.statuses().pop().unwrap_or_default();
    assert_eq!((&report["revision"], &report["rejected"][0]["id"]), (&json!(revision), &json!("bad")), "{report}");
}

#[tokio::test]
async fn an_unreadable_snapshot_is_rejected_and_reported_while_the_state_stays_served() {
    let plane = ControlPlane::start().await;
    plane.deploy(api("a"));
    let (gateway, _) = start(settings(&plane, None));
    assert!(gateway.reaches(1).await);
    plane.corrupt_snapshot(true);
    plane.skip_revision();
    plane.deploy(api("b"));
    assert!(eventually(SOON, async || gateway.failures("decode") >= 1).await, "the gap's snapshot is unreadable");
    let rejected = gateway.applier.status().load().rejected.clone();
    assert_eq!(
        rejected.iter().map(|r| (r.entity.as_str(), r.id.as_str())).collect::<Vec<_>>(),
        [("document", "snapshot")]
    );
    let report = plane.status_matching(SOON, |s| s["rejected"][0]["entity"] == "document").await;
    assert!(report.is_some_and(|r| r["revision"] == json!(1)), "{:?}", plane.statuses());
    assert_eq!((gateway.revision(), gateway.apis()), (Some(1), vec!["a".to_owned()]), "still served");
    plane.corrupt_snapshot(false);
    let revision = plane.revision();
    assert!(eventually(Duration::from_secs(20), async || gateway.revision() == Some(revision)).await);
    assert!(gateway.applier.status().load().rejected.is_empty(), "the rejection goes with the next snapshot");
}
