//! A gateway driven through every situation operator.md has a metric for, then scraped.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tollgate_tests::{GatewayProcess, Issuer, SigningKey, Upstream, empty, eventually};

use super::exposition::Exposition;
use crate::support::gateway;

/// What a scrape after [`scrape_after_traffic`] may contain as label values.
pub(super) const API_NAMES: &[&str] = &["Pets", "Down", "Slow", ""];
pub(super) const KEY_MANAGER: &str = "km";
/// A path requested once: it must not become a label value.
pub(super) const STRAY_PATH: &str = "/no-such-api-7f3a9c";

/// The scrape, and the secrets that must not appear in it.
pub(super) struct Scraped {
    pub text: String,
    pub exposition: Exposition,
    pub token: String,
}

/// Starts a gateway with a secured API (JWKS from a real issuer, a 1-a-minute subscription),
/// an API whose upstream refuses connections, one whose upstream is too slow, and a rejected
/// document; sends a request of each kind plus a failed TLS handshake; breaks the file source;
/// then scrapes `/metrics`.
pub(super) async fn scrape_after_traffic() -> Scraped {
    let key = SigningKey::ec256("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let upstream = Upstream::start("up").await;
    let closed = closed_port().await;
    let gw = gateway()
        .api_file("apis.yaml", &apis(&upstream.url(), closed, &issuer.key_manager_yaml(KEY_MANAGER, "")))
        .api_file("broken.yaml", "apis:\n  - {id: broken, name: Broken, version: \"1\", context: nope, endpoints: {production: {urls: [\"http://x\"]}}, operations: [{target: /a, verb: GET}]}\n")
        .start()
        .await;
    let token = key.sign(&issuer.claims(json!({"azp": "ck-1"})));
    send_every_kind_of_request(&gw, &token).await;
    break_the_file_source(&gw).await;
    let text = gw.admin().get("/metrics").await.text();
    Scraped { exposition: Exposition::parse(&text), text, token }
}

async fn send_every_kind_of_request(gw: &GatewayProcess, token: &str) {
    let client = gw.client();
    let bearer = |method: &str, path: &str| {
        client.request(method, path).header("authorization", format!("Bearer {token}")).body(empty()).unwrap()
    };
    let expectations = [
        (client.request("GET", "/pets/1/items").body(empty()).unwrap(), 401),
        (bearer("GET", "/pets/1/items"), 200),
        (bearer("GET", "/pets/1/items"), 429),
        (bearer("FOOBAR", "/pets/1/items"), 405),
        (client.request("GET", "/down/1/x").body(empty()).unwrap(), 503),
        (client.request("GET", "/slow/1/x?delay_ms=3000").body(empty()).unwrap(), 504),
        (client.request("GET", STRAY_PATH).body(empty()).unwrap(), 404),
    ];
    for (request, status) in expectations {
        let target = format!("{} {}", request.method(), request.uri());
        let reply = client.send(request).await.unwrap();
        assert_eq!(reply.status, status, "{target}: {}", reply.text());
    }
    assert_eq!(gw.http_client().get(STRAY_PATH).await.status, 404, "plain listener");
    // Plain text on the TLS port: a failed handshake.
    let mut tcp = tokio::net::TcpStream::connect(gw.https).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut Vec::new())).await;
    let counted = eventually(Duration::from_secs(5), async || {
        gw.metric("tollgate_tls_handshake_failures_total").await >= Some(1.0)
    });
    assert!(counted.await, "the failed handshake was not counted");
}

/// Moves the watched directory away: the next load fails (`reason="io"`); the gateway keeps
/// serving what it had.
async fn break_the_file_source(gw: &GatewayProcess) {
    std::fs::rename(gw.dir.join("apis"), gw.dir.join("apis.moved")).unwrap();
    let failed = eventually(Duration::from_secs(10), async || {
        gw.metric_sum("tollgate_config_sync_failures_total", &[]).await >= 1.0
    });
    assert!(failed.await, "a failed file-source load was not counted");
}

/// A port nothing listens on (connections are refused).
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn apis(upstream: &str, closed: u16, key_manager: &str) -> String {
    let unsecured = |id: &str, name: &str, endpoint: &str| {
        format!(
            "  - id: {id}\n    name: {name}\n    version: \"1\"\n    context: /{id}\n    endpoints:\n      production:\n{endpoint}    operations:\n      - {{target: \"/*\", verb: GET, secured: false}}\n"
        )
    };
    let mut yaml = format!(
        "apis:\n  - id: pets\n    name: Pets\n    version: \"1\"\n    context: /pets\n    endpoints:\n      production:\n        urls: [\"{upstream}\"]\n    operations:\n      - {{target: /items, verb: GET}}\n"
    );
    yaml += &unsecured(
        "down",
        "Down",
        &format!("        urls: [\"http://127.0.0.1:{closed}\"]\n        connectTimeoutMs: 1000\n"),
    );
    yaml += &unsecured("slow", "Slow", &format!("        urls: [\"{upstream}\"]\n        timeoutMs: 300\n"));
    yaml += key_manager;
    yaml += "applications:\n  - {id: app-1, name: App1}\n";
    yaml += &format!(
        "keyMappings:\n  - {{applicationId: app-1, consumerKey: ck-1, keyType: PRODUCTION, keyManager: {KEY_MANAGER}}}\n"
    );
    yaml +=
        "subscriptions:\n  - {id: s1, apiId: pets, applicationId: app-1, policy: OnePerMinute, status: UNBLOCKED}\n";
    yaml += "policies:\n  - {kind: subscription, name: OnePerMinute, limit: {requestCount: 1, unitTime: 1, timeUnit: min}}\n";
    yaml
}
