//! Message heads of the lean exchange: the request head written, the response head read,
//! and how the response body is delimited (RFC 9112 6.3).

use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Version};

use super::LeanRequest;

/// Most header fields in a response head (as hyper).
pub(super) const MAX_HEADERS: usize = 100;
/// Largest response head, informational ones included.
pub(super) const MAX_HEAD: usize = 64 * 1024;

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body: `HEAD`, `204`, `304`, or `Content-Length: 0`.
    Empty,
    Length(u64),
    Chunked,
    /// Until the upstream closes the connection.
    UntilClose,
}

/// A response head and what it says about the body and the connection.
#[derive(Debug)]
pub(super) struct ResponseHead {
    pub(super) response: Response<()>,
    pub(super) framing: Framing,
    /// The connection may carry another request once this body is read.
    pub(super) reusable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HeadError {
    #[error("malformed response head: {0}")]
    Malformed(#[from] httparse::Error),
    #[error("response head larger than {MAX_HEAD} bytes")]
    TooLarge,
    #[error("invalid response header field")]
    BadField,
    #[error("invalid or conflicting Content-Length")]
    BadContentLength,
    #[error("Transfer-Encoding in an HTTP/1.0 response")]
    TransferEncodingOnHttp10,
    #[error("unsolicited 101 Switching Protocols")]
    UnexpectedSwitch,
}

/// Where a header's name and value lie in the head (which is at most [`MAX_HEAD`] long).
#[derive(Debug, Clone, Copy, Default)]
struct FieldIndices {
    name: (u32, u32),
    value: (u32, u32),
}

/// A request target in origin form: the target's base path, the rest of the request path
/// (either may be empty; both empty is `/`) and the query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OriginForm<'a> {
    pub(crate) base: &'a str,
    pub(crate) rest: &'a str,
    pub(crate) query: Option<&'a str>,
}

impl OriginForm<'_> {
    /// No space, control character or DEL anywhere, so the request line cannot be split.
    pub(super) fn is_safe(&self) -> bool {
        let safe = |part: &str| part.bytes().all(|b| b > b' ' && b != 0x7f);
        safe(self.base) && safe(self.rest) && self.query.is_none_or(safe)
    }

    fn write(&self, dst: &mut Vec<u8>) {
        dst.extend_from_slice(self.base.as_bytes());
        dst.extend_from_slice(self.rest.as_bytes());
        if self.base.is_empty() && self.rest.is_empty() {
            dst.push(b'/');
        }
        if let Some(query) = self.query {
            dst.push(b'?');
            dst.extend_from_slice(query.as_bytes());
        }
    }
}

/// Writes an HTTP/1.1 request head with no body: request line, `Host`, the request's
/// headers except `Host`, `Content-Length` and `Transfer-Encoding`, then the asserted ones.
/// `Content-Length: 0` is sent when the request carried one or the method is one that
/// usually has a body, so the upstream never waits for body bytes that will not come.
pub(super) fn write_request(dst: &mut Vec<u8>, request: &LeanRequest<'_>) {
    let method = request.method;
    dst.extend_from_slice(method.as_str().as_bytes());
    dst.push(b' ');
    request.target.write(dst);
    dst.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    dst.extend_from_slice(request.host.as_bytes());
    dst.extend_from_slice(b"\r\n");
    let mut had_length = false;
    for (name, value) in request.headers {
        if *name == CONTENT_LENGTH {
            had_length = true;
            continue;
        }
        if *name == HOST || *name == TRANSFER_ENCODING {
            continue;
        }
        write_field(dst, name, value);
    }
    for (name, value) in request.asserted.iter() {
        write_field(dst, name, value);
    }
    if let Some(traceparent) = request.asserted.traceparent() {
        dst.extend_from_slice(b"traceparent: ");
        dst.extend_from_slice(traceparent);
        dst.extend_from_slice(b"\r\n");
    }
    if had_length || [Method::POST, Method::PUT, Method::PATCH].contains(method) {
        dst.extend_from_slice(b"content-length: 0\r\n");
    }
    dst.extend_from_slice(b"\r\n");
}

