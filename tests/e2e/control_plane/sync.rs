//! The protocol's normal course: snapshot, events, resyncs, status reports.

use std::time::{Duration, Instant};

use serde_json::json;
use tollgate_tests::control_plane::ControlPlane;
use tollgate_tests::{Upstream, eventually};

use super::{SOON, ServingA, answers, api, config, serving_a, start, status, sync_failures};

#[tokio::test]
async fn a_deployed_api_is_routable_within_a_second_and_gone_once_undeployed() {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::start().await;
    plane.deploy(api("first", &up));
    let gw = start(&plane, "").await;
    let client = gw.client();
    assert!(answers(&client, "/first/v1/x", 200).await, "the snapshot is served");
    assert_eq!(status(&client, "/pets/v1/x").await, 404);
    let deployed = Instant::now();
    plane.deploy(api("pets", &up));
    let routable = eventually(Duration::from_secs(1), async || status(&client, "/pets/v1/x").await == 200).await;
    assert!(routable, "not routable within 1 s of API_DEPLOYED");
    eprintln!("event to routable: {:?}", deployed.elapsed());
    plane.undeploy("pets");
    assert!(answers(&client, "/pets/v1/x", 404).await, "API_UNDEPLOYED removes the route");
    assert_eq!(status(&client, "/first/v1/x").await, 200);
    let applied_at = gw.metric("tollgate_config_last_applied_timestamp_seconds").await.unwrap_or(0.0);
    assert!((applied_at - tollgate_tests::now() as f64).abs() < 60.0, "last applied at {applied_at}");
    assert_eq!(gw.metric("tollgate_config_revision").await, Some(plane.revision() as f64));
    let shown = config(&gw).await;
    assert_eq!(shown["revision"], json!(plane.revision()));
    assert_eq!((&shown["source"]["kind"], &shown["sync"]["state"]), (&json!("control-plane"), &json!("synced")));
    assert_eq!((&shown["sync"]["connected"], &shown["sync"]["entities"]["api"]), (&json!(true), &json!(1)));
}

#[tokio::test]
async fn unknown_event_types_are_skipped_logged_once_and_still_count() {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::start().await;
    let gw = start(&plane, "").await;
    let client = gw.client();
    assert!(eventually(SOON, async || super::ready(&gw).await).await);
    plane.publish("API_RENAMED", json!({"id": "x"}));
    plane.publish("API_RENAMED", json!({"id": "y"}));
    let revision = plane.deploy(api("after", &up));
    assert!(answers(&client, "/after/v1/", 200).await);
    assert_eq!(gw.metric("tollgate_config_revision").await, Some(revision as f64));
    let logs = gw.logs().stderr_text();
    assert_eq!(logs.matches("skipping events of an unknown type").count(), 1, "{logs}");
    let events =
        |kind: &str, result: &str| format!("tollgate_source_events_total{{result=\"{result}\",type=\"{kind}\"}}");
    assert_eq!(gw.metric(&events("unknown", "skipped")).await, Some(2.0), "counted as `unknown`, not as sent");
    assert_eq!(gw.metric(&events("API_DEPLOYED", "applied")).await, Some(1.0));
    assert_eq!(gw.metric(&events("API_DEPLOYED", "rejected")).await, Some(0.0));
}

#[tokio::test]
async fn a_gap_in_revisions_is_healed_by_a_new_snapshot() {
    let ServingA { up, plane, gw, client } = serving_a().await;
    plane.skip_revision();
    plane.deploy(api("b", &up));
    assert!(answers(&client, "/b/v1/", 200).await, "the event after the gap arrives by snapshot");
    assert_eq!(plane.snapshot_requests().0, 2, "one snapshot at start, one for the gap");
    assert_eq!(sync_failures(&gw, "resync").await, 1.0);
    assert!(gw.logs().stderr_text().contains("gap in the event stream"));
}

#[tokio::test]
async fn a_410_is_healed_by_a_new_snapshot() {
    let ServingA { up, plane, gw, client } = serving_a().await;
    // The control plane moves on and forgets its log while the gateway cannot poll.
    plane.down().await;
    plane.deploy(api("b", &up));
    plane.compact();
    plane.up().await;
    assert!(answers(&client, "/b/v1/", 200).await, "the 410 leads to a snapshot");
    assert!(sync_failures(&gw, "resync").await >= 1.0);
    assert!(gw.logs().stderr_text().contains("410 Gone"));
    assert_eq!(status(&client, "/a/v1/").await, 200);
}

#[tokio::test]
async fn status_reports_carry_the_revision_and_repeat() {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::start().await;
    let gw = start(&plane, "gateway_id = \"gw-e2e\"\nstatus_interval_seconds = 1\n").await;
    let revision = plane.deploy(api("a", &up));
    let report = plane.status_matching(SOON, |report| report["revision"] == json!(revision)).await;
    let report = report.unwrap_or_else(|| panic!("no report of revision {revision}: {:?}", plane.statuses()));
    assert_eq!((&report["gatewayId"], &report["environment"]), (&json!("gw-e2e"), &json!("default")));
    assert_eq!(report["rejected"], json!([]));
    assert!(report["appliedAt"].as_str().is_some_and(|at| at.len() == 20 && at.ends_with('Z')), "{report}");
    let repeated = async || plane.statuses().iter().filter(|r| r["revision"] == json!(revision)).count() >= 3;
    assert!(eventually(SOON, repeated).await, "a report at least every status_interval_seconds");
    drop(gw);
}

#[tokio::test]
async fn a_stalled_status_report_does_not_delay_applying_events() {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::start().await;
    let gw = start(&plane, "").await;
    let client = gw.client();
    assert!(plane.status_matching(SOON, |report| report["revision"] == json!(0)).await.is_some());
    plane.stall_status(true);
    for id in ["a", "b", "c"] {
        plane.deploy(api(id, &up));
        let routable = eventually(Duration::from_secs(2), async || status(&client, &format!("/{id}/v1/")).await == 200);
        assert!(routable.await, "{id} waits for no status report");
    }
    let reported = plane.statuses().len();
    plane.stall_status(false);
    let latest = plane.status_matching(SOON, |report| report["revision"] == json!(plane.revision())).await;
    assert!(latest.is_some(), "the latest revision is reported once the control plane answers again");
    assert!(plane.statuses().len() - reported <= 2, "stalled reports collapse into the latest: {:?}", plane.statuses());
}
