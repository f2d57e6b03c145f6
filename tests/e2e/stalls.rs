//! Clients and upstreams that stop moving: a stalled reader must not pin upstream
//! connections (`listener.send_timeout_ms`), a paused upstream must not hold a response
//! (`timeoutMs`), idle connections close (`listener.idle_timeout_ms`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tollgate_tests::{GatewayProcess, Upstream, empty, eventually};

use crate::support::{api, gateway};

/// A failure guard for things that must happen, never a measure of how fast they do.
const GUARD: Duration = Duration::from_secs(10);

/// A 256 KiB response, far beyond a zero window.
const BIG: u64 = 256 * 1024;

/// A TLS connection to the gateway's HTTPS listener offering `alpn` (none when empty).
pub(crate) async fn tls_connect(gw: &GatewayProcess, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    tollgate_tests::install_crypto();
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in CertificateDer::pem_slice_iter(gw.pki().ca_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(gw.https).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap()
}

/// An HTTP/2 connection (ALPN `h2`) whose streams start with `window` bytes of flow-control
/// window and never get more: nothing it receives is ever released.
async fn h2_connect(
    gw: &GatewayProcess,
    window: u32,
) -> (h2::client::SendRequest<Bytes>, h2::client::Connection<TlsStream<TcpStream>, Bytes>) {
    let tls = tls_connect(gw, &[b"h2"]).await;
    h2::client::Builder::new().initial_window_size(window).handshake(tls).await.unwrap()
}

fn h2_get(path: &str) -> http::Request<()> {
    http::Request::get(format!("https://localhost{path}")).body(()).unwrap()
}

/// A gateway whose connections only the idle timeout (300 ms) can close: the header
/// timeout is a minute.
async fn idle_gateway(up: &Upstream) -> tollgate_tests::GatewayProcess {
    let idle_only = "idle_timeout_ms = 300\nheader_read_timeout_ms = 60000";
    gateway().api_file("a.yaml", &big_api(up)).listener(idle_only).start().await
}

fn big_api(up: &Upstream) -> String {
    api("big", "/big", &[up.url()], &["GET /x"], "")
}

#[tokio::test]
async fn http2_streams_that_never_get_window_are_reset_and_their_upstreams_released() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &big_api(&up)).listener("send_timeout_ms = 300").start().await;
    let (mut send, conn) = h2_connect(&gw, 0).await;
    tokio::spawn(conn);
    let mut responses = Vec::new();
    for _ in 0..100 {
        send = send.ready().await.unwrap();
        let (response, _) = send.send_request(h2_get(&format!("/big/1.0.0/x?bytes={BIG}")), true).unwrap();
        responses.push(response);
    }
    for response in responses {
        let response = tokio::time::timeout(GUARD, response).await.unwrap().unwrap();
        assert_eq!(response.status(), 200, "the head is not flow-controlled");
        let ended = tokio::time::timeout(GUARD, response.into_body().data()).await;
        let reason = ended.expect("the stream was reset").and_then(|frame| frame.err()).and_then(|e| e.reason());
        assert_eq!(reason, Some(h2::Reason::CANCEL));
    }
    let released = eventually(GUARD, async || up.open_connections() == 0).await;
    assert!(released, "upstream connections still open: {}", up.open_connections());
    assert_eq!(up.requests(), 100);
    let other = gw.client().get(&format!("/big/1.0.0/x?bytes={BIG}")).await;
    assert_eq!((other.status.as_u16(), other.body.len() as u64), (200, BIG), "others are still served");
    let counted = gw.metric_sum("tollgate_connection_errors_total", &[("listener", "https"), ("kind", "send_timeout")]);
    assert_eq!(counted.await, 100.0);
}

#[tokio::test]
async fn an_http1_client_that_stops_reading_is_disconnected_and_its_upstream_released() {
    const HUGE: u64 = 32 * 1024 * 1024;
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &big_api(&up)).listener("send_timeout_ms = 300").start().await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(gw.http.unwrap()).await.unwrap();
    let request = format!("GET /big/1.0.0/x?bytes={HUGE} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let released = eventually(GUARD, async || up.requests() == 1 && up.open_connections() == 0).await;
    assert!(released, "the upstream connection is still held for the stalled client");
    let mut received = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(GUARD, tcp.read(&mut buf)).await.expect("the gateway closed the connection") {
            Ok(0) | Err(_) => break,
            Ok(n) => received += n as u64,
        }
    }
    assert!(received < HUGE, "the response was cut off ({received} bytes)");
    let counted = gw.metric_sum("tollgate_connection_errors_total", &[("listener", "http"), ("kind", "send_timeout")]);
    assert_eq!(counted.await, 1.0);
}

