//! client.md, "Forwarding": upstream URL, forwarded headers, hop-by-hop headers, request
//! ids, streamed bodies both ways, WebSocket upgrades, HTTP/2 from clients.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tollgate_tests::{Upstream, empty, fnv, full, pattern_fnv};

use crate::support::{api, gateway};

const FIVE_MIB: usize = 5 * 1024 * 1024;

#[tokio::test]
async fn upstream_url_is_endpoint_plus_rest_plus_query_byte_for_byte() {
    let up = Upstream::start("up").await;
    let gw = gateway()
        .api_file(
            "a.yaml",
            &api("pets", "/petstore", &[format!("{}/v2", up.url())], &["GET /pets/{id}"], "isDefaultVersion: true"),
        )
        .start()
        .await;
    let reply = gw.client().get("/petstore/1.0.0/pets/7?x=1&q=%2F%20&flag").await;
    assert_eq!(reply.echo().target, "/v2/pets/7?x=1&q=%2F%20&flag");
    assert_eq!(gw.client().get("/petstore/pets/7").await.echo().target, "/v2/pets/7");
}

#[tokio::test]
async fn forwarded_headers_are_set_and_hop_by_hop_headers_dropped() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    let client = gw.client();
    let request = client
        .request("GET", "/petstore/1.0.0/pets")
        .header("x-forwarded-for", "203.0.113.9")
        .header("connection", "keep-alive, x-secret-hop")
        .header("x-secret-hop", "drop me")
        .header("keep-alive", "timeout=5")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("te", "trailers")
        .header("x-tollgate-application-id", "spoofed")
        .body(empty())
        .unwrap();
    let reply = client.send(request).await.unwrap();
    let echo = reply.echo();
    let seen = |name: &str| echo.headers.get(name).map(|v| v.join(","));
    assert_eq!(seen("host"), Some(up.addr.to_string()));
    assert_eq!(seen("x-forwarded-for"), Some("203.0.113.9, 127.0.0.1".into()));
    assert_eq!(seen("x-forwarded-proto"), Some("https".into()));
    assert_eq!(seen("x-forwarded-host"), Some(format!("localhost:{}", gw.https.port())));
    for hop in ["x-secret-hop", "keep-alive", "proxy-authorization", "te", "x-tollgate-application-id"] {
        assert_eq!(seen(hop), None, "{hop} reached the upstream");
    }
    let request_id = reply.header("x-request-id").unwrap().to_owned();
    assert_eq!(seen("x-request-id"), Some(request_id.clone()));
    assert_eq!(request_id.len(), 36, "a UUID");
    // Hop-by-hop headers of the upstream's response do not reach the client.
    assert_eq!(reply.header("x-hop"), None);
    assert_eq!(reply.header("keep-alive"), None);
    assert_eq!(reply.header("x-upstream"), Some("up"));
    // Plain listener: X-Forwarded-Proto http.
    let plain = gw.http_client().get("/petstore/1.0.0/pets").await;
    assert_eq!(plain.echo().headers.get("x-forwarded-proto").map(|v| v.join(",")), Some("http".into()));
}

#[tokio::test]
async fn a_client_request_id_is_kept() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    let client = gw.client();
    let request =
        client.request("GET", "/petstore/1.0.0/pets").header("x-request-id", "trace-42").body(empty()).unwrap();
    let reply = client.send(request).await.unwrap();
    assert_eq!(reply.header("x-request-id"), Some("trace-42"));
    assert_eq!(reply.echo().headers["x-request-id"], ["trace-42"]);
    // Gateway-made answers carry one too.
    assert_eq!(client.get("/nowhere").await.header("x-request-id").map(str::len), Some(36));
}

#[tokio::test]
async fn five_mebibytes_stream_each_way_over_http1_and_http2() {
    let up = Upstream::start("up").await;
    let gw = gateway()
        .api_file("a.yaml", &api("files", "/files", &[up.url()], &["POST /upload", "GET /download"], ""))
        .start()
        .await;
    let payload: Bytes = (0..FIVE_MIB).map(|i| (i % 253) as u8).collect::<Vec<_>>().into();
    for client in [gw.client(), gw.client().http2()] {
        let upload = client.request("POST", "/files/1.0.0/upload").body(full(payload.clone())).unwrap();
        let echo = client.send(upload).await.unwrap().echo();
        assert_eq!(echo.body_len, FIVE_MIB as u64);
        assert_eq!(echo.body_fnv, fnv(0xcbf2_9ce4_8422_2325, &payload));
        let download = client.get(&format!("/files/1.0.0/download?bytes={FIVE_MIB}")).await;
        assert_eq!(download.body.len(), FIVE_MIB);
        assert_eq!(fnv(0xcbf2_9ce4_8422_2325, &download.body), pattern_fnv(FIVE_MIB as u64));
    }
}

#[tokio::test]
async fn http2_clients_are_served_over_alpn() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    let mut conn = gw.client().http2().connect().await.unwrap();
    assert_eq!(conn.alpn.as_deref(), Some(&b"h2"[..]));
    for _ in 0..3 {
        let request = gw.client().http2().request("GET", "/petstore/1.0.0/pets").body(empty()).unwrap();
        let reply = conn.send(request).await.unwrap();
        assert_eq!((reply.status.as_u16(), reply.version), (200, http::Version::HTTP_2));
        assert_eq!(reply.echo().version, "HTTP/1.1", "upstream spoken to over HTTP/1.1");
    }
}

#[tokio::test]
async fn websocket_upgrades_are_proxied() {
    let up = Upstream::start("ws").await;
    let gw = gateway().api_file("a.yaml", &api("chat", "/chat", &[up.url()], &["GET /socket"], "")).start().await;
    let tls = tollgate_tests::tls_stream(gw.https, gw.pki().ca_pem(), "localhost").await;
    let url = format!("wss://localhost:{}/chat/1.0.0/socket", gw.https.port());
    let (mut ws, response) = tokio_tungstenite::client_async(url, tls).await.unwrap();
    assert_eq!(response.status(), 101);
    for text in ["hello", "through the gateway"] {
        ws.send(Message::text(text)).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), text);
    }
    ws.close(None).await.unwrap();
}
