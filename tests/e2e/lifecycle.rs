//! Running the gateway: readiness, metrics after traffic, the access log, graceful shutdown.

use std::time::Duration;

use tollgate_tests::{Upstream, eventually};

use crate::support::{api, gateway};

#[tokio::test]
async fn ready_and_live_once_configured() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    assert_eq!(gw.admin().get("/health/live").await.status, 200);
    assert_eq!(gw.admin().get("/health/ready").await.status, 200);
    let config = gw.admin().get("/config").await.json();
    assert_eq!(config["source"]["kind"], "file");
    assert!(config["revision"].as_u64().is_some(), "{config}");
}

#[tokio::test]
async fn metrics_are_exported_after_traffic() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    let client = gw.client();
    for _ in 0..3 {
        assert_eq!(client.get("/petstore/1.0.0/pets").await.status, 200);
    }
    assert_eq!(client.get("/nowhere").await.status, 404);
    let series = "tollgate_requests_total{api=\"pets\",code=\"200\",method=\"GET\",version=\"1.0.0\"}";
    assert!(eventually(Duration::from_secs(5), async || gw.metric(series).await == Some(3.0)).await);
    assert_eq!(
        gw.metric("tollgate_requests_total{api=\"\",code=\"404\",method=\"GET\",version=\"\"}").await,
        Some(1.0)
    );
    let text = gw.admin().get("/metrics").await.text();
    for name in [
        "tollgate_request_duration_seconds_bucket",
        "tollgate_upstream_duration_seconds_bucket",
        "tollgate_connections_active{listener=\"https\"}",
        "tollgate_config_revision 1",
        "tollgate_config_entities{kind=\"api\"} 1",
        "tollgate_tls_certificate_expiry_timestamp_seconds",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    assert!(text.contains("tollgate_tls_handshake_failures_total"));
    assert!(text.contains("tollgate_config_rejected_total") || !text.contains("rejected"), "declared");
}

#[tokio::test]
async fn one_json_access_log_line_per_request() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    let reply = gw.client().get("/petstore/1.0.0/pets?secret=no").await;
    let id = reply.header("x-request-id").unwrap().to_owned();
    let logs = gw.logs();
    assert!(eventually(Duration::from_secs(5), async || logs.stdout_lines().iter().any(|l| l.contains(&id))).await);
    let line = logs.stdout_lines().into_iter().find(|l| l.contains(&id)).unwrap();
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    for field in [
        "timestamp",
        "request_id",
        "method",
        "path",
        "host",
        "status",
        "api",
        "version",
        "application",
        "upstream",
        "duration_ms",
        "upstream_ms",
        "bytes_in",
        "bytes_out",
        "client_ip",
    ] {
        assert!(entry.get(field).is_some(), "{field} missing: {line}");
    }
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["path"], "/petstore/1.0.0/pets");
    assert_eq!(entry["api"], "pets");
    assert!(entry["bytes_out"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn shutdown_drains_then_lets_in_flight_requests_finish() {
    drains_then_finishes_in_flight_requests("2").await;
}

/// One worker thread runs on tokio's current-thread scheduler: the same serving and draining.
#[tokio::test]
async fn one_worker_thread_serves_and_drains_alike() {
    drains_then_finishes_in_flight_requests("1").await;
}

async fn drains_then_finishes_in_flight_requests(worker_threads: &str) {
    let up = Upstream::start("up").await;
    let mut gw = gateway()
        .api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], ""))
        .config("[shutdown]\ndrain_seconds = 2\ntimeout_seconds = 10")
        .env("TOKIO_WORKER_THREADS", worker_threads)
        .start()
        .await;
    let client = gw.client();
    let in_flight = tokio::spawn(async move { client.get("/petstore/1.0.0/pets?delay_ms=3000").await });
    assert!(eventually(Duration::from_secs(5), async || up.requests() == 1).await);
    gw.signal("TERM");
    let admin = gw.admin();
    assert!(
        eventually(Duration::from_secs(2), async || admin.get("/health/ready").await.status == 503).await,
        "not ready at once"
    );
    assert_eq!(gw.client().get("/petstore/1.0.0/pets").await.status, 200, "still serving while draining");
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, 200, "the in-flight request finished");
    let status = gw.wait(Duration::from_secs(20)).await.expect("exited");
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn idle_http2_connections_get_goaway_on_shutdown() {
    let up = Upstream::start("up").await;
    let mut gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    let mut conn = gw.client().http2().connect().await.unwrap();
    let request = gw.client().http2().request("GET", "/petstore/1.0.0/pets").body(tollgate_tests::empty()).unwrap();
    assert_eq!(conn.send(request).await.unwrap().status, 200);
    let status = gw.stop().await;
    assert_eq!(status.code(), Some(0));
    assert!(eventually(Duration::from_secs(5), async || conn.is_closed()).await, "the connection was closed");
}