fn write_field(dst: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue) {
    dst.extend_from_slice(name.as_str().as_bytes());
    dst.extend_from_slice(b": ");
    dst.extend_from_slice(value.as_bytes());
    dst.extend_from_slice(b"\r\n");
}

/// Takes the response head off the front of `buf`, skipping informational (1xx) ones;
/// `None` while it has not fully arrived. `method` is the request's.
pub(super) fn parse_response(buf: &mut BytesMut, method: &Method) -> Result<Option<ResponseHead>, HeadError> {
    loop {
        let mut fields = [const { MaybeUninit::uninit() }; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut []);
        let length = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut parsed,
            buf,
            &mut fields,
        )? {
            httparse::Status::Complete(length) if length <= MAX_HEAD => length,
            httparse::Status::Partial if buf.len() <= MAX_HEAD => return Ok(None),
            httparse::Status::Complete(_) | httparse::Status::Partial => return Err(HeadError::TooLarge),
        };
        let code = parsed.code.unwrap_or_default();
        match code {
            101 => return Err(HeadError::UnexpectedSwitch),
            100..=199 => {
                buf.advance(length);
                continue;
            }
            _ => {}
        }
        let version = if parsed.version == Some(0) { Version::HTTP_10 } else { Version::HTTP_11 };
        let mut indices = [FieldIndices::default(); MAX_HEADERS];
        let count = parsed.headers.len();
        for (slot, field) in indices.iter_mut().zip(parsed.headers.iter()) {
            *slot = FieldIndices { name: span(buf, field.name.as_bytes()), value: span(buf, field.value) };
        }
        let head = buf.split_to(length).freeze();
        let mut headers = HeaderMap::with_capacity(count);
        for field in &indices[..count] {
            let name = head.get(range(field.name)).ok_or(HeadError::BadField)?;
            let name = HeaderName::from_bytes(name).map_err(|_| HeadError::BadField)?;
            let value = range(field.value);
            if value.end > head.len() {
                return Err(HeadError::BadField);
            }
            let value = HeaderValue::from_maybe_shared(head.slice(value)).map_err(|_| HeadError::BadField)?;
            headers.append(name, value);
        }
        let status = StatusCode::from_u16(code).map_err(|_| HeadError::Malformed(httparse::Error::Status))?;
        let (framing, reusable) = framing(status, method, version, &mut headers)?;
        let mut response = Response::new(());
        *response.status_mut() = status;
        *response.version_mut() = version;
        *response.headers_mut() = headers;
        return Ok(Some(ResponseHead { response, framing, reusable }));
    }
}

/// The offsets of `part` (a slice of `whole`, a head no longer than [`MAX_HEAD`]) in `whole`.
fn span(whole: &[u8], part: &[u8]) -> (u32, u32) {
    let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    let offset = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (offset(start), offset(start + part.len()))
}

fn range((start, end): (u32, u32)) -> std::ops::Range<usize> {
    start as usize..end as usize
}

/// The body's framing and whether the connection outlives it. A `Content-Length` beside
/// `Transfer-Encoding` is removed (the latter wins) and the connection is not reused.
fn framing(
    status: StatusCode,
    method: &Method,
    version: Version,
    headers: &mut HeaderMap,
) -> Result<(Framing, bool), HeadError> {
    let mut reusable = version == Version::HTTP_11 && !lists_close(headers);
    if *method == Method::HEAD || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return Ok((Framing::Empty, reusable));
    }
    if headers.contains_key(TRANSFER_ENCODING) {
        if version == Version::HTTP_10 {
            return Err(HeadError::TransferEncodingOnHttp10);
        }
        if headers.remove(CONTENT_LENGTH).is_some() {
            reusable = false;
        }
        return Ok(match ends_in_chunked(headers) {
            true => (Framing::Chunked, reusable),
            false => (Framing::UntilClose, false),
        });
    }
    Ok(match content_length(headers)? {
        Some(0) => (Framing::Empty, reusable),
        Some(length) => (Framing::Length(length), reusable),
        None => (Framing::UntilClose, false),
    })
}

