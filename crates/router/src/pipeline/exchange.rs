use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderName, HeaderValue, Method, Request, Response};
use tollgate_enforcer::Admission;
use tollgate_enforcer::client_cert::PresentedChain;

use crate::AccessLog;
use crate::access_log::{Record, Tally};
use crate::api::Api;
use crate::body::ResponseBody;
use crate::failure::Failure;
use crate::metrics::RouterMetrics;
use crate::proxy::{ForwardHeaders, ProxyError, client_ip_value};
use crate::route::Route;
use crate::trace::{Outcome, RequestTrace, Tracer};

use super::request;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The client connection a request arrived on.
#[derive(Debug, Clone)]
pub struct Connection {
    pub peer: SocketAddr,
    /// The peer's IP as `X-Forwarded-For` carries it, made once per connection.
    pub client_ip_value: HeaderValue,
    /// Arrived over the TLS listener (`X-Forwarded-Proto: https`).
    pub tls: bool,
    /// This HTTP/1.1 request's head carried both `Content-Length` and `Transfer-Encoding`
    /// (hyper resolves that itself and hides it; the listener sees it on the wire).
    pub ambiguous_framing: bool,
    /// The certificate chain the client presented in the TLS handshake, if any.
    pub client_certificate: Option<Arc<PresentedChain>>,
}

/// What the request path learns about one request, for its response headers, the access
/// log and the metrics.
#[derive(Debug)]
pub(super) struct Exchange {
    started: Instant,
    /// Wall-clock start, only read when the access log is on.
    at: Option<SystemTime>,
    connection: Connection,
    request_id: HeaderValue,
    /// The request host without port, lowercased (routing input).
    host: RoutingHost,
    /// The host as the client sent it (`X-Forwarded-Host`).
    original_host: Option<HeaderValue>,
    method: Method,
    /// Only kept when the access log is on.
    path: Option<Box<str>>,
    bytes_in: u64,
    api: Option<Arc<Api>>,
    application: Option<Arc<str>>,
    upstream: Option<Arc<str>>,
    upstream_duration: Option<Duration>,
    trace: RequestTrace,
}

// === impl Connection ===

impl Connection {
    pub fn new(peer: SocketAddr, tls: bool) -> Self {
        Connection {
            peer,
            client_ip_value: client_ip_value(peer.ip()),
            tls,
            ambiguous_framing: false,
            client_certificate: None,
        }
    }

    /// This connection with the chain its client presented (`None`: none).
    pub fn with_client_certificate(self, chain: Option<Arc<PresentedChain>>) -> Self {
        Connection { client_certificate: chain, ..self }
    }

