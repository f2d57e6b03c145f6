use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Version};
use smallvec::SmallVec;
use tollgate_enforcer::Principal;
use tollgate_enforcer::model::KeyType;

use super::{Connection, PipelineSettings};
use crate::failure::Failure;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const APPLICATION_ID: HeaderName = HeaderName::from_static("x-tollgate-application-id");
const APPLICATION_NAME: HeaderName = HeaderName::from_static("x-tollgate-application-name");
const KEY_TYPE: HeaderName = HeaderName::from_static("x-tollgate-key-type");

/// Headers the gateway asserts to upstreams about the authenticated caller. The proxy removes
/// every incoming `x-tollgate-*` header first, so a client can never set them.
pub const IDENTITY_HEADERS: [HeaderName; 3] = [APPLICATION_ID, APPLICATION_NAME, KEY_TYPE];

/// Client-chosen request ids longer than this are replaced.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Rejects what must never reach routing: ambiguous framing, more than one `Host` or none on
/// HTTP/1.1 (RFC 9112 §3.2), oversized headers or too many fields, and a transfer coding other than `chunked`
/// (RFC 9112 §6.1: 501; forwarding it as plain chunked would silently drop the coding).
pub(super) fn check_framing<B>(
    request: &Request<B>,
    connection: &Connection,
    limits: &PipelineSettings,
) -> Result<(), Failure> {
    let headers = request.headers();
    let both = headers.contains_key(CONTENT_LENGTH) && headers.contains_key(TRANSFER_ENCODING);
    if both || connection.ambiguous_framing {
        return Err(Failure::Malformed("both Content-Length and Transfer-Encoding"));
    }
    if headers.get_all(HOST).iter().nth(1).is_some() {
        return Err(Failure::Malformed("more than one Host header"));
    }
    // Counted as on the wire: "name: value\r\n".
    let total: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if total > limits.max_header_bytes || headers.len() > limits.max_header_count {
        return Err(Failure::HeadersTooLarge);
    }
    if request.version() == Version::HTTP_11 && !headers.contains_key(HOST) {
        return Err(Failure::Malformed("an HTTP/1.1 request without Host"));
    }
    if !headers.get_all(TRANSFER_ENCODING).iter().all(is_chunked) {
        return Err(Failure::UnsupportedTransferCoding);
    }
    Ok(())
}

/// A `Transfer-Encoding` value that is exactly `chunked` (hyper has already refused one
/// whose last coding is not `chunked`).
fn is_chunked(value: &HeaderValue) -> bool {
    value.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked")
}

/// The client's `X-Request-ID` when it is a sane token, else a new UUID.
pub(super) fn request_id(headers: &HeaderMap) -> HeaderValue {
    let sane = |v: &&HeaderValue| {
        !v.is_empty() && v.len() <= MAX_REQUEST_ID_LEN && v.as_bytes().iter().all(|b| b.is_ascii_graphic())
    };
    match headers.get(X_REQUEST_ID).filter(sane) {
        Some(id) => id.clone(),
        None => new_request_id(),
    }
}

/// A new UUID, marked sensitive so that HTTP/2's HPACK encoder writes it as a literal that is
/// never indexed: a value unique to each response would otherwise take a dynamic-table entry
/// per response and evict the entries that do repeat (`content-type`, `server`, ...).
fn new_request_id() -> HeaderValue {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    let mut value = HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("-"));
    value.set_sensitive(true);
    value
}

/// The identity headers of one request, at most three, kept inline rather than allocated.
pub(super) type IdentityHeaders = SmallVec<[(HeaderName, HeaderValue); 3]>;

