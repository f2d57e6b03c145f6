//! HTTP/1.1 connections start on the lean server path, which serves bodiless requests itself
//! and hands the connection to hyper at the first request it does not: these tests hold a
//! connection through both, over the raw wire.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tollgate_tests::{Echo, GatewayProcess, Upstream};

use crate::support::{api, gateway};

async fn start(listener: &str) -> (Upstream, GatewayProcess) {
    let up = Upstream::start("up").await;
    let operations = ["GET /pets", "POST /pets", "GET /socket"];
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &operations, "")).listener(listener);
    (up, gw.start().await)
}

fn get(path: &str) -> String {
    format!("GET /petstore/1.0.0{path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

#[tokio::test]
async fn an_idle_keep_alive_connection_serves_again_and_closes_at_the_idle_timeout() {
    let (up, gw) = start("idle_timeout_ms = 500\nheader_read_timeout_ms = 60000").await;
    let mut wire = Wire::connect(&gw).await;
    for path in ["/pets?n=1", "/pets?n=2"] {
        wire.send(&get(path)).await;
        let (head, body) = wire.response().await;
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("\r\ndate: "), "{head}");
        assert!(!head.contains("connection: close"), "{head}");
        let echo: Echo = serde_json::from_slice(&body).unwrap();
        assert_eq!(echo.target, format!("/pets{}", &path[5..]));
    }
    assert!(wire.closed_quietly().await, "closed at the idle timeout, nothing sent");
    assert_eq!(up.requests(), 2);
}

#[tokio::test]
async fn pipelined_simple_requests_are_answered_in_order() {
    let (_up, gw) = start("").await;
    let mut wire = Wire::connect(&gw).await;
    let pair = [get("/pets?first"), get("/pets?second"), get("/nowhere")].concat();
    wire.send(&pair).await;
    for (status, target) in [(200, Some("/pets?first")), (200, Some("/pets?second")), (404, None)] {
        let (head, body) = wire.response().await;
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        if let Some(target) = target {
            assert_eq!(serde_json::from_slice::<Echo>(&body).unwrap().target, target);
        }
    }
}

#[tokio::test]
async fn a_request_with_a_body_after_a_simple_one_is_served_by_hyper_on_the_same_connection() {
    let (up, gw) = start("").await;
    let mut wire = Wire::connect(&gw).await;
    let post = "POST /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    // The simple request and the head of the next arrive together: the hand-over replays them.
    wire.send(&[get("/pets"), post.to_owned(), get("/pets?after")].concat()).await;
    let (head, _) = wire.response().await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let (head, body) = wire.response().await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let echo: Echo = serde_json::from_slice(&body).unwrap();
    assert_eq!((echo.method.as_str(), echo.body_len), ("POST", 5));
    let (head, body) = wire.response().await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(serde_json::from_slice::<Echo>(&body).unwrap().target, "/pets?after");
    assert_eq!(up.requests(), 3);
}

#[tokio::test]
async fn a_websocket_upgrade_after_a_simple_request_is_proxied() {
    let (_up, gw) = start("").await;
    let mut wire = Wire::connect(&gw).await;
    wire.send(&get("/pets")).await;
    let (head, _) = wire.response().await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let url = format!("ws://localhost:{}/petstore/1.0.0/socket", gw.http.unwrap().port());
    let (mut ws, response) = tokio_tungstenite::client_async(url, wire.tcp).await.unwrap();
    assert_eq!(response.status(), 101);
    ws.send(Message::text("over the handed-over connection")).await.unwrap();
    let echoed = ws.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_text().unwrap().as_str(), "over the handed-over connection");
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn http10_requests_close_unless_kept_alive_and_get_http10_answers() {
    let (_up, gw) = start("").await;
    let mut wire = Wire::connect(&gw).await;
    let kept = "GET /petstore/1.0.0/pets HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    wire.send(kept).await;
    let (head, _) = wire.response().await;
    assert!(head.starts_with("HTTP/1.0 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: keep-alive\r\n"), "{head}");
    wire.send("GET /petstore/1.0.0/pets HTTP/1.0\r\n\r\n").await;
    let (head, _) = wire.response().await;
    assert!(head.starts_with("HTTP/1.0 200 OK\r\n"), "{head}");
    assert!(wire.closed_quietly().await, "an HTTP/1.0 answer without keep-alive closes");
}

#[tokio::test]
async fn connection_close_is_answered_with_connection_close_and_the_connection_closes() {
    let (_up, gw) = start("").await;
    let mut wire = Wire::connect(&gw).await;
    let closing = "GET /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    wire.send(closing).await;
    let (head, _) = wire.response().await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    assert!(wire.closed_quietly().await);
}

/// A raw client connection that reads responses one at a time, keeping what follows.
struct Wire {
    tcp: TcpStream,
    received: Vec<u8>,
}

impl Wire {
    async fn connect(gw: &GatewayProcess) -> Wire {
        Wire { tcp: TcpStream::connect(gw.http.unwrap()).await.unwrap(), received: Vec::new() }
    }

    async fn send(&mut self, raw: &str) {
        self.tcp.write_all(raw.as_bytes()).await.unwrap();
    }

    /// The next response with a `Content-Length` body: its head (names in lower case) and body.
    async fn response(&mut self) -> (String, Vec<u8>) {
        let read = async {
            loop {
                if let Some(response) = self.take_response() {
                    return response;
                }
                let mut buf = [0u8; 4096];
                let n = self.tcp.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before a whole response: {}", String::from_utf8_lossy(&self.received));
                self.received.extend_from_slice(&buf[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read).await.expect("a response within 10 s")
    }

    fn take_response(&mut self) -> Option<(String, Vec<u8>)> {
        let end = self.received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&self.received[..end]);
        let (status_line, fields) = head.split_once("\r\n").unwrap();
        let head = format!("{status_line}\r\n{}", fields.to_ascii_lowercase());
        assert!(!head.contains("transfer-encoding"), "{head}");
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map_or(0, |value| value.trim().parse::<usize>().unwrap());
        if self.received.len() < end + length {
            return None;
        }
        let body = self.received[end..end + length].to_vec();
        self.received.drain(..end + length);
        Some((head, body))
    }

    /// Waits for the gateway to close the connection; `true` if it sent nothing more.
    async fn closed_quietly(mut self) -> bool {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(10), self.tcp.read_to_end(&mut rest)).await;
        matches!(closed, Ok(Ok(0))) && self.received.is_empty()
    }
}
