//! control-plane.md end to end: the real gateway synced from the fake control plane of the
//! harness (snapshot, long-polled events, status reports), through its failures.

mod entities;
mod load;
mod resilience;
mod restart;
mod sync;
mod unknown_keys;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use tollgate_tests::control_plane::ControlPlane;
use tollgate_tests::{Client, GatewayProcess, GatewaySetup, Upstream, empty, eventually};

use crate::support::gateway;

/// How long a change on the control plane may take to show (generous for loaded CI machines;
/// the tests that measure promptness say so).
const SOON: Duration = Duration::from_secs(10);

/// An unsecured API `/<id>/v1` with every method on every path, to `upstream`.
fn api(id: &str, upstream: &Upstream) -> Value {
    json!({"id": id, "name": id, "version": "v1", "context": format!("/{id}"),
        "endpoints": {"production": {"urls": [upstream.url()]}},
        "operations": [{"target": "/*", "verb": "*", "secured": false}]})
}

/// An API that breaks model.md (a context without `/`, no operations).
fn broken_api(id: &str) -> Value {
    json!({"id": id, "name": id, "version": "v1", "context": "no-slash", "operations": []})
}

/// A gateway set up for `plane` with a state directory and a short long poll; `extra` are
/// more `[source]` lines. Returns the setup and its state directory.
fn setup(plane: &ControlPlane, extra: &str) -> (GatewaySetup, PathBuf) {
    let setup = gateway();
    let state_dir = setup.dir().join("state");
    let source = plane.source_config(&format!("state_dir = {state_dir:?}\nwait_seconds = 5\n{extra}"));
    (setup.config(&source), state_dir)
}

async fn start(plane: &ControlPlane, extra: &str) -> GatewayProcess {
    setup(plane, extra).0.start().await
}

/// An upstream, a control plane that deployed API `a` to it, and a gateway already serving
/// `/a/v1/` from that control plane: where the fault tests start.
struct ServingA {
    up: Upstream,
    plane: ControlPlane,
    gw: GatewayProcess,
    client: Client,
}

async fn serving_a() -> ServingA {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::start().await;
    plane.deploy(api("a", &up));
    let gw = start(&plane, "").await;
    let client = gw.client();
    assert!(answers(&client, "/a/v1/", 200).await);
    ServingA { up, plane, gw, client }
}

/// The status of `GET path` through the gateway (a new connection each time).
async fn status(client: &Client, path: &str) -> u16 {
    let request = client.request("GET", path).body(empty()).unwrap();
    client.send(request).await.map_or(0, |reply| reply.status.as_u16())
}

/// Waits until `GET path` answers `expected`.
async fn answers(client: &Client, path: &str, expected: u16) -> bool {
    eventually(SOON, async || status(client, path).await == expected).await
}

/// `GET /config` of the admin listener.
async fn config(gateway: &GatewayProcess) -> Value {
    gateway.admin().get("/config").await.json()
}

async fn ready(gateway: &GatewayProcess) -> bool {
    gateway.admin().get("/health/ready").await.status == 200
}

/// `tollgate_config_sync_failures_total{reason}`.
async fn sync_failures(gateway: &GatewayProcess, reason: &str) -> f64 {
    gateway.metric_sum("tollgate_config_sync_failures_total", &[("reason", reason)]).await
}
