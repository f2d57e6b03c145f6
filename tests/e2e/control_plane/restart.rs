//! The last-known-good state: written after each applied revision, served at once after a
//! restart with the control plane down, revalidated with `If-None-Match` once it is back.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tollgate_tests::control_plane::ControlPlane;
use tollgate_tests::{Upstream, eventually};

use super::{SOON, answers, api, broken_api, config, ready, setup, status};

#[tokio::test]
async fn a_gateway_restarted_without_the_control_plane_serves_its_last_known_good_state() {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::start().await;
    plane.deploy(api("a", &up));
    plane.deploy(broken_api("broken-v1"));
    let (setup, state_dir) = setup(&plane, "");
    let mut first = setup.start_again().await;
    let revision = plane.deploy(api("b", &up));
    assert!(answers(&first.client(), "/b/v1/", 200).await);
    let state_file = state_dir.join("snapshot.json");
    let saved = async || {
        let bytes = std::fs::read(&state_file).ok()?;
        serde_json::from_slice::<Value>(&bytes).ok().filter(|state| state["revision"] == json!(revision))
    };
    assert!(eventually(SOON, async || saved().await.is_some()).await, "the state is written after the revision");
    let state = saved().await.unwrap();
    assert_eq!(state["apis"].as_array().map(Vec::len), Some(2), "accepted APIs only: {state}");
    assert_eq!(state["rejected"][0]["id"], "broken-v1");
    first.stop().await;

    plane.down().await;
    let started = Instant::now();
    let second = setup.start_again().await;
    assert!(ready(&second).await, "ready at once, from the state directory");
    eprintln!("restart to ready: {:?}", started.elapsed());
    assert_eq!(status(&second.client(), "/a/v1/").await, 200);
    assert_eq!(status(&second.client(), "/b/v1/").await, 200);
    let shown = config(&second).await;
    assert_eq!(shown["revision"], json!(revision));
    assert_eq!(shown["sync"]["rejected"][0]["id"], "broken-v1", "the rejection in force is still shown");
    assert!(eventually(SOON, async || config(&second).await["sync"]["connected"] == json!(false)).await);

    let (snapshots, _) = plane.snapshot_requests();
    plane.up().await;
    let revalidated = async || plane.snapshot_requests() == (snapshots + 1, 1);
    assert!(eventually(Duration::from_secs(40), revalidated).await, "one snapshot request, answered 304");
    let synced = async || config(&second).await["sync"]["state"] == json!("synced");
    assert!(eventually(SOON, synced).await);
    let next = plane.deploy(api("c", &up));
    assert!(answers(&second.client(), "/c/v1/", 200).await, "events continue from the saved revision");
    assert_eq!(second.metric("tollgate_config_revision").await, Some(next as f64));
}

#[tokio::test]
async fn a_state_for_another_environment_is_not_served() {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::builder().environment("staging").start().await;
    plane.deploy(api("a", &up));
    let (setup, state_dir) = setup(&plane, "");
    let mut first = setup.start_again().await;
    assert!(answers(&first.client(), "/a/v1/", 200).await);
    assert!(eventually(SOON, async || state_dir.join("snapshot.json").exists()).await);
    first.stop().await;
    plane.down().await;
    let second = setup.env("TOLLGATE_SOURCE__ENVIRONMENT", "production").start().await;
    assert!(!ready(&second).await, "staging's state is not production's");
    let logs = second.logs().stderr_text();
    assert!(logs.contains("environment \"staging\", not \"production\""), "{logs}");
}
