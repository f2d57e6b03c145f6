//! The lean exchange against scripted upstreams on 127.0.0.1 that write raw HTTP/1.1 bytes,
//! so every framing case, split however the test likes, reaches the real parser and socket.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Authority;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::super::idle::Sweep;
use super::{LeanBody, LeanError, LeanPool, LeanRequest, OriginForm};
use crate::proxy::{ForwardHeaders, prepare_request_headers};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// What the upstream writes for one request: `pieces` one after the other (each flushed,
/// with a pause between), then it closes the connection if `close`.
struct Reply {
    pieces: Vec<Vec<u8>>,
    close: bool,
}

/// A raw upstream that answers each request head with `reply(head)`, counting connections
/// and keeping the heads it received.
struct Upstream {
    authority: Authority,
    connections: Arc<AtomicUsize>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Reply {
    fn whole(bytes: &str) -> Self {
        Reply { pieces: vec![bytes.as_bytes().to_vec()], close: false }
    }

    fn split(bytes: &str, piece: usize) -> Self {
        Reply { pieces: bytes.as_bytes().chunks(piece).map(<[u8]>::to_vec).collect(), close: false }
    }

    fn then_close(mut self) -> Self {
        self.close = true;
        self
    }
}

impl Upstream {
    async fn start(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let authority = Authority::try_from(listener.local_addr()?.to_string()).map_err(std::io::Error::other)?;
        let connections = Arc::new(AtomicUsize::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (count, seen, reply) = (connections.clone(), heads.clone(), Arc::new(reply));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, reply.clone(), seen.clone()));
            }
        });
        Ok(Upstream { authority, connections, heads })
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().map(|heads| heads.clone()).unwrap_or_default()
    }
}

