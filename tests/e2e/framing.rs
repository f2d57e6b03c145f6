//! Malformed and hostile requests: oversized headers, ambiguous framing, slow clients.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tollgate_tests::{Upstream, empty};

use crate::stalls::tls_connect;
use crate::support::{api, gateway};

#[tokio::test]
async fn headers_over_64_kib_in_total_are_431() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    for client in [gw.client(), gw.client().http2()] {
        let mut request = client.request("GET", "/petstore/1.0.0/pets");
        for i in 0..9 {
            request = request.header(format!("x-filler-{i}"), "f".repeat(8 * 1024));
        }
        let reply = client.send(request.body(empty()).unwrap()).await.unwrap();
        assert_eq!((reply.status.as_u16(), reply.code()), (431, "431".into()));
        let fine = client.request("GET", "/petstore/1.0.0/pets").header("x-filler", "f".repeat(32 * 1024));
        assert_eq!(client.send(fine.body(empty()).unwrap()).await.unwrap().status, 200);
    }
    assert_eq!(up.requests(), 2);
}

#[tokio::test]
async fn content_length_with_transfer_encoding_is_400() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["POST /pets"], "")).start().await;
    let mut tcp = tokio::net::TcpStream::connect(gw.http.unwrap()).await.unwrap();
    let smuggle = "POST /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    tcp.write_all(smuggle.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut answer)).await.unwrap().unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"code\":\"400\""), "{answer}");
    assert_eq!(up.requests(), 0);
    // Also over TLS, with the headers in the other order and a keep-alive request first.
    let mut tls = tollgate_tests::tls_stream(gw.https, gw.pki().ca_pem(), "localhost").await;
    let fine = "GET /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let smuggle = "POST /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n";
    tls.write_all(format!("{fine}{smuggle}").as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    let statuses: Vec<&str> = answer.match_indices("HTTP/1.1 ").map(|(at, _)| &answer[at + 9..at + 12]).collect();
    assert_eq!(statuses, ["405", "400"], "{answer}");
}

#[tokio::test]
async fn more_than_one_host_header_is_400() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    let client = gw.client();
    let mut request = client.request("GET", "/petstore/1.0.0/pets").body(empty()).unwrap();
    request.headers_mut().append("host", http::HeaderValue::from_static("evil.example"));
    let reply = client.send(request).await.unwrap();
    assert_eq!((reply.status.as_u16(), reply.code()), (400, "400".into()));
    assert_eq!(up.requests(), 0);
}

/// Sends `raw` on a new plain connection; returns the first answer.
async fn answer_to(gw: &tollgate_tests::GatewayProcess, raw: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(gw.http.unwrap()).await.unwrap();
    tcp.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut answer)).await.unwrap().unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test]
async fn an_http11_request_without_host_is_400_and_http10_may_omit_it() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    let answer = answer_to(&gw, "GET /petstore/1.0.0/pets HTTP/1.1\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("\"code\":\"400\""), "{answer}");
    assert_eq!(up.requests(), 0);
    let answer = answer_to(&gw, "GET /petstore/1.0.0/pets HTTP/1.0\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_transfer_coding_other_than_chunked_is_501() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["POST /pets"], "")).start().await;
    for coding in ["gzip, chunked", "deflate,chunked"] {
        let raw = format!(
            "POST /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: {coding}\r\n\r\n0\r\n\r\n"
        );
        let answer = answer_to(&gw, &raw).await;
        assert!(answer.starts_with("HTTP/1.1 501") && answer.contains("\"code\":\"501\""), "{coding}: {answer}");
    }
    assert_eq!(up.requests(), 0, "the coding was never dropped on the way upstream");
    let chunked =
        "POST /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert!(answer_to(&gw, chunked).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let up = Upstream::start("up").await;
    let gw = gateway()
        .api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], ""))
        .listener("header_read_timeout_ms = 300")
        .start()
        .await;
    let mut tcp = tokio::net::TcpStream::connect(gw.http.unwrap()).await.unwrap();
    tcp.write_all(b"GET /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.unwrap();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(_)) | Ok(Err(_))), "the gateway closed the slow connection");
    assert_eq!(up.requests(), 0);
    let labels = [("listener", "http"), ("kind", "header_timeout")];
    assert_eq!(gw.metric_sum("tollgate_connection_errors_total", &labels).await, 1.0);
}

