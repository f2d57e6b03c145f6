use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use hyper::upgrade::OnUpgrade;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use prometheus::IntCounter;
use tokio::time::Instant;

use super::attempt::Attempts;
use super::body::{AttemptBody, RequestBody, UpstreamBody};
use super::clients::Clients;
use super::error::ProxyError;
use super::forward::{
    ForwardHeaders, cancel_upgrade, is_websocket_upgrade, prepare_request_headers, prepare_response_headers,
    prepare_trace_headers,
};
use super::transport::{Outgoing, Transport};
use super::upgrade;
use crate::api::{Endpoint, Target};
use crate::trace::RequestTrace;

/// Settings shared by every upstream connection.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    /// PEM files of extra CAs trusted for upstream TLS, on top of the system roots.
    pub ca_files: Vec<PathBuf>,
    /// How long an idle pooled connection is kept (default 90 s).
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per upstream authority (default 256).
    pub pool_max_idle_per_host: usize,
}

/// The pooled clients to all upstreams: long-lived and shared by every request, so that
/// connection pools survive snapshot swaps.
///
/// Each target's way of sending (the lean HTTP/1.1 exchange and a hyper HTTP/1.1 pool for
/// plain-HTTP targets, hyper-util's client for TLS and HTTP/2) was decided when its endpoint
/// was built; the first request to a target binds it to these clients (see
/// [`Transport`](super::transport)).
#[derive(Debug)]
pub struct Upstreams {
    /// Tells these clients from another gateway's in the same process (tests).
    id: u64,
    clients: Clients,
}

/// Where and how [`Upstreams::forward`] sends a request.
#[derive(Debug, Clone)]
pub struct Outbound<'a> {
    pub endpoint: &'a Endpoint,
    /// Appended to each target's path.
    pub path: UpstreamPath<'a>,
    /// What the gateway asserts to the upstream.
    pub headers: ForwardHeaders<'a>,
    /// When the request was handed over (tokio's clock, so paused time applies): the
    /// endpoint's timeout runs from here.
    pub sent: Instant,
    /// Counts the response bodies cut off for pausing longer than the endpoint's timeout.
    pub body_timeouts: IntCounter,
}

/// The part of an upstream URI that comes from the request.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamPath<'a> {
    /// The normalised request path minus the API's base path (may be empty).
    pub rest: &'a str,
    /// The original query, byte for byte, without the `?`.
    pub query: Option<&'a str>,
}

/// An upstream's answer.
#[derive(Debug)]
pub struct Forwarded {
    /// The response as the upstream sent it, its hop-by-hop headers removed; its body
    /// streams from the upstream, cut off when it pauses longer than the endpoint's timeout.
    pub response: Response<UpstreamBody>,
    /// The configured URL of the target that answered, for the access log.
    pub target: Arc<str>,
    /// Requests sent, counting connect failures and retries (≥ 1).
    pub attempts: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamsError {
    #[error("CA file {path}: {source}")]
    CaFile { path: PathBuf, source: rustls::pki_types::pem::Error },
    #[error("CA file {path}: no certificate in it")]
    NoCertificate { path: PathBuf },
    #[error("CA file {path}: {source}")]
    BadCertificate { path: PathBuf, source: rustls::Error },
    #[error("upstream TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

pub(super) type UpstreamClient = Client<HttpsConnector<HttpConnector>, AttemptBody>;

// === impl UpstreamSettings ===

impl Default for UpstreamSettings {
    fn default() -> Self {
        UpstreamSettings {
            ca_files: Vec::new(),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 256,
        }
    }
}

// === impl Upstreams ===

impl Upstreams {
    /// TLS to upstreams verifies against the system roots (rustls-native-certs; unreadable
    /// ones are logged and skipped) plus every certificate in `ca_files` (PEM; a file that
    /// cannot be read or holds no valid certificate is an error).
    pub fn new(settings: UpstreamSettings) -> Result<Self, UpstreamsError> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Ok(Upstreams { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), clients: Clients::new(settings)? })
    }

    /// Forwards a client's request to `outbound.endpoint` (client.md, "Forwarding"): its
    /// headers rewritten for the upstream ([`prepare_request_headers`], the trace context),
    /// sent to the endpoint's targets in `endpoint.attempt_order()` at
    /// `target.uri_for(rest, query)`, and the answer's headers rewritten for the client
    /// ([`prepare_response_headers`]).
    ///
    /// - A target that cannot be connected to is skipped (no request byte was sent); when
    ///   none can: [`ProxyError::Connect`].
    /// - `settings.timeout` bounds the whole exchange, from `outbound.sent` and all attempts
    ///   included, until the response head arrives: [`ProxyError::Timeout`]. Then it bounds
    ///   each pause of the response body (see [`UpstreamBody::limit_pauses`]).
    /// - Any other failure: [`ProxyError::Reset`].
    /// - With `retries`, an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE, TRACE)
    ///   whose body is known to be empty is sent again, to the next target in order, up to
    ///   `count` more times when the upstream answers one of `status_codes` or resets. A
    ///   request with a body streams once and is never retried: bodies are never buffered.
    /// - An HTTP/1.1 WebSocket upgrade goes over HTTP/1.1; the request must carry hyper's
    ///   `OnUpgrade` extension (the server connection is served with upgrades), else it is
    ///   forwarded without asking for the upgrade. On a `101` a background task splices the
    ///   two upgraded connections.
    /// - Each attempt carries its own `traceparent` from `trace` (a new span id, a client
    ///   span when the trace is recorded).
    pub async fn forward(
        &self,
        request: Request<RequestBody>,
        outbound: Outbound<'_>,
        trace: &mut RequestTrace,
    ) -> Result<Forwarded, ProxyError> {
        let endpoint = outbound.endpoint;
        let (mut parts, body) = request.into_parts();
        let mut asserted = prepare_request_headers(&mut parts.headers, parts.version, &outbound.headers);
        prepare_trace_headers(&mut parts.headers, &mut asserted, trace);
        let on_upgrade = upgrade_of(&mut parts);
        let body = (!body.is_known_empty()).then_some(body);
        let upgrade = on_upgrade.is_some();
        let request =
            Outgoing { method: parts.method, path: outbound.path, headers: parts.headers, asserted, body, upgrade };
        let deadline = outbound.sent + endpoint.settings.timeout;
        let mut forwarded = Attempts::new(endpoint, request).run(self, trace, deadline).await?;
        let response = &mut forwarded.response;
        if let Some(client) = on_upgrade.filter(|_| response.status() == StatusCode::SWITCHING_PROTOCOLS) {
            upgrade::splice(client, response);
        }
        prepare_response_headers(response.headers_mut());
        response.body_mut().limit_pauses(endpoint.settings.timeout, outbound.body_timeouts);
        Ok(forwarded)
    }

    /// How requests reach `target`: its transport, bound to these clients.
    pub(super) fn transport<'t>(&self, target: &'t Target) -> Cow<'t, Transport> {
        target.transport.bind(self.id, |kind| self.clients.transport(kind))
    }
}

/// The client side of an HTTP/1.1 WebSocket upgrade, taken from the request. Without it the
/// upgrade could not be completed, so the request is sent without asking for one.
fn upgrade_of(parts: &mut http::request::Parts) -> Option<OnUpgrade> {
    if !is_websocket_upgrade(parts.version, &parts.headers) {
        return None;
    }
    let on_upgrade = parts.extensions.remove::<OnUpgrade>();
    if on_upgrade.is_none() {
        cancel_upgrade(&mut parts.headers);
    }
    on_upgrade
}