async fn serve(mut stream: TcpStream, reply: Arc<impl Fn(&str) -> Reply>, heads: Arc<Mutex<Vec<String>>>) {
    let mut received = Vec::new();
    loop {
        let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&received[..end + 4]).into_owned();
        received.drain(..end + 4);
        let answer = reply(&head);
        if let Ok(mut heads) = heads.lock() {
            heads.push(head);
        }
        for piece in &answer.pieces {
            if stream.write_all(piece).await.is_err() || stream.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if answer.close {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

fn pool() -> Arc<LeanPool> {
    LeanPool::start(Duration::from_secs(1), Duration::from_secs(30), 8)
}

async fn send(
    pool: &Arc<LeanPool>,
    upstream: &Upstream,
    method: Method,
) -> Result<http::Response<LeanBody>, LeanError> {
    let target = OriginForm { base: "/items", rest: "/42", query: Some("full=1") };
    send_to(pool, &upstream.authority, method, target).await
}

/// Sends a request as the pipeline prepares it: one header of the client's, then the
/// asserted ones (client 192.0.2.1, request id `r-1`).
async fn send_to(
    pool: &Arc<LeanPool>,
    authority: &Authority,
    method: Method,
    target: OriginForm<'_>,
) -> Result<http::Response<LeanBody>, LeanError> {
    let host = HeaderValue::from_static("upstream.test");
    let mut headers = HeaderMap::new();
    headers.insert("accept", HeaderValue::from_static("*/*"));
    let (client_ip, request_id) = (HeaderValue::from_static("192.0.2.1"), HeaderValue::from_static("r-1"));
    let fwd = ForwardHeaders::new(&client_ip, "https", &request_id);
    let asserted = prepare_request_headers(&mut headers, Version::HTTP_11, &fwd);
    let request = LeanRequest { method: &method, target, host: &host, headers: &headers, asserted: &asserted };
    pool.send(authority, request).await
}

async fn body_of(response: http::Response<LeanBody>) -> Result<Bytes, LeanError> {
    Ok(response.into_body().collect().await?.to_bytes())
}

const OK_HELLO: &str = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Up: 1\r\n\r\nhello";

#[tokio::test]
async fn content_length_responses_reuse_one_connection() -> TestResult {
    let upstream = Upstream::start(|_| Reply::whole(OK_HELLO)).await?;
    let pool = pool();
    for _ in 0..3 {
        let response = send(&pool, &upstream, Method::GET).await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-up"], "1");
        assert_eq!(body_of(response).await?, "hello");
    }
    assert_eq!(upstream.connections(), 1);
    assert_eq!(pool.idle_count(), 1);
    let heads = upstream.heads();
    let expected = "GET /items/42?full=1 HTTP/1.1\r\nhost: upstream.test\r\naccept: */*\r\n\
                    x-forwarded-for: 192.0.2.1\r\nx-forwarded-proto: https\r\nx-request-id: r-1\r\n\r\n";
    assert_eq!(heads[0], expected);
    Ok(())
}

#[tokio::test]
async fn chunked_responses_arriving_byte_by_byte_are_decoded_and_the_connection_reused() -> TestResult {
    let wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nx-sum: 9\r\n\r\n";
    let upstream = Upstream::start(move |_| Reply::split(wire, 1)).await?;
    let pool = pool();
    for _ in 0..2 {
        let response = send(&pool, &upstream, Method::GET).await?;
        assert_eq!(body_of(response).await?, "hello, world");
    }
    assert_eq!(upstream.connections(), 1);
    Ok(())
}

#[tokio::test]
async fn heads_split_anywhere_and_interim_responses_are_skipped() -> TestResult {
    let wire = "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    let upstream = Upstream::start(move |_| Reply::split(wire, 7)).await?;
    let pool = pool();
    let response = send(&pool, &upstream, Method::POST).await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(body_of(response).await?, "ok");
    assert!(upstream.heads()[0].ends_with("content-length: 0\r\n\r\n"), "{:?}", upstream.heads());
    Ok(())
}

#[tokio::test]
async fn bodies_until_close_end_with_the_connection() -> TestResult {
    let upstream =
        Upstream::start(|_| Reply::split("HTTP/1.1 200 OK\r\n\r\nstreamed until the end", 4).then_close()).await?;
    let pool = pool();
    for _ in 0..2 {
        let response = send(&pool, &upstream, Method::GET).await?;
        assert_eq!(body_of(response).await?, "streamed until the end");
    }
    assert_eq!(upstream.connections(), 2);
    assert_eq!(pool.idle_count(), 0);
    Ok(())
}

#[tokio::test]
async fn head_requests_and_204_have_no_body_and_keep_the_connection() -> TestResult {
    let upstream = Upstream::start(|head| match head.starts_with("HEAD") {
        true => Reply::whole("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
        false => Reply::whole("HTTP/1.1 204 No Content\r\n\r\n"),
    })
    .await?;
    let pool = pool();
    let response = send(&pool, &upstream, Method::HEAD).await?;
    assert_eq!(response.headers()["content-length"], "1000");
    assert!(http_body::Body::is_end_stream(response.body()));
    assert_eq!(body_of(response).await?, "");
    let response = send(&pool, &upstream, Method::DELETE).await?;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(body_of(response).await?, "");
    assert_eq!(upstream.connections(), 1);
    Ok(())
}

#[tokio::test]
async fn connections_the_upstream_closed_while_idle_are_not_used() -> TestResult {
    let upstream = Upstream::start(|_| Reply::whole(OK_HELLO).then_close()).await?;
    let pool = pool();
    for _ in 0..3 {
        let response = send(&pool, &upstream, Method::GET).await?;
        assert_eq!(body_of(response).await?, "hello");
        // Once the upstream's FIN has reached the idle connection, the next checkout must skip it.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while pool.idle_closed_count() == 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pool.idle_closed_count(), 1, "the upstream closed the idle connection");
    }
    assert_eq!(upstream.connections(), 3);
    Ok(())
}

#[tokio::test]
async fn connection_close_and_leftover_bytes_prevent_reuse() -> TestResult {
    let upstream = Upstream::start(|head| match head.contains("leftover") {
        true => Reply::whole("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"),
        false => Reply::whole("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"),
    })
    .await?;
    let pool = pool();
    let response = send(&pool, &upstream, Method::GET).await?;
    assert_eq!(body_of(response).await?, "ok");
    assert_eq!(pool.idle_count(), 0);
    let leftover = OriginForm { base: "", rest: "/leftover", query: None };
    let response = send_to(&pool, &upstream.authority, Method::GET, leftover).await?;
    assert_eq!(body_of(response).await?, "ok");
    assert_eq!(pool.idle_count(), 0);
    Ok(())
}

#[tokio::test]
async fn broken_bodies_are_errors_not_short_successes() -> TestResult {
    let upstream = Upstream::start(|head| match head.starts_with("GET") {
        true => Reply::whole("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf").then_close(),
        false => Reply::whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX"),
    })
    .await?;
    let pool = pool();
    let truncated = body_of(send(&pool, &upstream, Method::GET).await?).await;
    assert!(matches!(truncated, Err(LeanError::Truncated)), "{truncated:?}");
    let bad_chunk = body_of(send(&pool, &upstream, Method::PUT).await?).await;
    assert!(matches!(bad_chunk, Err(LeanError::Chunk(_))), "{bad_chunk:?}");
    assert_eq!(pool.idle_count(), 0);
    Ok(())
}

#[tokio::test]
async fn bad_heads_and_early_closes_fail_the_exchange() -> TestResult {
    let upstream = Upstream::start(|head| match head.starts_with("GET") {
        true => Reply::whole("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx"),
        false => Reply::whole("HTTP/1.1 200 OK\r\nContent-").then_close(),
    })
    .await?;
    let pool = pool();
    assert!(matches!(send(&pool, &upstream, Method::GET).await, Err(LeanError::Head(_))));
    assert!(matches!(send(&pool, &upstream, Method::DELETE).await, Err(LeanError::Closed)));
    Ok(())
}

#[tokio::test]
async fn a_body_dropped_early_closes_its_connection() -> TestResult {
    let upstream = Upstream::start(|_| Reply {
        pieces: vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec(), b"defghij".to_vec()],
        close: false,
    })
    .await?;
    let pool = pool();
    let response = send(&pool, &upstream, Method::GET).await?;
    drop(response);
    let response = send(&pool, &upstream, Method::GET).await?;
    assert_eq!(body_of(response).await?, "abcdefghij");
    assert_eq!(upstream.connections(), 2);
    assert_eq!(pool.idle_count(), 1);
    Ok(())
}

#[tokio::test]
async fn refused_connections_are_connect_errors() -> TestResult {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let authority = Authority::try_from(listener.local_addr()?.to_string())?;
    drop(listener);
    let root = OriginForm { base: "", rest: "", query: None };
    let error = send_to(&pool(), &authority, Method::GET, root).await.err();
    assert!(error.as_ref().is_some_and(LeanError::is_connect), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn idle_connections_unused_for_a_whole_sweep_period_are_swept() -> TestResult {
    let upstream = Upstream::start(|_| Reply::whole(OK_HELLO)).await?;
    let pool = pool();
    body_of(send(&pool, &upstream, Method::GET).await?).await?;
    pool.sweep();
    assert_eq!(pool.idle_count(), 1, "returned after the previous sweep");
    pool.sweep();
    assert_eq!(pool.idle_count(), 0, "idle for a whole period");
    // Reused in between, a connection stays.
    body_of(send(&pool, &upstream, Method::GET).await?).await?;
    pool.sweep();
    body_of(send(&pool, &upstream, Method::GET).await?).await?;
    pool.sweep();
    assert_eq!((pool.idle_count(), upstream.connections()), (1, 2));
    Ok(())
}

#[test]
fn whole_answers_decode_by_their_framing() {
    let decoded = |wire: &str| super::decode_response(wire.as_bytes()).map(|(status, body)| (status.as_u16(), body));
    assert_eq!(decoded(OK_HELLO), Some((200, b"hello".to_vec())));
    assert_eq!(
        decoded("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\ngone"),
        Some((404, b"gone".to_vec()))
    );
    assert_eq!(
        decoded("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        Some((200, b"abc".to_vec()))
    );
    assert_eq!(decoded("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"), None);
    assert_eq!(decoded("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"), None);
    assert_eq!(decoded("not http at all"), None);
}
