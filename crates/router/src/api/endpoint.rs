use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::uri::{Authority, Scheme, Uri};
use http::{HeaderValue, StatusCode};

use crate::proxy::TargetTransport;
#[cfg(test)]
use crate::proxy::TargetWire;

/// An API's upstreams: production, sandbox, or both (at least one; the adapter checked).
#[derive(Debug, Default)]
pub struct Endpoints {
    pub production: Option<Arc<Endpoint>>,
    pub sandbox: Option<Arc<Endpoint>>,
}

/// A set of upstream URLs and how to use them.
#[derive(Debug)]
pub struct Endpoint {
    pub targets: Box<[Target]>,
    pub strategy: Strategy,
    pub settings: EndpointSettings,
    /// Round-robin position; starts again at 0 with each snapshot.
    cursor: AtomicUsize,
}

/// How an endpoint talks to its upstreams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSettings {
    /// The whole upstream exchange, until the response head arrives.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retries: Retries,
    pub protocol: UpstreamProtocol,
}

/// How the targets of an endpoint share the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Round robin; a target that refuses connections is skipped for that request.
    LoadBalance,
    /// In order: the next target only when the previous one cannot be connected to.
    Failover,
}

/// Retries of idempotent requests without a body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Retries {
    pub count: u8,
    /// Upstream statuses that are retried (connect failures always move to the next target).
    pub status_codes: Box<[StatusCode]>,
}

/// The HTTP version spoken to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UpstreamProtocol {
    /// HTTP/1.1, or HTTP/2 when a TLS upstream offers it in ALPN.
    #[default]
    Auto,
    /// HTTP/2 only: prior knowledge on `http://`, ALPN `h2` on `https://`.
    Http2,
}

/// One upstream URL, split once so that each request only appends its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: Scheme,
    pub authority: Authority,
    /// The URL's path without a trailing `/` (empty for the root).
    pub path: Arc<str>,
    /// The URL as configured, for logs.
    pub url: Arc<str>,
    /// The `Host` header an HTTP/1.1 request to this target carries: the authority, without
    /// the scheme's default port.
    pub host: HeaderValue,
    /// How requests reach this target: decided by its scheme and its endpoint's settings when
    /// the endpoint is built, bound to the gateway's clients by the first request.
    pub(crate) transport: TargetTransport,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("not an absolute URL")]
    NotAbsolute,
    #[error("scheme must be http or https")]
    Scheme,
    #[error("URL must not have a query or fragment")]
    Query,
}

// === impl Endpoints ===

impl Endpoints {
    /// The key types a credential may have to be served.
    pub fn key_types(&self) -> tollgate_enforcer::KeyTypes {
        tollgate_enforcer::KeyTypes { production: self.production.is_some(), sandbox: self.sandbox.is_some() }
    }
}

// === impl Endpoint ===

impl Endpoint {
    /// `targets` must be non-empty (the adapter checked).
    pub fn new(mut targets: Vec<Target>, strategy: Strategy, settings: EndpointSettings) -> Self {
        for target in &mut targets {
            target.transport = TargetTransport::new(&target.scheme, settings.protocol, settings.connect_timeout);
        }
        Endpoint { targets: targets.into(), strategy, settings, cursor: AtomicUsize::new(0) }
    }

    /// The order in which this request tries the targets: round robin starts at the next
    /// target in turn, failover always at the first.
    pub fn attempt_order(&self) -> impl Iterator<Item = &Target> {
        let len = self.targets.len();
        let start = match self.strategy {
            Strategy::LoadBalance => self.cursor.fetch_add(1, Ordering::Relaxed) % len.max(1),
            Strategy::Failover => 0,
        };
        (0..len).map(move |i| &self.targets[(start + i) % len])
    }
}

impl Default for EndpointSettings {
    fn default() -> Self {
        EndpointSettings {
            timeout: Duration::from_millis(30_000),
            connect_timeout: Duration::from_millis(5_000),
            retries: Retries::default(),
            protocol: UpstreamProtocol::Auto,
        }
    }
}

// === impl Target ===

impl Target {
    /// Parses an `http://` or `https://` URL with an optional path.
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        let uri: Uri = url.parse().map_err(|_| TargetError::NotAbsolute)?;
        let parts = uri.into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err(TargetError::NotAbsolute);
        };
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return Err(TargetError::Scheme);
        }
        if url.contains(['?', '#']) {
            return Err(TargetError::Query);
        }
        let path = parts.path_and_query.as_ref().map_or("", |pq| pq.path()).trim_end_matches('/');
        let host = host_header(&scheme, &authority).ok_or(TargetError::NotAbsolute)?;
        let defaults = EndpointSettings::default();
        let transport = TargetTransport::new(&scheme, defaults.protocol, defaults.connect_timeout);
        Ok(Target { scheme, authority, path: path.into(), url: url.into(), host, transport })
    }

    /// The protocol this target is spoken to in (see [`Endpoint::new`]).
    #[cfg(test)]
    pub(crate) fn wire(&self) -> TargetWire {
        self.transport.wire()
    }

    /// The upstream URI for a request: this target's path + `rest` (the normalised request
    /// path minus the base path) + the original query, byte for byte.
    pub fn uri_for(&self, rest: &str, query: Option<&str>) -> Result<Uri, http::Error> {
        let path = self.path_and_query(rest, query);
        Uri::builder().scheme(self.scheme.clone()).authority(self.authority.clone()).path_and_query(path).build()
    }

    /// The same request target in origin form (path and query only), for a connection
    /// already made to this target.
    pub fn origin_uri_for(&self, rest: &str, query: Option<&str>) -> Result<Uri, http::Error> {
        Uri::builder().path_and_query(self.path_and_query(rest, query)).build()
    }

    fn path_and_query(&self, rest: &str, query: Option<&str>) -> String {
        let mut path = String::with_capacity(self.path.len() + rest.len() + query.map_or(0, |q| q.len() + 1) + 1);
        path.push_str(&self.path);
        path.push_str(rest);
        if path.is_empty() {
            path.push('/');
        }
        if let Some(query) = query {
            path.push('?');
            path.push_str(query);
        }
        path
    }
}

