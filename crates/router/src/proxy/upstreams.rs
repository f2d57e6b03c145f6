use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use http::{Request, Response};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::attempt::Exchange;
use super::body::{AttemptBody, RequestBody, UpstreamBody};
use super::error::ProxyError;
use super::forward::Asserted;
use super::lean::LeanPool;
use super::pool::Http1Pool;
use crate::api::{Endpoint, UpstreamProtocol};
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
/// There is one set of clients per (connect timeout, protocol) profile, created on first use;
/// configurations use a handful. A lookup is a lock-free [`ArcSwap`] load. Plain-HTTP
/// targets spoken to in HTTP/1.1 go through a lean pool of our own ([`Http1Pool`]); TLS and
/// HTTP/2 targets through hyper-util's client.
#[derive(Debug)]
pub struct Upstreams {
    settings: UpstreamSettings,
    /// Verifies upstream certificates; ALPN is set per profile.
    tls: rustls::ClientConfig,
    clients: ArcSwap<HashMap<Profile, Arc<UpstreamClients>>>,
}

/// The clients of one profile.
#[derive(Debug)]
pub(super) struct UpstreamClients {
    /// TLS targets, and every target of an HTTP/2 profile.
    pub(super) general: UpstreamClient,
    /// Plain-HTTP targets of an HTTP/1.1 (or ALPN-chosen) profile.
    pub(super) http1: Option<Arc<Http1Pool>>,
    /// The same targets, for requests without a body or upgrade.
    pub(super) lean: Option<Arc<LeanPool>>,
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
    /// The response as the upstream sent it; its body streams from the upstream. Pass the
    /// headers through [`prepare_response_headers`](super::prepare_response_headers).
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

/// What distinguishes one upstream client from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Profile {
    connect_timeout: Duration,
    wire: Wire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Wire {
    /// HTTP/1.1, or HTTP/2 when a TLS upstream picks `h2` in ALPN.
    Auto,
    /// HTTP/2 only: prior knowledge on `http://`, ALPN `h2` on `https://`.
    Http2,
    /// HTTP/1.1 only, for WebSocket upgrades.
    Http1,
}

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
        let mut roots = system_roots();
        for path in &settings.ca_files {
            add_ca_file(&mut roots, path)?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Upstreams { settings, tls, clients: ArcSwap::default() })
    }

    /// Sends `request` to `endpoint`, trying its targets in `endpoint.attempt_order()`, at
    /// `target.uri_for(rest, query)`. Its headers must have been through
    /// [`prepare_request_headers`](super::prepare_request_headers), which gave `asserted`:
    /// they are sent after them.
    ///
    /// - A target that cannot be connected to is skipped (no request byte was sent); when
    ///   none can: [`ProxyError::Connect`].
    /// - `settings.timeout` bounds the whole exchange, all attempts included, until the
    ///   response head arrives: [`ProxyError::Timeout`]. The bodies then stream without it
    ///   (see [`UpstreamBody::limit_pauses`] for the response body's pauses).
    /// - Any other failure: [`ProxyError::Reset`].
    /// - With `retries`, an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE, TRACE)
    ///   whose body is known to be empty is sent again, to the next target in order, up to
    ///   `count` more times when the upstream answers one of `status_codes` or resets. A
    ///   request with a body streams once and is never retried: bodies are never buffered.
    /// - An HTTP/1.1 WebSocket upgrade goes over HTTP/1.1; the request must carry hyper's
    ///   `OnUpgrade` extension (the server connection is served with upgrades). On a `101`
    ///   a background task splices the two upgraded connections.
    /// - Each attempt carries its own `traceparent` from `trace` (a new span id, a client
    ///   span when the trace is recorded).
    pub async fn forward(
        &self,
        endpoint: &Endpoint,
        request: Request<RequestBody>,
        target_path: &UpstreamPath<'_>,
        asserted: Asserted,
        trace: &mut RequestTrace,
    ) -> Result<Forwarded, ProxyError> {
        let mut exchange = Exchange::new(endpoint, request, *target_path, asserted);
        let client = self.client(Profile::new(endpoint, exchange.is_upgrade()));
        let timeout = endpoint.settings.timeout;
        let Ok(forwarded) = tokio::time::timeout(timeout, exchange.run(&client, trace)).await else {
            tracing::debug!(?timeout, "no upstream response within the endpoint timeout");
            return Err(ProxyError::Timeout);
        };
        let mut forwarded = forwarded?;
        exchange.complete_upgrade(&mut forwarded.response);
        Ok(forwarded)
    }

    fn client(&self, profile: Profile) -> Arc<UpstreamClients> {
        match self.clients.load().get(&profile) {
            Some(client) => Arc::clone(client),
            None => self.insert_client(profile),
        }
    }

    /// Adds a client for `profile`, unless a concurrent request just did.
    #[cold]
    fn insert_client(&self, profile: Profile) -> Arc<UpstreamClients> {
        let (idle_timeout, max_idle) = (self.settings.pool_idle_timeout, self.settings.pool_max_idle_per_host);
        let http1_only = profile.wire != Wire::Http2;
        let http1 = http1_only.then(|| Http1Pool::start(profile.connect_timeout, idle_timeout, max_idle));
        let lean = http1_only.then(|| LeanPool::start(profile.connect_timeout, idle_timeout, max_idle));
        let fresh = Arc::new(UpstreamClients { general: self.build_client(profile), http1, lean });
        let previous = self.clients.rcu(|clients| {
            let mut clients = HashMap::clone(clients);
            clients.entry(profile).or_insert_with(|| Arc::clone(&fresh));
            clients
        });
        previous.get(&profile).cloned().unwrap_or(fresh)
    }

    fn build_client(&self, profile: Profile) -> UpstreamClient {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(profile.connect_timeout));
        let https = HttpsConnectorBuilder::new().with_tls_config(self.tls.clone()).https_or_http();
        let connector = match profile.wire {
            Wire::Auto => https.enable_http1().enable_http2().wrap_connector(http),
            Wire::Http2 => https.enable_http2().wrap_connector(http),
            Wire::Http1 => https.enable_http1().wrap_connector(http),
        };
        Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(self.settings.pool_idle_timeout)
            .pool_max_idle_per_host(self.settings.pool_max_idle_per_host)
            .http2_only(profile.wire == Wire::Http2)
            .build(connector)
    }
}

// === impl Profile ===

impl Profile {
    fn new(endpoint: &Endpoint, upgrade: bool) -> Self {
        let wire = match (upgrade, endpoint.settings.protocol) {
            (true, _) => Wire::Http1,
            (false, UpstreamProtocol::Auto) => Wire::Auto,
            (false, UpstreamProtocol::Http2) => Wire::Http2,
        };
        Profile { connect_timeout: endpoint.settings.connect_timeout, wire }
    }
}

fn system_roots() -> RootCertStore {
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::warn!(%error, "skipping unreadable system CA certificates");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "loaded system CA certificates");
    roots
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), UpstreamsError> {
    let ca_error = |source| UpstreamsError::CaFile { path: path.to_owned(), source };
    let mut found = false;
    for cert in CertificateDer::pem_file_iter(path).map_err(ca_error)? {
        let cert = cert.map_err(ca_error)?;
        roots.add(cert).map_err(|source| UpstreamsError::BadCertificate { path: path.to_owned(), source })?;
        found = true;
    }
    match found {
        true => Ok(()),
        false => Err(UpstreamsError::NoCertificate { path: path.to_owned() }),
    }
}
