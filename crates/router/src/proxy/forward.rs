use std::net::IpAddr;

use bytes::{BufMut, BytesMut};
use http::header::{CONNECTION, HOST, TE, TRAILER, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Version};

use super::asserted::{Asserted, X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO, X_REQUEST_ID};
use crate::trace::{RequestTrace, TRACEPARENT, TRACESTATE};

/// What the gateway asserts on a forwarded request (client.md, "Forwarding").
#[derive(Debug, Clone, Copy)]
pub struct ForwardHeaders<'a> {
    /// The client's address as [`client_ip_value`] writes it, appended to `X-Forwarded-For`.
    pub client_ip: &'a HeaderValue,
    /// `"https"` or `"http"`: the scheme the client used, sent as `X-Forwarded-Proto`.
    pub proto: &'static str,
    /// The client's original host (`Host` or `:authority`), sent as `X-Forwarded-Host`.
    pub host: Option<&'a HeaderValue>,
    /// Sent as `X-Request-ID` (the pipeline decides whether to keep the client's).
    pub request_id: &'a HeaderValue,
    /// The header that carries the Api's bearer token; never forwarded.
    pub credential_header: Option<&'a HeaderName>,
    /// The header that carries the Api's API key; never forwarded.
    pub api_key_header: Option<&'a HeaderName>,
    /// Gateway-asserted headers (e.g. `X-Tollgate-Application-Id`), set after every incoming
    /// copy of their names (and of any `x-tollgate-*` header) was removed.
    pub identity: &'a [(HeaderName, HeaderValue)],
    /// While `[backend_jwt]` is configured: the header backend JWTs travel in (every client
    /// copy is removed) and this request's JWT, when it has one (client.md, "Backend JWT").
    pub backend_jwt: Option<(&'a HeaderName, Option<&'a HeaderValue>)>,
}

impl<'a> ForwardHeaders<'a> {
    /// What every forwarded request asserts about its client, and nothing else: no host, no
    /// credential or identity header, no backend JWT (set those with struct update syntax).
    pub fn new(client_ip: &'a HeaderValue, proto: &'static str, request_id: &'a HeaderValue) -> Self {
        ForwardHeaders {
            client_ip,
            proto,
            host: None,
            request_id,
            credential_header: None,
            api_key_header: None,
            identity: &[],
            backend_jwt: None,
        }
    }
}

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Hop-by-hop headers by name (RFC 9110 7.6.1); `Proxy-*` and the headers `Connection`
/// names are removed as well.
const HOP_BY_HOP: [HeaderName; 6] = [CONNECTION, KEEP_ALIVE, TE, TRAILER, TRANSFER_ENCODING, UPGRADE];
const PROXY_PREFIX: &str = "proxy-";
/// The gateway's own header namespace: a client can never send one of these upstream.
const IDENTITY_PREFIX: &str = "x-tollgate-";

/// Rewrites a client request's headers for the upstream, in place, and returns the headers
/// the gateway asserts, to be sent after them. `version` is the client's HTTP version.
///
/// - Hop-by-hop headers go: `Connection` and every header it names, `Keep-Alive`, `Proxy-*`,
///   `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`. An HTTP/1.1 WebSocket upgrade keeps
///   `Connection: upgrade` and its `Upgrade` (and `Sec-WebSocket-*`), so it is proxied as one.
/// - `Host` goes: the upstream client sets it to the target's authority (HTTP/1.1), or the
///   URI authority is sent as `:authority` (HTTP/2).
/// - Asserted: `X-Forwarded-For` (the incoming chain with the client IP appended),
///   `X-Forwarded-Proto`, `X-Forwarded-Host` (none when `host` is `None`), `X-Request-ID`,
///   and `identity`; incoming copies of these names and every `x-tollgate-*` header go.
/// - The credential headers go (the bearer token's and the API key's).
/// - With `backend_jwt`: see [`replace_backend_jwt`].
pub fn prepare_request_headers(headers: &mut HeaderMap, version: Version, fwd: &ForwardHeaders<'_>) -> Asserted {
    let upgrade = is_websocket_upgrade(version, headers);
    let forwarded_for = appended_forwarded_for(headers, fwd.client_ip);
    remove_request_only_headers(headers, fwd);
    strip_hop_by_hop(headers, upgrade);
    let mut asserted = Asserted::forwarding(forwarded_for, fwd.proto, fwd.host.cloned(), fwd.request_id.clone());
    asserted.extend(fwd.identity.iter().cloned());
    if let Some((header, jwt)) = fwd.backend_jwt {
        replace_backend_jwt(headers, &mut asserted, header, jwt.cloned());
    }
    asserted
}

/// Removes the request headers that never reach the upstream besides the hop-by-hop ones:
/// `Host` and the credential headers by name (each request has some), then, in one pass over
/// the (few) names present, every `x-tollgate-*` header and every incoming copy of an
/// asserted header name (the list allocated only when there is one).
fn remove_request_only_headers(headers: &mut HeaderMap, fwd: &ForwardHeaders<'_>) {
    headers.remove(HOST);
    for credential in [fwd.credential_header, fwd.api_key_header].into_iter().flatten() {
        headers.remove(credential);
    }
    let doomed = |name: &HeaderName| {
        name.as_str().starts_with(IDENTITY_PREFIX)
            || [X_FORWARDED_FOR, X_FORWARDED_PROTO, X_FORWARDED_HOST, X_REQUEST_ID].contains(name)
            || fwd.identity.iter().any(|(identity, _)| identity == name)
    };
    let doomed: Vec<HeaderName> = headers.keys().filter(|name| doomed(name)).cloned().collect();
    for name in doomed {
        headers.remove(name);
    }
}

