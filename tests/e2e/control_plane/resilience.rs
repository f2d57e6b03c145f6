//! The control plane fails, refuses, disappears: the gateway keeps serving what it has, backs
//! off, says why, and catches up.

use std::time::Duration;

use serde_json::json;
use tollgate_tests::control_plane::ControlPlane;
use tollgate_tests::{Upstream, eventually};

use super::{SOON, ServingA, answers, api, config, ready, serving_a, setup, start, status, sync_failures};
use crate::support::gateway;

#[tokio::test]
async fn serving_continues_while_the_control_plane_fails_or_is_down_and_sync_resumes() {
    let ServingA { up, plane, gw, client } = serving_a().await;

    plane.drop_next_polls(1);
    assert!(eventually(SOON, async || sync_failures(&gw, "network").await >= 1.0).await, "a poll dropped mid-way");
    plane.fail_with(Some(503));
    assert!(eventually(SOON, async || sync_failures(&gw, "server").await >= 1.0).await, "5xx are counted");
    let shown = config(&gw).await;
    assert_eq!((&shown["sync"]["state"], &shown["sync"]["connected"]), (&json!("error"), &json!(false)), "{shown}");
    assert!(shown["sync"]["lastError"].as_str().is_some_and(|e| e.contains("503")), "{shown}");
    assert_eq!(status(&client, "/a/v1/").await, 200, "still served");
    assert!(ready(&gw).await, "still ready: what is served is a configuration");

    plane.fail_with(None);
    plane.down().await;
    let revision = plane.deploy(api("b", &up));
    assert!(eventually(SOON, async || sync_failures(&gw, "network").await >= 2.0).await);
    assert_eq!(status(&client, "/a/v1/").await, 200, "served while the control plane is down");
    plane.up().await;
    assert!(eventually(Duration::from_secs(40), async || status(&client, "/b/v1/").await == 200).await, "caught up");
    let shown = config(&gw).await;
    assert_eq!(shown["revision"], json!(revision));
    assert_eq!((&shown["sync"]["state"], &shown["sync"]["connected"]), (&json!("synced"), &json!(true)), "{shown}");
    let logs = gw.logs().stderr_text();
    let failures: Vec<&str> = logs.lines().filter(|line| line.contains("configuration sync failed")).collect();
    assert!(failures.iter().any(|line| line.contains("server") && line.contains("503")), "{logs}");
    assert!(
        failures.iter().any(|line| line.contains("network") && line.contains("onnect")),
        "the cause is logged: {logs}"
    );
}

#[tokio::test]
async fn a_refused_token_is_retried_with_backoff_logged_counted_and_never_shown() {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::builder().token("the-right-token").start().await;
    plane.deploy(api("a", &up));
    plane.set_token(Some("the-right-token"));
    let (setup, _) = setup(&plane, "");
    let gw = setup.env("TOLLGATE_SOURCE__TOKEN", "a-wrong-token").start().await;
    assert!(eventually(SOON, async || sync_failures(&gw, "unauthorized").await >= 2.0).await);
    let refused = plane.unauthorized();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(plane.unauthorized() - refused <= 3, "backed off: {} more in 1.5 s", plane.unauthorized() - refused);
    assert!(!ready(&gw).await, "no configuration yet");
    assert_eq!(gw.client().get("/a/v1/").await.code(), "102500");
    let logs = gw.logs().stderr_text();
    assert!(logs.contains("401"), "the status is logged: {logs}");
    let shown = config(&gw).await.to_string();
    assert!(!logs.contains("a-wrong-token") && !shown.contains("a-wrong-token"), "the token is never shown");
    plane.set_token(Some("a-wrong-token"));
    assert!(eventually(Duration::from_secs(40), async || ready(&gw).await).await, "accepted once the token is right");
    assert_eq!(status(&gw.client(), "/a/v1/").await, 200);
}

#[tokio::test]
async fn without_state_or_control_plane_the_gateway_is_not_ready_until_the_control_plane_comes_up() {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::start().await;
    plane.deploy(api("a", &up));
    plane.down().await;
    let gw = start(&plane, "").await;
    assert!(!ready(&gw).await);
    let reply = gw.client().get("/a/v1/").await;
    assert_eq!((reply.status.as_u16(), reply.code()), (503, "102500".to_owned()));
    assert!(eventually(SOON, async || sync_failures(&gw, "network").await >= 2.0).await, "retrying");
    assert_eq!(config(&gw).await["sync"]["state"], "error");
    plane.up().await;
    assert!(eventually(Duration::from_secs(40), async || ready(&gw).await).await, "ready once it comes up");
    assert_eq!(status(&gw.client(), "/a/v1/").await, 200);
}

#[tokio::test]
async fn tls_to_the_control_plane_with_a_client_certificate() {
    let up = Upstream::start("up").await;
    let setup = gateway();
    let dir = setup.dir().to_owned();
    let ca = dir.join("cp-ca.pem");
    std::fs::write(&ca, setup.pki().ca_pem()).unwrap();
    let (client_cert, client_key) = setup.pki().issue(&["tollgate-gateway"]).write(&dir, "cp-client");
    let server = setup.pki().issue(&["127.0.0.1", "localhost"]);
    let plane = ControlPlane::builder().tls(server, Some(setup.pki().ca_pem())).start().await;
    plane.deploy(api("a", &up));
    assert!(plane.url().starts_with("https://"));
    let files = format!("ca_file = {ca:?}\nclient_cert = {client_cert:?}\nclient_key = {client_key:?}\n");
    let gw = setup.config(&plane.source_config(&files)).start().await;
    assert!(answers(&gw.client(), "/a/v1/", 200).await, "synced over mutual TLS");

    let without = gateway().config(&plane.source_config(&format!("ca_file = {ca:?}\n"))).start().await;
    assert!(eventually(SOON, async || sync_failures(&without, "network").await >= 1.0).await);
    assert!(!ready(&without).await, "the control plane refuses a gateway without a certificate");
    assert_eq!(plane.snapshot_requests().0, 1, "only the gateway with the certificate got through");
}