/// The one `Content-Length`: every value of every field must be the same decimal number.
fn content_length(headers: &HeaderMap) -> Result<Option<u64>, HeadError> {
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for item in value.as_bytes().split(|&b| b == b',').map(<[u8]>::trim_ascii) {
            let parsed = parse_decimal(item).ok_or(HeadError::BadContentLength)?;
            if length.is_some_and(|seen| seen != parsed) {
                return Err(HeadError::BadContentLength);
            }
            length = Some(parsed);
        }
    }
    Ok(length)
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

/// `true` when the last transfer coding (of the last field) is `chunked`.
fn ends_in_chunked(headers: &HeaderMap) -> bool {
    let last = headers.get_all(TRANSFER_ENCODING).iter().next_back();
    let coding = last.and_then(|value| value.as_bytes().rsplit(|&b| b == b',').next());
    coding.is_some_and(|coding| coding.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

/// `true` when a `Connection` field lists `close`.
fn lists_close(headers: &HeaderMap) -> bool {
    headers.get_all(CONNECTION).iter().any(|value| {
        value.as_bytes().split(|&b| b == b',').any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::Asserted;

    fn parse(wire: &str, method: &Method) -> Result<Option<ResponseHead>, HeadError> {
        parse_response(&mut BytesMut::from(wire), method)
    }

    fn framed(wire: &str) -> (Framing, bool) {
        match parse(wire, &Method::GET) {
            Ok(Some(head)) => (head.framing, head.reusable),
            other => panic!("{wire:?}: {other:?}"),
        }
    }

    fn written(method: &Method, target: OriginForm<'_>, headers: &HeaderMap) -> String {
        let host = HeaderValue::from_static("up:8080");
        let asserted = Asserted::default();
        let request = LeanRequest { method, target, host: &host, headers, asserted: &asserted };
        let mut head = Vec::new();
        write_request(&mut head, &request);
        String::from_utf8_lossy(&head).into_owned()
    }

    #[test]
    fn asserted_headers_follow_the_clients_and_traceparent_comes_last() {
        use crate::trace::{SpanId, TraceId, Traceparent};
        let value = HeaderValue::from_static("v");
        let mut asserted = Asserted::default();
        asserted.set(HeaderName::from_static("x-request-id"), value.clone());
        asserted.set(HeaderName::from_static("tracestate"), value);
        let traceparent = Traceparent::value(&TraceId::random(), &SpanId::random(), true);
        asserted.set_traceparent(traceparent);
        let (method, host, headers) = (Method::GET, HeaderValue::from_static("up"), HeaderMap::new());
        let target = OriginForm { base: "", rest: "/a", query: None };
        let request = LeanRequest { method: &method, target, host: &host, headers: &headers, asserted: &asserted };
        let mut head = Vec::new();
        write_request(&mut head, &request);
        let traceparent = String::from_utf8_lossy(traceparent.as_bytes());
        let expected = format!(
            "GET /a HTTP/1.1\r\nhost: up\r\nx-request-id: v\r\ntracestate: v\r\ntraceparent: {traceparent}\r\n\r\n"
        );
        assert_eq!(String::from_utf8_lossy(&head), expected);
    }

    #[test]
    fn request_head_has_host_first_and_no_body_framing_of_the_client() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("client.example"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("5"));
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        let target = OriginForm { base: "/v2", rest: "/p", query: Some("q=1") };
        let expected = "GET /v2/p?q=1 HTTP/1.1\r\nhost: up:8080\r\nx-a: 1\r\nx-a: 2\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(written(&Method::GET, target, &headers), expected);
        let root = OriginForm { base: "", rest: "", query: None };
        assert_eq!(written(&Method::DELETE, root, &HeaderMap::new()), "DELETE / HTTP/1.1\r\nhost: up:8080\r\n\r\n");
        let post = written(&Method::POST, root, &HeaderMap::new());
        assert_eq!(post, "POST / HTTP/1.1\r\nhost: up:8080\r\ncontent-length: 0\r\n\r\n");
    }

    #[test]
    fn targets_that_could_split_the_request_line_are_unsafe() {
        assert!(OriginForm { base: "/a", rest: "/b%20c", query: Some("x=1&y=%0D") }.is_safe());
        for (rest, query) in [("/b c", None), ("/b", Some("x=1 HTTP/1.1")), ("/b\r\nx: y", None), ("/b\u{7f}", None)] {
            assert!(!OriginForm { base: "", rest, query }.is_safe(), "{rest:?} {query:?}");
        }
    }

    #[test]
    fn parses_head_and_leaves_the_body() {
        let mut buf =
            BytesMut::from("HTTP/1.1 201 Created\r\nContent-Length: 3\r\nX-Multi: a\r\nx-multi: b\r\n\r\nabcNEXT");
        let head = parse_response(&mut buf, &Method::POST).ok().flatten();
        let Some(head) = head else { panic!("no head") };
        assert_eq!(head.response.status(), StatusCode::CREATED);
        assert_eq!(head.response.version(), Version::HTTP_11);
        let multi: Vec<_> = head.response.headers().get_all("x-multi").iter().collect();
        assert_eq!(multi, ["a", "b"]);
        assert_eq!((head.framing, head.reusable), (Framing::Length(3), true));
        assert_eq!(&buf[..], b"abcNEXT");
    }

    #[test]
    fn partial_heads_wait_and_informational_ones_are_skipped() {
        assert!(matches!(parse("HTTP/1.1 200 OK\r\nContent-Len", &Method::GET), Ok(None)));
        let wire = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(framed(wire), (Framing::Empty, true));
        assert!(matches!(
            parse("HTTP/1.1 101 Switching Protocols\r\n\r\n", &Method::GET),
            Err(HeadError::UnexpectedSwitch)
        ));
    }

    #[test]
    fn framing_follows_rfc_9112() {
        assert_eq!(framed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), (Framing::Chunked, true));
        assert_eq!(framed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), (Framing::UntilClose, false));
        assert_eq!(
            framed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n"),
            (Framing::Chunked, false)
        );
        assert_eq!(framed("HTTP/1.1 200 OK\r\n\r\n"), (Framing::UntilClose, false));
        assert_eq!(
            framed("HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\nContent-Length: 7\r\n\r\n"),
            (Framing::Length(7), true)
        );
        assert_eq!(framed("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"), (Framing::Empty, true));
        assert_eq!(
            framed("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 1\r\n\r\n"),
            (Framing::Length(1), false)
        );
        assert_eq!(framed("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n"), (Framing::Length(1), false));
        let head = parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", &Method::HEAD);
        assert!(matches!(head, Ok(Some(ResponseHead { framing: Framing::Empty, reusable: true, .. }))));
    }

    #[test]
    fn the_chunked_body_loses_its_content_length() {
        let wire = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n";
        let Ok(Some(head)) = parse(wire, &Method::GET) else { panic!("no head") };
        assert!(!head.response.headers().contains_key(CONTENT_LENGTH));
    }

    #[test]
    fn rejects_bad_lengths_and_heads() {
        for wire in [
            "HTTP/1.1 200 OK\r\nContent-Length: 7, 8\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        ] {
            assert!(matches!(parse(wire, &Method::GET), Err(HeadError::BadContentLength)), "{wire:?}");
        }
        let te_on_10 = parse("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &Method::GET);
        assert!(matches!(te_on_10, Err(HeadError::TransferEncodingOnHttp10)));
        assert!(matches!(parse("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", &Method::GET), Err(HeadError::Malformed(_))));
        assert!(matches!(parse("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", &Method::GET), Err(HeadError::Malformed(_))));
        let huge = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(matches!(parse(&huge, &Method::GET), Err(HeadError::TooLarge)));
        let unfinished = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEAD));
        assert!(matches!(parse(&unfinished, &Method::GET), Err(HeadError::TooLarge)));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: v\r\n")).collect();
        let too_many = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        assert!(matches!(parse(&too_many, &Method::GET), Err(HeadError::Malformed(httparse::Error::TooManyHeaders))));
    }
}