/// The identity headers for an admitted caller (none for unauthenticated operations).
pub(super) fn identity_headers(principal: Option<&Principal>) -> IdentityHeaders {
    let mut headers = IdentityHeaders::new();
    let Some(principal) = principal else { return headers };
    let key_type = match principal.key_type {
        KeyType::Production => HeaderValue::from_static("PRODUCTION"),
        KeyType::Sandbox => HeaderValue::from_static("SANDBOX"),
    };
    headers.push((KEY_TYPE, key_type));
    if let Some(app) = &principal.application {
        headers.extend(app.id_header.clone().map(|id| (APPLICATION_ID, id)));
        headers.extend(app.name_header.clone().map(|name| (APPLICATION_NAME, name)));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        Connection::new(std::net::SocketAddr::from(([127, 0, 0, 1], 1)), true)
    }

    const LIMITS: PipelineSettings = PipelineSettings { max_header_bytes: 65_536, max_header_count: 100 };

    fn request(headers: &[(&'static str, &'static str)]) -> Request<()> {
        let mut request = Request::new(());
        for (name, value) in headers {
            request.headers_mut().append(*name, HeaderValue::from_static(value));
        }
        request
    }

    #[test]
    fn ambiguous_framing_and_duplicate_hosts_are_malformed() {
        let both = request(&[("content-length", "5"), ("transfer-encoding", "chunked")]);
        assert!(matches!(check_framing(&both, &connection(), &LIMITS), Err(Failure::Malformed(_))));
        let seen_on_the_wire = Connection { ambiguous_framing: true, ..connection() };
        assert!(matches!(check_framing(&request(&[]), &seen_on_the_wire, &LIMITS), Err(Failure::Malformed(_))));
        let hosts = request(&[("host", "a"), ("host", "b")]);
        assert!(matches!(check_framing(&hosts, &connection(), &LIMITS), Err(Failure::Malformed(_))));
        assert!(check_framing(&request(&[("host", "a")]), &connection(), &LIMITS).is_ok());
    }

    #[test]
    fn http11_needs_a_host_and_only_chunked_is_a_transfer_coding() {
        let no_host = request(&[]);
        assert!(matches!(check_framing(&no_host, &connection(), &LIMITS), Err(Failure::Malformed(_))));
        let mut http10 = request(&[]);
        *http10.version_mut() = Version::HTTP_10;
        assert!(check_framing(&http10, &connection(), &LIMITS).is_ok(), "HTTP/1.0 may omit Host");
        for coding in ["gzip, chunked", "chunked, chunked", "gzip"] {
            let coded = request(&[("host", "a"), ("transfer-encoding", coding)]);
            let refused = check_framing(&coded, &connection(), &LIMITS);
            assert!(matches!(refused, Err(Failure::UnsupportedTransferCoding)), "{coding}");
        }
        let chunked = request(&[("host", "a"), ("transfer-encoding", " Chunked ")]);
        assert!(check_framing(&chunked, &connection(), &LIMITS).is_ok());
    }

    #[test]
    fn header_total_over_the_limit_is_431() {
        let mut big = Request::new(());
        big.headers_mut().insert(HOST, HeaderValue::from_static("a"));
        big.headers_mut()
            .insert("x-big", HeaderValue::from_bytes(&[b'a'; 100]).unwrap_or(HeaderValue::from_static("")));
        let limits = |max_header_bytes| PipelineSettings { max_header_bytes, ..LIMITS };
        assert!(check_framing(&big, &connection(), &limits(300)).is_ok());
        assert!(matches!(check_framing(&big, &connection(), &limits(100)), Err(Failure::HeadersTooLarge)));
    }

    #[test]
    fn more_fields_than_the_limit_is_431() {
        let mut many = request(&[("host", "a"), ("x-a", "1"), ("x-a", "2")]);
        let limits = PipelineSettings { max_header_count: 3, ..LIMITS };
        assert!(check_framing(&many, &connection(), &limits).is_ok());
        many.headers_mut().append("x-b", HeaderValue::from_static("3"));
        assert!(matches!(check_framing(&many, &connection(), &limits), Err(Failure::HeadersTooLarge)));
    }

    #[test]
    fn request_id_is_kept_when_sane_and_replaced_otherwise() {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("has space"));
        assert_eq!(request_id(&headers).len(), 36);
        headers.remove(X_REQUEST_ID);
        assert_ne!(request_id(&headers), request_id(&headers));
    }

    #[test]
    fn a_new_request_id_is_never_indexed_by_hpack_but_a_clients_is_kept_as_sent() {
        assert!(request_id(&HeaderMap::new()).is_sensitive());
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert!(!request_id(&headers).is_sensitive());
    }
}