/// `host[:port]`, the port left out when it is the scheme's default (as hyper-util does).
fn host_header(scheme: &Scheme, authority: &Authority) -> Option<HeaderValue> {
    let default_port = if *scheme == Scheme::HTTPS { 443 } else { 80 };
    // Concatenated, not formatted: every target of every API of a snapshot comes here.
    let value = match authority.port_u16() {
        Some(port) if port != default_port => [authority.host(), ":", &port.to_string()].concat(),
        _ => authority.host().to_owned(),
    };
    HeaderValue::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn contract_example_maps_byte_for_byte() {
        let uri = target("http://10.0.0.5:8080/v2").uri_for("/pets/7", Some("x=1")).ok();
        assert_eq!(uri.map(|u| u.to_string()).as_deref(), Some("http://10.0.0.5:8080/v2/pets/7?x=1"));
    }

    #[test]
    fn origin_form_and_host_for_a_made_connection() {
        let target = target("http://10.0.0.5:8080/v2");
        let uri = target.origin_uri_for("/pets/7", Some("x=1")).ok();
        assert_eq!(uri.map(|u| u.to_string()).as_deref(), Some("/v2/pets/7?x=1"));
        assert_eq!(target.host, "10.0.0.5:8080");
        assert_eq!(self::target("http://up:80/").host, "up");
        assert_eq!(self::target("https://up:443").host, "up");
        assert_eq!(self::target("https://[::1]:8443/a").host, "[::1]:8443");
        assert_eq!(
            self::target("http://up/").origin_uri_for("", None).ok().map(|u| u.to_string()).as_deref(),
            Some("/")
        );
    }

    #[test]
    fn root_targets_and_bare_base_paths_keep_a_path() {
        assert_eq!(
            target("http://up:1").uri_for("", None).ok().map(|u| u.to_string()).as_deref(),
            Some("http://up:1/")
        );
        assert_eq!(
            target("http://up:1/").uri_for("/a/", None).ok().map(|u| u.to_string()).as_deref(),
            Some("http://up:1/a/")
        );
        assert_eq!(
            target("https://up/v1/").uri_for("", Some("")).ok().map(|u| u.to_string()).as_deref(),
            Some("https://up/v1?")
        );
    }

    #[test]
    fn rejects_what_is_not_an_http_url() {
        assert_eq!(Target::parse("/relative"), Err(TargetError::NotAbsolute));
        assert_eq!(Target::parse("ftp://h/x"), Err(TargetError::Scheme));
        assert_eq!(Target::parse("http://h/x?y=1"), Err(TargetError::Query));
    }

    #[test]
    fn each_target_is_spoken_to_as_its_scheme_and_endpoint_say() {
        let targets = || vec![target("http://a"), target("https://b")];
        let auto = Endpoint::new(targets(), Strategy::LoadBalance, EndpointSettings::default());
        let wires: Vec<_> = auto.targets.iter().map(Target::wire).collect();
        assert_eq!(wires, [TargetWire::PlainHttp1, TargetWire::Tls]);
        let settings = EndpointSettings { protocol: UpstreamProtocol::Http2, ..EndpointSettings::default() };
        let http2 = Endpoint::new(targets(), Strategy::LoadBalance, settings);
        let wires: Vec<_> = http2.targets.iter().map(Target::wire).collect();
        assert_eq!(wires, [TargetWire::PlainHttp2, TargetWire::TlsHttp2]);
        assert_ne!(auto.targets[0], http2.targets[0], "spoken to differently, so not the same target");
    }

    #[test]
    fn round_robin_rotates_and_failover_starts_first() {
        let targets = vec![target("http://a"), target("http://b")];
        let lb = Endpoint::new(targets.clone(), Strategy::LoadBalance, EndpointSettings::default());
        let firsts: Vec<_> = (0..4).filter_map(|_| lb.attempt_order().next().map(|t| t.url.clone())).collect();
        assert_eq!(firsts.iter().map(|u| &**u).collect::<Vec<_>>(), ["http://a", "http://b", "http://a", "http://b"]);
        let fo = Endpoint::new(targets, Strategy::Failover, EndpointSettings::default());
        let order: Vec<_> = fo.attempt_order().map(|t| t.url.to_string()).collect();
        assert_eq!(order, ["http://a", "http://b"]);
    }
}