/// The backend JWT (client.md, "Backend JWT"): every client copy of `header` is removed, and
/// `jwt`, when the request has one, is asserted in its place. Called for every request while
/// `[backend_jwt]` is configured, whatever the Api.
pub(super) fn replace_backend_jwt(
    headers: &mut HeaderMap,
    asserted: &mut Asserted,
    header: &HeaderName,
    jwt: Option<HeaderValue>,
) {
    headers.remove(header);
    asserted.extend(jwt.map(|jwt| (header.clone(), jwt)));
}

/// The W3C Trace Context headers the upstream receives instead of the client's: the client's
/// `tracestate` (when its `traceparent` was valid), asserted here, and a `traceparent` that the
/// proxy sets per attempt.
pub(super) fn prepare_trace_headers(headers: &mut HeaderMap, asserted: &mut Asserted, trace: &RequestTrace) {
    headers.remove(TRACEPARENT);
    headers.remove(TRACESTATE);
    if let Some(tracestate) = trace.tracestate() {
        asserted.extend([(TRACESTATE, tracestate.clone())]);
    }
}

/// Strips hop-by-hop headers from an upstream response, in place (the same set as for
/// requests). A WebSocket upgrade response (`Connection: upgrade`, `Upgrade: websocket`)
/// keeps those two headers so the client's upgrade completes.
pub fn prepare_response_headers(headers: &mut HeaderMap) {
    let upgrade = connection_names(headers, "upgrade") && upgrades_to_websocket(headers);
    strip_hop_by_hop(headers, upgrade);
}

/// `true` for an HTTP/1.1 request that asks to switch to WebSocket.
pub(super) fn is_websocket_upgrade(version: Version, headers: &HeaderMap) -> bool {
    version == Version::HTTP_11 && connection_names(headers, "upgrade") && upgrades_to_websocket(headers)
}

/// Removes the headers that ask for an upgrade, for when it cannot be carried out.
pub(super) fn cancel_upgrade(headers: &mut HeaderMap) {
    headers.remove(CONNECTION);
    headers.remove(UPGRADE);
}

/// Removes the hop-by-hop headers, in one pass over the names present (the list allocated
/// only when there is one). A kept
/// WebSocket upgrade is put back as `Connection: upgrade` with its `Upgrade`.
fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let upgrade = keep_upgrade.then(|| headers.remove(UPGRADE)).flatten();
    let listed = connection_listed(headers);
    let hop_by_hop: Vec<HeaderName> =
        headers.keys().filter(|name| is_hop_by_hop(name) || listed.contains(name)).cloned().collect();
    for name in hop_by_hop {
        headers.remove(name);
    }
    if let Some(upgrade) = upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, upgrade);
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name) || name.as_str().starts_with(PROXY_PREFIX)
}

/// A client's address as `X-Forwarded-For` carries it: IPv4-mapped IPv6 addresses as IPv4.
/// Made once per client connection.
pub fn client_ip_value(ip: IpAddr) -> HeaderValue {
    HeaderValue::try_from(ip.to_canonical().to_string()).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The incoming `X-Forwarded-For` values (all lines, joined with ", ") followed by `ip`.
fn appended_forwarded_for(headers: &HeaderMap, ip: &HeaderValue) -> HeaderValue {
    if !headers.contains_key(&X_FORWARDED_FOR) {
        return ip.clone();
    }
    let mut joined = BytesMut::new();
    for value in headers.get_all(&X_FORWARDED_FOR) {
        joined.put_slice(value.as_bytes());
        joined.put_slice(b", ");
    }
    joined.put_slice(ip.as_bytes());
    // Joined header values stay valid; should that ever fail, the client's chain is dropped.
    HeaderValue::from_maybe_shared(joined.freeze()).unwrap_or_else(|_| ip.clone())
}

/// The header names listed in `Connection` (all lines), except `upgrade` and `Connection` itself.
fn connection_listed(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .filter_map(|token| HeaderName::from_bytes(token.trim_ascii()).ok())
        .filter(|name| *name != UPGRADE && *name != CONNECTION)
        .collect()
}

/// `true` when a `Connection` header lists `token` (case-insensitive).
fn connection_names(headers: &HeaderMap, token: &str) -> bool {
    headers.get_all(CONNECTION).iter().any(|value| tokens(value).any(|t| t.eq_ignore_ascii_case(token.as_bytes())))
}

/// `true` when `Upgrade` offers `websocket` (any version suffix, case-insensitive).
fn upgrades_to_websocket(headers: &HeaderMap) -> bool {
    headers.get_all(UPGRADE).iter().any(|value| {
        tokens(value).any(|t| t.split(|&b| b == b'/').next().is_some_and(|p| p.eq_ignore_ascii_case(b"websocket")))
    })
}

fn tokens(value: &HeaderValue) -> impl Iterator<Item = &[u8]> {
    value.as_bytes().split(|&b| b == b',').map(<[u8]>::trim_ascii)
}