    pub fn proto(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

// === impl Exchange ===

impl Exchange {
    pub(super) fn begin<B>(request: &Request<B>, connection: Connection, logged: bool, tracer: &Tracer) -> Self {
        let original_host = original_host(request);
        let trace = tracer.begin(request.headers(), request.method(), request.uri().path());
        let host = original_host.as_ref().map_or(RoutingHost::Within(0), |h| routing_host(h.as_bytes()));
        Exchange {
            started: Instant::now(),
            at: logged.then(SystemTime::now),
            connection,
            request_id: request::request_id(request.headers()),
            host,
            original_host,
            method: request.method().clone(),
            path: logged.then(|| request.uri().path().into()),
            bytes_in: content_length(request.headers()),
            api: None,
            application: None,
            upstream: None,
            upstream_duration: None,
            trace,
        }
    }

    pub(super) fn host(&self) -> &str {
        match &self.host {
            RoutingHost::Within(length) => {
                let bytes = self.original_host.as_ref().map_or(&[][..], HeaderValue::as_bytes);
                bytes.get(..*length).and_then(|host| std::str::from_utf8(host).ok()).unwrap_or_default()
            }
            RoutingHost::Lowered(host) => host,
        }
    }

    pub(super) fn connection(&self) -> &Connection {
        &self.connection
    }

    pub(super) fn client_certificate(&self) -> Option<&PresentedChain> {
        self.connection.client_certificate.as_deref()
    }

    pub(super) fn client_ip(&self) -> IpAddr {
        self.connection.peer.ip()
    }

    pub(super) fn matched(&mut self, api: &Arc<Api>) {
        self.api = Some(api.clone());
    }

    /// The request matched `route`'s operation.
    pub(super) fn routed(&mut self, route: &Route<'_>) {
        self.matched(route.api);
        self.trace.routed(route.base_path, route.operation.template.as_str());
    }

    /// What forwarding asserts about this exchange's client, and the trace its attempts join.
    pub(super) fn forwarding(&mut self) -> (ForwardHeaders<'_>, &mut RequestTrace) {
        let client = ForwardHeaders::new(&self.connection.client_ip_value, self.connection.proto(), &self.request_id);
        (ForwardHeaders { host: self.original_host.as_ref(), ..client }, &mut self.trace)
    }

    pub(super) fn admitted(&mut self, admission: &Admission) {
        let application = admission.principal.as_ref().and_then(|p| p.application.as_ref());
        self.application = application.map(|app| app.name.clone());
        self.trace.admitted(application.map(|app| &app.id));
    }

    pub(super) fn upstream(&mut self, target: Arc<str>) {
        self.upstream = Some(target);
    }

    pub(super) fn upstream_done(&mut self, took: Duration, metrics: &RouterMetrics, error: Option<&ProxyError>) {
        self.upstream_duration = Some(took);
        match error {
            None => metrics.upstream_duration(self.api.as_deref(), took.as_secs_f64()),
            Some(error) if error.is_upstream_fault() => metrics.upstream_error(self.api.as_deref(), error.kind()),
            Some(_) => {}
        }
    }

    pub(super) fn note_failure(&mut self, failure: &Failure, _metrics: &RouterMetrics) {
        tracing::debug!(request_id = self.request_id.to_str().unwrap_or("-"), %failure, "request answered by the gateway");
        self.trace.failed(failure.code());
    }

    /// Stamps the response with its request id, counts it, and hands the body a tally that
    /// logs the request (and exports its trace, when recorded) when the body ends.
    pub(super) fn finish(
        mut self,
        mut response: Response<ResponseBody>,
        metrics: &RouterMetrics,
        log: Option<&AccessLog>,
        tracer: &Tracer,
    ) -> Response<ResponseBody> {
        response.headers_mut().insert(X_REQUEST_ID, self.request_id.clone());
        metrics.request(self.api.as_deref(), &self.method, response.status().as_u16());
        let duration = metrics.request_duration(self.api.as_deref());
        let status = response.status().as_u16();
        let started = self.started;
        let trace = self.finished_trace(status).map(|recording| (tracer.clone(), recording));
        let record = log.map(|log| (log.clone(), self.into_record(status)));
        let tally = Box::new(Tally { started, bytes_out: 0, duration, record, trace });
        response.map(|body| body.with_tally(tally))
    }

    fn finished_trace(&mut self, status: u16) -> Option<Box<crate::trace::Recording>> {
        let api = self.api.as_ref().map(|api| (api.guard.name.clone(), api.guard.version.clone()));
        self.trace.take_recording(Outcome { status, api })
    }

    fn into_record(self, status: u16) -> Record {
        let host = self.host().into();
        Record {
            host,
            at: self.at.unwrap_or_else(SystemTime::now),
            request_id: self.request_id,
            trace_id: *self.trace.trace_id(),
            method: self.method,
            path: self.path.unwrap_or_default(),
            status,
            api: self.api.as_ref().map(|api| api.guard.name.clone()),
            version: self.api.as_ref().map(|api| api.guard.version.clone()),
            application: self.application,
            upstream: self.upstream,
            duration: Duration::ZERO,
            upstream_duration: self.upstream_duration,
            bytes_in: self.bytes_in,
            bytes_out: 0,
            client_ip: self.connection.peer.ip(),
        }
    }
}

/// HTTP/2 `:authority`, else `Host`.
fn original_host<B>(request: &Request<B>) -> Option<HeaderValue> {
    match request.uri().authority() {
        Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
        None => request.headers().get(HOST).cloned(),
    }
}

/// The routing host: a prefix of the client's host value, or a lowered copy of it.
#[derive(Debug, PartialEq, Eq)]
enum RoutingHost {
    /// The first this many bytes of the host value, already lowercase ASCII (the usual case).
    Within(usize),
    Lowered(Box<str>),
}

/// The host without port, ASCII-lowercased; `[v6]` literals keep their brackets.
fn routing_host(host: &[u8]) -> RoutingHost {
    let without_port = match host.iter().rposition(|&b| b == b':') {
        Some(colon) if !host[colon..].contains(&b']') => &host[..colon],
        _ => host,
    };
    match without_port.iter().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        true => RoutingHost::Within(without_port.len()),
        false => RoutingHost::Lowered(String::from_utf8_lossy(without_port).to_ascii_lowercase().into()),
    }
}

fn content_length(headers: &http::HeaderMap) -> u64 {
    headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_host_drops_port_and_case() {
        assert_eq!(routing_host(b"API.Example.com:8443"), RoutingHost::Lowered("api.example.com".into()));
        assert_eq!(routing_host(b"localhost"), RoutingHost::Within(9));
        assert_eq!(routing_host(b"api.example.com:8443"), RoutingHost::Within(15));
        assert_eq!(routing_host(b"[::1]:8443"), RoutingHost::Within(5));
        assert_eq!(routing_host(b"[::1]"), RoutingHost::Within(5));
    }
}
