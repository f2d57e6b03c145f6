use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue};
use tollgate_enforcer::Principal;
use tollgate_enforcer::model::KeyType;

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

/// Rejects what must never reach routing: ambiguous framing and oversized headers.
pub(super) fn check_framing(headers: &HeaderMap, max_header_bytes: usize) -> Result<(), Failure> {
    if headers.contains_key(CONTENT_LENGTH) && headers.contains_key(TRANSFER_ENCODING) {
        return Err(Failure::Malformed("both Content-Length and Transfer-Encoding"));
    }
    // Counted as on the wire: "name: value\r\n".
    let total: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if total > max_header_bytes {
        return Err(Failure::HeadersTooLarge);
    }
    Ok(())
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

fn new_request_id() -> HeaderValue {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// The identity headers for an admitted caller (none for unauthenticated operations).
pub(super) fn identity_headers(principal: Option<&Principal>) -> Vec<(HeaderName, HeaderValue)> {
    let Some(principal) = principal else { return Vec::new() };
    let key_type = match principal.key_type {
        KeyType::Production => HeaderValue::from_static("PRODUCTION"),
        KeyType::Sandbox => HeaderValue::from_static("SANDBOX"),
    };
    let mut headers = vec![(KEY_TYPE, key_type)];
    if let Some(app) = &principal.application {
        headers.extend(HeaderValue::from_str(&app.id).ok().map(|v| (APPLICATION_ID, v)));
        headers.extend(HeaderValue::from_str(&app.name).ok().map(|v| (APPLICATION_NAME, v)));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_framing_headers_are_malformed() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("5"));
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        assert!(matches!(check_framing(&headers, 65_536), Err(Failure::Malformed(_))));
    }

    #[test]
    fn header_total_over_the_limit_is_431() {
        let mut headers = HeaderMap::new();
        headers.insert("x-big", HeaderValue::from_bytes(&[b'a'; 100]).unwrap_or(HeaderValue::from_static("")));
        assert!(check_framing(&headers, 200).is_ok());
        assert!(matches!(check_framing(&headers, 100), Err(Failure::HeadersTooLarge)));
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
}
