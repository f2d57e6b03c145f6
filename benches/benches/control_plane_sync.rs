//! The control-plane source end to end, with the real gateway (release build) and the fake
//! control plane of the test harness, on loopback:
//! - time from start to serving a 10,000-API snapshot, and the resident memory (VmRSS) then,
//!   once settled (after two seconds of light traffic);
//! - event-to-routable latency: `API_DEPLOYED` events sent one at a time, each polled until
//!   it routes, with no other API loaded and with the 10,000 loaded (p50/p99).
//!
//! Needs `target/release/tollgate` (or `TOLLGATE_BIN`): `cargo build --release -p
//! tollgate-gateway`, then `cargo bench -p tollgate-benches --bench control_plane_sync`.
//! Targets: RSS ≤ 100 MB with 10k APIs, p99 ≤ 100 ms.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tollgate_benches::process::{gateway_binary, resident_memory_mb};
use tollgate_tests::control_plane::ControlPlane;
use tollgate_tests::{Client, GatewayProcess, GatewaySetup, Upstream, empty, eventually};

const APIS: usize = 10_000;
/// Events measured per run.
const EVENTS: usize = 200;

fn main() {
    let binary = gateway_binary();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let upstream = Upstream::start("up").await;
        latency("no other API loaded", &binary, &upstream, 0).await;
        latency("10,000 APIs loaded", &binary, &upstream, APIS).await;
    });
}

/// Starts a gateway on a control plane holding `base` APIs, reports its start and memory,
/// then the event-to-routable latency of [`EVENTS`] deployments.
async fn latency(label: &str, binary: &PathBuf, upstream: &Upstream, base: usize) {
    let plane = ControlPlane::start().await;
    plane.seed(&snapshot(base, upstream));
    let setup = GatewaySetup::new(binary);
    let state_dir = setup.dir().join("state");
    let source = plane.source_config(&format!("state_dir = {state_dir:?}\nwait_seconds = 30\n"));
    let started = Instant::now();
    let gateway = setup.config(&source).config("[log]\naccess = false\n").start().await;
    let ready = async || gateway.admin().get("/health/ready").await.status == 200;
    assert!(eventually(Duration::from_secs(120), ready).await, "the gateway did not become ready");
    let serving = started.elapsed();
    let (rss, peak) = settled_memory(&gateway, "/event-none/v1/items").await;
    println!(
        "control_plane_sync [{label}]: snapshot served {serving:.2?} after start; VmRSS {rss} MB (peak {peak} MB)"
    );

    let client = gateway.client();
    let mut samples = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        samples.push(deploy_and_wait(&plane, &client, upstream, i).await);
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    println!(
        "control_plane_sync [{label}]: event to routable over {EVENTS} API_DEPLOYED: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        at(0.50),
        at(0.99),
        samples[samples.len() - 1]
    );
    let (rss, peak) = settled_memory(&gateway, "/event0/v1/items").await;
    println!("control_plane_sync [{label}]: after the events VmRSS {rss} MB (peak {peak} MB)");
}

/// Publishes one API and polls it (one connection, back to back) until it routes.
async fn deploy_and_wait(plane: &ControlPlane, client: &Client, upstream: &Upstream, i: usize) -> Duration {
    let mut conn = client.connect().await.unwrap();
    let path = format!("/event{i}/v1/items");
    let start = Instant::now();
    plane.deploy(api(&format!("event{i}"), &format!("/event{i}"), upstream));
    loop {
        let request = client.request("GET", &path).body(empty()).unwrap();
        let Ok(reply) = conn.send(request).await else {
            conn = client.connect().await.unwrap();
            continue;
        };
        match reply.status.as_u16() {
            200 => return start.elapsed(),
            404 => {}
            other => panic!("{path}: unexpected {other}: {}", reply.text()),
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{path} never became routable");
    }
}

/// A snapshot of `count` APIs shaped like real ones, and an `Unauthenticated` tier that does
/// not throttle the polling.
fn snapshot(count: usize, upstream: &Upstream) -> Value {
    let apis: Vec<Value> = (0..count).map(|i| api(&format!("api-{i}"), &format!("/svc{i}"), upstream)).collect();
    let unlimited = json!({"kind": "subscription", "name": "Unauthenticated",
        "limit": {"requestCount": 1_000_000, "unitTime": 1, "timeUnit": "sec"}});
    json!({"apis": apis, "policies": [unlimited]})
}

fn api(id: &str, context: &str, upstream: &Upstream) -> Value {
    json!({
        "id": id, "name": id, "version": "v1", "context": context,
        "throttlingPolicy": "10KPerMin",
        "endpoints": {
            "production": {"urls": [upstream.url()], "timeoutMs": 10_000},
            "sandbox": {"urls": ["http://127.0.0.1:9002"], "retries": {"count": 2, "statusCodes": [502, 503]}}
        },
        "cors": {"allowOrigins": ["https://app.example.com"], "allowMethods": ["GET", "POST"]},
        "operations": [
            {"target": "/items", "verb": "GET", "secured": false},
            {"target": "/items", "verb": "POST", "scopes": ["items:write"]},
            {"target": "/items/{id}", "verb": "GET"},
            {"target": "/items/{id}", "verb": "DELETE", "scopes": ["items:admin"], "throttlingPolicy": "20KPerMin"},
            {"target": "/health", "verb": "GET", "secured": false},
            {"target": "/files/*", "verb": "*"}
        ]
    })
}

/// [`memory`] after two seconds of light traffic: a gateway in service, whose allocator has
/// had the activity it needs to return what the last build freed.
async fn settled_memory(gateway: &GatewayProcess, path: &str) -> (u64, u64) {
    let client = gateway.client();
    let mut conn = client.connect().await.unwrap();
    for _ in 0..100 {
        let _ = conn.send(client.request("GET", path).body(empty()).unwrap()).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    resident_memory_mb(gateway.pid())
}
