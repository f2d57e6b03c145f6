//! Proxy tests over real sockets on 127.0.0.1: small hyper upstreams, and a tiny proxy server
//! that calls [`Upstreams::forward`] as the request pipeline does.

mod balancing;
mod headers;
mod streaming;
mod tls;
mod websocket;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::{
    ForwardHeaders, Outbound, ProxyError, RequestBody, UpstreamPath, UpstreamSettings, Upstreams, client_ip_value,
};
use crate::api::{Endpoint, EndpointSettings, Strategy, Target};
use crate::trace::RequestTrace;

type Error = Box<dyn std::error::Error + Send + Sync>;
type TestResult = Result<(), Error>;
pub(super) type Body = BoxBody<Bytes, Error>;
type Handler = Arc<dyn Fn(Request<Incoming>) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> + Send + Sync>;

/// The base path the test proxy strips before forwarding.
const BASE: &str = "/base";

/// A server on 127.0.0.1 that stops accepting when dropped.
struct Server {
    addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl Server {
    /// An HTTP/1.1 + HTTP/2 (prior knowledge) upstream.
    async fn plain(handler: Handler) -> std::io::Result<Self> {
        Self::serve(handler, None).await
    }

    /// The same over TLS, offering `h2` and `http/1.1` in ALPN.
    async fn tls(handler: Handler, tls: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        Self::serve(handler, Some(TlsAcceptor::from(tls))).await
    }

    async fn serve(handler: Handler, tls: Option<TlsAcceptor>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(stream, tls.clone(), handler.clone()));
            }
        });
        Ok(Server { addr, accept })
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve_connection(stream: TcpStream, tls: Option<TlsAcceptor>, handler: Handler) {
    let service = service_fn(move |request| {
        let response = handler(request);
        async move { Ok::<_, Infallible>(response.await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let _ = match tls {
        None => builder.serve_connection_with_upgrades(TokioIo::new(stream), service).await,
        Some(tls) => match tls.accept(stream).await {
            Ok(stream) => builder.serve_connection_with_upgrades(TokioIo::new(stream), service).await,
            Err(_) => return,
        },
    };
}

fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    Arc::new(move |request| Box::pin(f(request)))
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).map_err(|never| match never {}).boxed()
}

fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
}

/// Answers with its name.
fn named(name: &'static str) -> Handler {
    handler(move |_| async move { respond(StatusCode::OK, name) })
}

/// Answers `status` to the first `failures` requests, then 200; counts requests in `seen`.
fn failing(failures: usize, status: StatusCode, seen: Arc<AtomicUsize>) -> Handler {
    handler(move |_| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move { if n < failures { respond(status, "failing") } else { respond(StatusCode::OK, "ok") } }
    })
}

/// Answers with what it received: method, path and query, version and headers, as JSON.
fn echo_head() -> Handler {
    handler(|request: Request<Incoming>| async move {
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let seen = serde_json::json!({
            "method": request.method().as_str(),
            "target": request.uri().path_and_query().map(|pq| pq.as_str()),
            "version": format!("{:?}", request.version()),
            "headers": headers,
        });
        respond(StatusCode::OK, seen.to_string())
    })
}

/// Streams the request body back.
fn echo_body() -> Handler {
    handler(|request: Request<Incoming>| async move { Response::new(request.into_body().map_err(Error::from).boxed()) })
}

/// What [`echo_head`] saw.
struct Seen(serde_json::Value);

impl Seen {
    async fn read<B: http_body::Body>(response: Response<B>) -> Result<Self, Error>
    where
        Error: From<B::Error>,
    {
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Seen(serde_json::from_slice(&body)?))
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.as_str())
    }

    /// Every value of header `name`.
    fn header(&self, name: &str) -> Vec<&str> {
        let headers = self.0.get("headers").and_then(|h| h.as_array()).map_or(&[][..], |h| &h[..]);
        headers.iter().filter(|h| h[0] == name).filter_map(|h| h[1].as_str()).collect()
    }
}

fn endpoint(urls: &[String], strategy: Strategy, settings: EndpointSettings) -> Result<Endpoint, Error> {
    let targets = urls.iter().map(|url| Target::parse(url)).collect::<Result<Vec<_>, _>>()?;
    Ok(Endpoint::new(targets, strategy, settings))
}

