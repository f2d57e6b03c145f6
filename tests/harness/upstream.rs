use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::IssuedCert;

/// How an upstream answers, besides what the request's query asks for
/// (`status=N`, `delay_ms=N`, `bytes=N` for an N-byte body instead of the echo, with
/// `stall_after=K` its first K bytes and then nothing, never ending).
#[derive(Debug, Clone, Default)]
pub struct UpstreamBehavior {
    /// Sent back in the `x-upstream` header, to tell upstreams apart.
    pub name: String,
    /// Serve TLS with this certificate (HTTP/1.1 and HTTP/2 by ALPN).
    pub tls: Option<IssuedCert>,
    /// Delay every answer (a slow upstream).
    pub delay: Duration,
    /// Answer every request with this status.
    pub status: Option<u16>,
}

/// What an echo upstream saw, as JSON in its response body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Echo {
    pub upstream: String,
    pub method: String,
    /// Path and query exactly as received.
    pub target: String,
    pub version: String,
    pub headers: BTreeMap<String, Vec<String>>,
    pub body_len: u64,
    /// FNV-1a of the body, to check big bodies arrived intact.
    pub body_fnv: u64,
}

/// A running upstream on 127.0.0.1; stops when dropped.
pub struct Upstream {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

/// Counts an open connection until dropped.
struct OpenConnection(Arc<AtomicUsize>);

impl OpenConnection {
    fn new(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::SeqCst);
        OpenConnection(open.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Upstream {
    /// An echo upstream.
    pub async fn start(name: &str) -> Upstream {
        Self::with(UpstreamBehavior { name: name.into(), ..Default::default() }).await
    }

    pub async fn with(behavior: UpstreamBehavior) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, behavior)
    }

    /// Serves on an already bound listener (to come back on the same port).
    pub fn serve(listener: TcpListener, behavior: UpstreamBehavior) -> Upstream {
        crate::install_crypto();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let acceptor = behavior.tls.as_ref().map(tls_acceptor);
        let behavior = Arc::new(behavior);
        let counter = requests.clone();
        let open = Arc::new(AtomicUsize::new(0));
        let opened = open.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (behavior, counter, acceptor) = (behavior.clone(), counter.clone(), acceptor.clone());
                let connection = OpenConnection::new(&opened);
                tokio::spawn(async move {
                    let _connection = connection;
                    let service = service_fn(move |request| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        answer(request, behavior.clone())
                    });
                    let builder = auto::Builder::new(TokioExecutor::new());
                    match acceptor {
                        Some(acceptor) => {
                            let Ok(tls) = acceptor.accept(stream).await else { return };
                            let _ = builder.serve_connection_with_upgrades(TokioIo::new(tls), service).await;
                        }
                        None => {
                            let _ = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).await;
                        }
                    }
                });
            }
        });
        Upstream { addr, requests, open, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Connections from the gateway open now (accepted and not yet closed).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn answer(mut request: Request<Incoming>, behavior: Arc<UpstreamBehavior>) -> Result<Response<Body>, Infallible> {
    let query = Query::parse(request.uri().query());
    tokio::time::sleep(behavior.delay.max(query.delay)).await;
    if is_websocket(&request) {
        return Ok(websocket(&mut request));
    }
    let status = query.status.or(behavior.status).unwrap_or(200);
    let mut echo = Echo {
        upstream: behavior.name.clone(),
        method: request.method().to_string(),
        target: request.uri().path_and_query().map(|pq| pq.as_str().to_owned()).unwrap_or_default(),
        version: format!("{:?}", request.version()),
        headers: headers(request.headers()),
        body_len: 0,
        body_fnv: FNV_OFFSET,
    };
    let mut body = request.into_body();
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            echo.body_len += data.len() as u64;
            echo.body_fnv = fnv(echo.body_fnv, data);
        }
    }
    let body = match (query.bytes, query.stall_after) {
        (Some(n), Some(after)) => stalled_body(n.min(after)),
        (Some(n), None) => pattern_body(n),
        (None, _) => Full::new(Bytes::from(serde_json::to_vec(&echo).unwrap())).boxed(),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert("x-upstream", behavior.name.parse().unwrap());
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    response.headers_mut().insert("connection", "keep-alive, x-hop".parse().unwrap());
    response.headers_mut().insert("x-hop", "must-not-reach-the-client".parse().unwrap());
    response.headers_mut().insert("keep-alive", "timeout=5".parse().unwrap());
    Ok(response)
}

#[derive(Default)]
struct Query {
    status: Option<u16>,
    delay: Duration,
    bytes: Option<u64>,
    stall_after: Option<u64>,
}

impl Query {
    fn parse(query: Option<&str>) -> Query {
        let mut parsed = Query::default();
        for (key, value) in crate::query_pairs(query) {
            match key {
                "status" => parsed.status = value.parse().ok(),
                "delay_ms" => parsed.delay = Duration::from_millis(value.parse().unwrap_or(0)),
                "bytes" => parsed.bytes = value.parse().ok(),
                "stall_after" => parsed.stall_after = value.parse().ok(),
                _ => {}
            }
        }
        parsed
    }
}

/// A streamed body of `n` bytes of a repeating pattern (see [`pattern_fnv`]).
fn pattern_body(n: u64) -> Body {
    let chunk = Bytes::from(pattern_chunk());
    let chunks = (0..n.div_ceil(CHUNK as u64)).map(move |i| {
        let len = (n - i * CHUNK as u64).min(CHUNK as u64) as usize;
        Ok::<_, Infallible>(Frame::data(chunk.slice(..len)))
    });
    BodyExt::boxed(StreamBody::new(futures_util::stream::iter(chunks)))
}

/// The first `n` bytes of the pattern, then nothing: the body never ends.
fn stalled_body(n: u64) -> Body {
    let sent = pattern_body(n).into_data_stream().map(|data| data.map(Frame::data));
    BodyExt::boxed(StreamBody::new(sent.chain(futures_util::stream::pending())))
}

const CHUNK: usize = 64 * 1024;

fn pattern_chunk() -> Vec<u8> {
    (0..CHUNK).map(|i| (i % 251) as u8).collect()
}

/// The FNV-1a of the first `n` bytes of the pattern a `bytes=n` request returns.
pub fn pattern_fnv(n: u64) -> u64 {
    let chunk = pattern_chunk();
    let mut hash = FNV_OFFSET;
    let mut left = n as usize;
    while left > 0 {
        let len = left.min(CHUNK);
        hash = fnv(hash, &chunk[..len]);
        left -= len;
    }
    hash
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

pub fn fnv(mut hash: u64, data: &[u8]) -> u64 {
    for byte in data {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn headers(map: &http::HeaderMap) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in map {
        out.entry(name.as_str().to_owned()).or_default().push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    out
}

fn is_websocket<B>(request: &Request<B>) -> bool {
    request.headers().get("upgrade").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Completes a WebSocket handshake and echoes every message.
fn websocket(request: &mut Request<Incoming>) -> Response<Body> {
    let key = request.headers().get("sec-websocket-key").map(|k| derive_accept_key(k.as_bytes())).unwrap_or_default();
    let upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut ws =
            tokio_tungstenite::WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() || ws.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut response = Response::new(Full::new(Bytes::new()).boxed());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert("upgrade", "websocket".parse().unwrap());
    headers.insert("connection", "Upgrade".parse().unwrap());
    headers.insert("sec-websocket-accept", key.parse().unwrap());
    response
}

fn tls_acceptor(cert: &IssuedCert) -> TlsAcceptor {
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
    let mut config = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key).unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}