#[tokio::test]
async fn a_connection_that_chose_h2_does_not_serve_http1_requests() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["POST /pets"], "")).start().await;
    let mut tls = tls_connect(&gw, &[b"h2"]).await;
    let smuggle = "POST /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    tls.write_all(smuggle.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the gateway ended the connection (a connection error)");
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.contains("HTTP/1.1"), "answered as HTTP/1.1: {answer}");
    assert_eq!(up.requests(), 0, "nothing was proxied");
}

#[tokio::test]
async fn a_tls_connection_without_alpn_h2_does_not_serve_http2() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "")).start().await;
    for alpn in [&[&b"http/1.1"[..]][..], &[]] {
        let tls = tls_connect(&gw, alpn).await;
        let answered = async {
            let (mut send, conn) = h2::client::handshake(tls).await?;
            tokio::spawn(conn);
            let request = http::Request::get("https://localhost/petstore/1.0.0/pets").body(()).unwrap();
            let (response, _) = send.send_request(request, true)?;
            response.await
        };
        let answered = tokio::time::timeout(Duration::from_secs(10), answered).await.expect("the gateway answered");
        assert!(answered.is_err(), "served as HTTP/2 after ALPN {alpn:?}");
    }
    assert_eq!(up.requests(), 0);
    let counted = tollgate_tests::eventually(Duration::from_secs(10), async || {
        let labels = [("listener", "https"), ("kind", "protocol")];
        gw.metric_sum("tollgate_connection_errors_total", &labels).await == 2.0
    });
    assert!(counted.await, "both connections counted as protocol errors");
}

#[tokio::test]
async fn more_header_fields_than_the_limit_are_431_with_the_json_body() {
    let up = Upstream::start("up").await;
    let pets = api("pets", "/petstore", &[up.url()], &["GET /pets"], "");
    let gw = gateway().api_file("a.yaml", &pets).start().await;
    let limited = gateway().api_file("a.yaml", &pets).listener("max_header_count = 20").start().await;
    let with_fields = |client: &tollgate_tests::Client, fields: usize| {
        let mut request = client.request("GET", "/petstore/1.0.0/pets");
        for i in 0..fields {
            request = request.header(format!("x-field-{i}"), "1");
        }
        request.body(empty()).unwrap()
    };
    for client in [gw.client(), gw.client().http2()] {
        for fields in [101, 400, 1000] {
            let reply = client.send(with_fields(&client, fields)).await.unwrap();
            assert_eq!((reply.status.as_u16(), reply.code()), (431, "431".into()), "{fields} fields");
        }
        assert_eq!(client.send(with_fields(&client, 90)).await.unwrap().status, 200);
    }
    for client in [limited.client(), limited.client().http2()] {
        let reply = client.send(with_fields(&client, 25)).await.unwrap();
        assert_eq!((reply.status.as_u16(), reply.code()), (431, "431".into()));
        assert_eq!(client.send(with_fields(&client, 10)).await.unwrap().status, 200);
    }
    assert_eq!(up.requests(), 4);
}

#[tokio::test]
async fn a_malformed_chunked_body_is_400_and_not_counted_as_an_upstream_error() {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["POST /pets"], "")).start().await;
    let head = "POST /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
    for bad_body in ["5\r\nhello\r\nzz\r\n\r\n", "5\r\nhelloXX0\r\n\r\n", "3\nabc\r\n0\r\n\r\n"] {
        let answer = answer_to(&gw, &format!("{head}{bad_body}")).await.to_ascii_lowercase();
        assert!(answer.starts_with("http/1.1 400") && answer.contains("\"code\":\"400\""), "{bad_body:?}: {answer}");
        assert!(answer.contains("connection: close"), "{answer}");
    }
    let upstream_errors = gw.metric_sum("tollgate_upstream_errors_total", &[("api", "pets")]).await;
    assert_eq!(upstream_errors, 0.0, "a client's broken body is not the upstream's fault");
    assert!(answer_to(&gw, &format!("{head}5\r\nhello\r\n0\r\n\r\n")).await.starts_with("HTTP/1.1 200"));
}