#[tokio::test]
async fn an_upstream_pausing_mid_body_longer_than_timeout_ms_is_cut_off_and_counted() {
    let up = Upstream::start("up").await;
    let doc = api("stall", "/stall", &[up.url()], &["GET /x"], "")
        .replace("        urls:", "        timeoutMs: 300\n        urls:");
    let gw = gateway().api_file("a.yaml", &doc).start().await;
    for client in [gw.client(), gw.client().http2()] {
        let request = client.request("GET", &format!("/stall/1.0.0/x?bytes={BIG}&stall_after=65536"));
        let sent = tokio::time::timeout(GUARD, client.send(request.body(empty()).unwrap())).await;
        let error = sent.expect("the response was not held").expect_err("the body was cut off");
        assert!(!error.is_empty());
    }
    let timeouts = gw.metric_sum("tollgate_upstream_errors_total", &[("api", "stall"), ("kind", "timeout")]).await;
    assert_eq!(timeouts, 2.0);
    let released = eventually(GUARD, async || up.open_connections() == 0).await;
    assert!(released, "the paused upstream's connection is still held");
}

#[tokio::test]
async fn an_idle_http1_connection_is_closed_but_not_while_a_request_is_in_flight() {
    let up = Upstream::start("up").await;
    let gw = idle_gateway(&up).await;
    let mut tcp = TcpStream::connect(gw.http.unwrap()).await.unwrap();
    // The upstream answers after longer than the idle timeout.
    tcp.write_all(b"GET /big/1.0.0/x?delay_ms=1000 HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(GUARD, tcp.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the idle keep-alive connection was closed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "the request in flight was answered: {answer}");
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_but_not_while_a_stream_is_open() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &big_api(&up)).listener("idle_timeout_ms = 300").start().await;
    let (mut send, conn) = h2_connect(&gw, 65_535).await;
    let conn = tokio::spawn(conn);
    let (response, _) = send.send_request(h2_get("/big/1.0.0/x?delay_ms=1000"), true).unwrap();
    let response = tokio::time::timeout(GUARD, response).await.unwrap().unwrap();
    assert_eq!(response.status(), 200, "the stream in flight was answered");
    let mut body = response.into_body();
    while let Some(data) = tokio::time::timeout(GUARD, body.data()).await.unwrap() {
        let data = data.unwrap();
        body.flow_control().release_capacity(data.len()).unwrap();
    }
    let ended = tokio::time::timeout(GUARD, conn).await;
    assert!(ended.is_ok(), "the idle HTTP/2 connection was closed");
    drop(send); // held until here: a client that drops every handle closes the connection itself
}

#[tokio::test]
async fn http2_announces_100_concurrent_streams_by_default() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &big_api(&up)).start().await;
    let (mut send, conn) = h2_connect(&gw, 65_535).await;
    let mut conn = Box::pin(conn);
    let (response, _) = send.send_request(h2_get("/big/1.0.0/x"), true).unwrap();
    tokio::select! {
        response = response => assert_eq!(response.unwrap().status(), 200),
        ended = conn.as_mut() => panic!("connection ended: {ended:?}"),
    }
    assert_eq!(conn.max_concurrent_send_streams(), 100);
}

#[tokio::test]
async fn an_idle_prior_knowledge_http2_connection_is_closed_after_the_idle_timeout() {
    let up = Upstream::start("up").await;
    let gw = idle_gateway(&up).await;
    let tcp = TcpStream::connect(gw.http.unwrap()).await.unwrap();
    let (send, conn) = h2::client::handshake(tcp).await.unwrap();
    let ended = tokio::time::timeout(GUARD, conn).await;
    assert!(ended.is_ok(), "the connection that never sent a request was closed as idle");
    drop(send);
}