fn upstreams() -> Result<Arc<Upstreams>, Error> {
    Ok(Arc::new(Upstreams::new(UpstreamSettings::default())?))
}

/// A URL on which nothing listens.
async fn closed_url() -> Result<String, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    Ok(format!("http://{}", listener.local_addr()?))
}

/// Calls `forward` directly with a bodyless request.
async fn forward(
    upstreams: &Upstreams,
    endpoint: &Endpoint,
    method: http::Method,
    rest: &str,
) -> Result<super::Forwarded, ProxyError> {
    forward_to(upstreams, endpoint, method, UpstreamPath { rest, query: None }).await
}

/// Calls `forward` directly with a bodyless request to `path`.
async fn forward_to(
    upstreams: &Upstreams,
    endpoint: &Endpoint,
    method: http::Method,
    path: UpstreamPath<'_>,
) -> Result<super::Forwarded, ProxyError> {
    let mut request = Request::new(RequestBody::Empty);
    *request.method_mut() = method;
    let (client_ip, request_id) = (HeaderValue::from_static("192.0.2.1"), HeaderValue::from_static("id"));
    let outbound = outbound(endpoint, path, ForwardHeaders::new(&client_ip, "http", &request_id));
    upstreams.forward(request, outbound, &mut RequestTrace::detached()).await
}

/// Where [`forward`] and the test proxy send, with a throwaway pause counter.
fn outbound<'a>(endpoint: &'a Endpoint, path: UpstreamPath<'a>, headers: ForwardHeaders<'a>) -> Outbound<'a> {
    let body_timeouts = prometheus::IntCounter::new("body_timeouts", "test").unwrap_or_else(|e| panic!("{e}"));
    Outbound { endpoint, path, headers, sent: tokio::time::Instant::now(), body_timeouts }
}

async fn text<B: http_body::Body>(response: Response<B>) -> Result<String, Error>
where
    Error: From<B::Error>,
{
    Ok(String::from_utf8(response.into_body().collect().await?.to_bytes().to_vec())?)
}

// === the test proxy ===

/// A proxy that serves `/base/...` like the request pipeline: one call to `forward`. Errors answer 502 with `x-proxy-error: <kind>`.
async fn start_proxy(upstreams: Arc<Upstreams>, endpoint: Endpoint) -> std::io::Result<Server> {
    let endpoint = Arc::new(endpoint);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let accept = tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let (upstreams, endpoint) = (upstreams.clone(), endpoint.clone());
            let proxy = handler(move |request| proxy(upstreams.clone(), endpoint.clone(), peer, request));
            tokio::spawn(serve_connection(stream, None, proxy));
        }
    });
    Ok(Server { addr, accept })
}

async fn proxy(
    upstreams: Arc<Upstreams>,
    endpoint: Arc<Endpoint>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let uri = parts.uri.clone();
    let host = parts
        .headers
        .get(HOST)
        .cloned()
        .or_else(|| uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()));
    let request_id = parts.headers.get("x-request-id").cloned().unwrap_or(HeaderValue::from_static("generated-id"));
    let identity = [(HeaderName::from_static("x-tollgate-application-id"), HeaderValue::from_static("app-1"))];
    let client_ip = client_ip_value(peer.ip());
    let fwd = ForwardHeaders {
        host: host.as_ref(),
        credential_header: Some(&AUTHORIZATION),
        identity: &identity,
        ..ForwardHeaders::new(&client_ip, "http", &request_id)
    };
    let path = UpstreamPath { rest: uri.path().strip_prefix(BASE).unwrap_or(uri.path()), query: uri.query() };
    let request = Request::from_parts(parts, RequestBody::from(body));
    let outbound = outbound(&endpoint, path, fwd);
    match upstreams.forward(request, outbound, &mut RequestTrace::detached()).await {
        Ok(forwarded) => {
            let (mut head, body) = forwarded.response.into_parts();
            head.headers.insert("x-attempts", HeaderValue::from(u16::from(forwarded.attempts)));
            Response::from_parts(head, body.map_err(Error::from).boxed())
        }
        Err(error) => {
            let mut response = respond(StatusCode::BAD_GATEWAY, error.to_string());
            response.headers_mut().insert("x-proxy-error", HeaderValue::from_static(error.kind()));
            response
        }
    }
}

/// An HTTP/1.1 client for the test proxy.
fn client() -> hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Body> {
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http()
}
