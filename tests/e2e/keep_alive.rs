//! An answer the gateway makes itself keeps an HTTP/1.1 connection usable (client.md, "Error
//! responses"): the unread rest of the request body is read and discarded when it is at most
//! 64 KiB and arrives within 1 s; otherwise the answer says `Connection: close`.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tollgate_tests::{GatewayProcess, Upstream, empty, full};

use crate::support::gateway;

const APIS: &str = r#"apis:
  - id: pets
    name: pets
    version: 1.0.0
    context: /petstore
    endpoints:
      production:
        urls: ["URL"]
    operations:
      - {target: /pets, verb: POST, secured: false}
      - {target: /secure, verb: POST, secured: true}
  - id: limited
    name: limited
    version: 1.0.0
    context: /limited
    throttlingPolicy: OnePerHour
    endpoints:
      production:
        urls: ["URL"]
    operations:
      - {target: /x, verb: POST, secured: false}
policies:
  - {kind: api, name: OnePerHour, limit: {requestCount: 1, unitTime: 3600, timeUnit: sec}}
"#;

/// Requests the gateway answers itself, with the status each gets.
const REFUSED: [(&str, u16); 4] = [
    ("POST /petstore/1.0.0/secure", 401),
    ("POST /nowhere", 404),
    ("PUT /petstore/1.0.0/pets", 405),
    ("POST /limited/1.0.0/x", 429),
];

/// A request the upstream answers, sent after the refused one on the same connection.
const NEXT: &str = "POST /petstore/1.0.0/pets HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}";

async fn start() -> (Upstream, GatewayProcess) {
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("apis.yaml", &APIS.replace("URL", &up.url())).start().await;
    // Spend the limited API's one request of the hour.
    let first = gw.client().request("POST", "/limited/1.0.0/x").body(empty()).unwrap();
    assert_eq!(gw.client().send(first).await.unwrap().status, 200);
    (up, gw)
}

#[tokio::test]
async fn a_body_sent_after_the_headers_is_discarded_and_the_connection_serves_the_next_request() {
    let (up, gw) = start().await;
    for (request, status) in REFUSED {
        for delay_ms in [0, 5, 50] {
            let mut tcp = TcpStream::connect(gw.http.unwrap()).await.unwrap();
            let body = "b".repeat(1000);
            let head = format!("{request} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n", body.len());
            tcp.write_all(head.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            tcp.write_all(body.as_bytes()).await.unwrap();
            let answer = read_response(&mut tcp).await;
            let case = format!("{request} with the body after {delay_ms} ms: {answer}");
            assert!(answer.starts_with(&format!("HTTP/1.1 {status} ")), "{case}");
            assert!(answer.contains("\"code\":\""), "{case}");
            assert!(!answer.to_ascii_lowercase().contains("connection: close"), "{case}");
            tcp.write_all(NEXT.as_bytes()).await.unwrap();
            let next = read_response(&mut tcp).await;
            assert!(next.starts_with("HTTP/1.1 200 "), "the next request after {case}: {next}");
        }
    }
    assert_eq!(up.requests(), 1 + REFUSED.len() * 3);
}

#[tokio::test]
async fn a_body_over_64_kib_gets_connection_close_and_the_answer_arrives_whole() {
    let (_up, gw) = start().await;
    for (request, status) in REFUSED {
        for chunked in [false, true] {
            let mut tcp = TcpStream::connect(gw.http.unwrap()).await.unwrap();
            let framing = match chunked {
                true => "Transfer-Encoding: chunked".to_owned(),
                false => format!("Content-Length: {}", 1 << 20),
            };
            let head = format!("{request} HTTP/1.1\r\nHost: localhost\r\n{framing}\r\n\r\n");
            tcp.write_all(head.as_bytes()).await.unwrap();
            let (mut reader, mut writer) = tcp.into_split();
            let sender = tokio::spawn(async move {
                let piece = vec![b'b'; 16 * 1024];
                for _ in 0..64 {
                    let sent = match chunked {
                        true => writer.write_all(&[b"4000\r\n".as_slice(), &piece, b"\r\n"].concat()).await,
                        false => writer.write_all(&piece).await,
                    };
                    if sent.is_err() {
                        return;
                    }
                }
                let _ = writer.write_all(if chunked { b"0\r\n\r\n".as_slice() } else { b"" }).await;
            });
            let answer = read_response(&mut reader).await;
            let case = format!("{request}, chunked: {chunked}: {answer}");
            assert!(answer.starts_with(&format!("HTTP/1.1 {status} ")), "{case}");
            assert!(answer.to_ascii_lowercase().contains("connection: close"), "{case}");
            let mut rest = Vec::new();
            let closed = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut rest)).await;
            assert!(closed.is_ok(), "the gateway closes the connection: {case}");
            assert!(rest.is_empty(), "nothing follows the answer: {case}");
            sender.abort();
        }
    }
}

#[tokio::test]
async fn an_http2_stream_refused_before_its_body_leaves_the_connection_serving() {
    let (_up, gw) = start().await;
    let client = gw.client().http2();
    for (request, status) in REFUSED {
        let (method, path) = request.split_once(' ').unwrap();
        let refused = client.request(method, path).body(full(vec![b'b'; 256 * 1024])).unwrap();
        assert_eq!(client.send(refused).await.unwrap().status.as_u16(), status, "{request}");
        let next = client.request("POST", "/petstore/1.0.0/pets").body(full(b"{}".to_vec())).unwrap();
        assert_eq!(client.send(next).await.unwrap().status, 200, "after {request}");
    }
}

/// Reads one HTTP/1.1 response with a `Content-Length` body; returns head and body as text.
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> String {
    let mut received = Vec::new();
    let read = async {
        loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map_or(0, |value| value.trim().parse::<usize>().unwrap());
                if received.len() >= end + 4 + length {
                    received.truncate(end + 4 + length);
                    return;
                }
            }
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before a whole response: {}", String::from_utf8_lossy(&received));
            received.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("a response within 10 s");
    String::from_utf8_lossy(&received).into_owned()
}
