//! model.md: the control-plane source ignores keys the model does not have (a newer control
//! plane may send more) and logs each key once per process.

use serde_json::{Value, json};
use tollgate_tests::control_plane::ControlPlane;
use tollgate_tests::{GatewayProcess, Upstream};

use super::{SOON, answers, api, config, start};

const LOGGED: &str = "ignoring a key the model does not have";

/// `api` with keys a newer control plane might send: on the Api and on its operation.
fn with_newer_keys(mut api: Value) -> Value {
    api["trafficMirror"] = json!({"percent": 5});
    api["operations"][0]["scope"] = json!(["admin"]);
    api
}

/// The log lines about unknown keys that name `key`.
fn logged(gw: &GatewayProcess, key: &str) -> usize {
    let logs = gw.logs().stderr_text();
    logs.lines().filter(|line| line.contains(LOGGED) && line.contains(key)).count()
}

#[tokio::test]
async fn unknown_keys_are_applied_as_absent_and_each_is_logged_once() {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::start().await;
    plane.deploy(with_newer_keys(api("a", &up)));
    let gw = start(&plane, "").await;
    let client = gw.client();
    assert!(answers(&client, "/a/v1/x", 200).await, "the snapshot with unknown keys applies");

    plane.deploy(with_newer_keys(api("b", &up)));
    plane.deploy(with_newer_keys(api("a", &up)));
    assert!(answers(&client, "/b/v1/x", 200).await, "the events with the same keys apply");
    assert!(config(&gw).await["sync"]["rejected"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(logged(&gw, "trafficMirror"), 1, "{}", gw.logs().stderr_text());
    assert_eq!(logged(&gw, "operations[].scope"), 1, "{}", gw.logs().stderr_text());
    assert!(gw.logs().stderr_text().contains("did you mean `scopes`?"));
    let applied = "tollgate_source_events_total{result=\"applied\",type=\"API_DEPLOYED\"}";
    assert!(tollgate_tests::eventually(SOON, async || gw.metric(applied).await == Some(2.0)).await);
}
