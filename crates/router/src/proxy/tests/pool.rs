//! The plain-HTTP/1.1 pool against real upstream sockets on 127.0.0.1.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HOST;
use http::uri::Authority;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::super::body::AttemptBody;
use super::super::idle::Sweep;
use super::{Http1Pool, PoolError};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// An HTTP/1.1 upstream that counts connections and answers with the request's target and
/// `Host`; every open connection is closed from the upstream side when `close` is notified.
struct Upstream {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    close: Arc<Notify>,
}

impl Upstream {
    async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let close = Arc::new(Notify::new());
        let (count, closing) = (connections.clone(), close.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let closing = closing.clone();
                tokio::spawn(async move {
                    let service = service_fn(|request: Request<hyper::body::Incoming>| async move {
                        let host = request.headers().get(HOST).cloned();
                        let text = format!("{} host={:?}", request.uri(), host);
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
                    });
                    let connection =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = connection => {}
                        () = closing.notified() => {}
                    }
                });
            }
        });
        Ok(Upstream { addr, connections, close })
    }

    fn authority(&self) -> Result<Authority, http::uri::InvalidUri> {
        self.addr.to_string().parse()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

fn pool() -> Arc<Http1Pool> {
    Http1Pool::start(Duration::from_secs(2), Duration::from_secs(90), 8)
}

fn get(path: &str, host: &Authority) -> Result<Request<AttemptBody>, http::Error> {
    let host = HeaderValue::from_str(host.as_str()).map_err(http::Error::from)?;
    Request::get(path).header(HOST, host).body(AttemptBody::empty())
}

async fn text(response: Response<hyper::body::Incoming>) -> Result<String, hyper::Error> {
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn sequential_requests_share_one_connection() -> TestResult {
    let upstream = Upstream::start().await?;
    let authority = upstream.authority()?;
    let pool = pool();
    for n in 0..5 {
        let response = pool.send(&authority, get(&format!("/item/{n}?x=1"), &authority)?).await?;
        let body = text(response).await?;
        assert!(body.starts_with(&format!("/item/{n}?x=1 host=")), "origin form sent as is: {body}");
        assert!(body.contains(&upstream.addr.to_string()), "Host sent: {body}");
    }
    assert_eq!(upstream.connections(), 1, "one connection, reused");
    assert_eq!(pool.idle_count(), 1);
    Ok(())
}

#[tokio::test]
async fn concurrent_requests_open_connections_that_stay_pooled() -> TestResult {
    let upstream = Upstream::start().await?;
    let authority = upstream.authority()?;
    let pool = pool();
    let sends = (0..4).map(|_| {
        let (pool, authority) = (pool.clone(), authority.clone());
        tokio::spawn(async move {
            let request = get("/", &authority).map_err(|e| e.to_string())?;
            let response = pool.send(&authority, request).await.map_err(|e| e.to_string())?;
            text(response).await.map_err(|e| e.to_string())
        })
    });
    for send in sends.collect::<Vec<_>>() {
        send.await??;
    }
    let opened = upstream.connections();
    assert!((1..=4).contains(&opened), "{opened} connections");
    assert_eq!(pool.idle_count(), opened, "every connection went back to the pool");
    Ok(())
}

#[tokio::test]
async fn connections_the_upstream_closed_are_replaced_without_a_failure() -> TestResult {
    let upstream = Upstream::start().await?;
    let authority = upstream.authority()?;
    let pool = pool();
    text(pool.send(&authority, get("/first", &authority)?).await?).await?;
    upstream.close.notify_waiters();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pool.idle_closed_count() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(pool.idle_closed_count(), 1, "the pooled connection saw the upstream close it");
    let body = text(pool.send(&authority, get("/second", &authority)?).await?).await?;
    assert!(body.starts_with("/second"), "{body}");
    assert_eq!(upstream.connections(), 2, "a new connection replaced the closed one");
    assert_eq!((pool.idle_count(), pool.idle_closed_count()), (1, 0), "the closed one was dropped");
    Ok(())
}

#[tokio::test]
async fn idle_connections_unused_for_a_whole_sweep_period_are_swept() -> TestResult {
    let upstream = Upstream::start().await?;
    let authority = upstream.authority()?;
    let pool = Http1Pool::start(Duration::from_secs(2), Duration::from_secs(30), 8);
    text(pool.send(&authority, get("/", &authority)?).await?).await?;
    pool.sweep();
    assert_eq!(pool.idle_count(), 1, "returned after the previous sweep");
    pool.sweep();
    assert_eq!(pool.idle_count(), 0, "idle for a whole period");
    Ok(())
}

#[tokio::test]
async fn the_idle_cap_per_host_closes_the_surplus() -> TestResult {
    let upstream = Upstream::start().await?;
    let authority = upstream.authority()?;
    let pool = Http1Pool::start(Duration::from_secs(2), Duration::from_secs(90), 1);
    let first = pool.send(&authority, get("/a", &authority)?);
    let second = pool.send(&authority, get("/b", &authority)?);
    let (first, second) = tokio::join!(first, second);
    text(first?).await?;
    text(second?).await?;
    assert_eq!(upstream.connections(), 2);
    assert_eq!(pool.idle_count(), 1, "only one kept");
    Ok(())
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() -> TestResult {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let authority: Authority = listener.local_addr()?.to_string().parse()?;
    drop(listener);
    let error = pool().send(&authority, get("/", &authority)?).await.err();
    assert!(matches!(error, Some(PoolError::Connect { .. })), "{error:?}");
    assert!(error.is_some_and(|e| e.is_connect()));
    Ok(())
}
