//! Request heads as the lean path reads them: a bodiless request it serves itself, or the
//! decision to hand the connection to hyper.
//!
//! The head is parsed with the parser and configuration hyper's server uses (httparse,
//! default strictness: no obs-fold, no space before a colon, no invalid bytes), and only a
//! request with nothing to frame is served here. Whatever else a head may say — a body, a
//! transfer coding, an upgrade, an expectation, a malformed line, too many fields, too many
//! bytes — goes to hyper untouched, so every framing and smuggling rule stays hyper's.

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

/// Header fields the parser has room for on the stack; a head with more goes to hyper.
const MAX_FIELDS: usize = 128;
/// The longest request target hyper accepts (its `MAX_URI_LEN`); longer ones go to hyper.
const MAX_TARGET: usize = (u16::MAX - 1) as usize;

/// How much of a request head the lean path reads before it hands the connection over.
#[derive(Debug, Clone, Copy)]
pub(in crate::server) struct HeadLimits {
    /// hyper's read buffer size: a longer head is hyper's to refuse.
    pub(in crate::server) bytes: usize,
    /// Header fields parsed: one above the contract's limit, so the pipeline answers 431.
    pub(in crate::server) fields: usize,
}

/// What the front of the read buffer holds.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "returned and taken apart at once, never stored; boxing would allocate per request"
)]
pub(super) enum Head {
    /// Not a complete head yet, and still within the limits.
    Partial,
    /// A bodiless request, taken off the buffer.
    Simple(SimpleRequest),
    /// Anything else; the buffer is as it was.
    HandOver(HandOver),
}

/// A request the lean path serves.
#[derive(Debug)]
pub(super) struct SimpleRequest {
    pub(super) request: Request<()>,
    /// The client lets the connection carry another request (hyper's reading of
    /// `Connection` and the version).
    pub(super) keep_alive: bool,
}

/// Why a head is hyper's to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HandOver {
    /// httparse refused it (hyper answers 400, or sees an HTTP/2 preface).
    Malformed,
    /// More bytes or fields than the lean path reads (hyper answers 431, or the pipeline).
    TooLarge,
    /// It has, or may have, a body.
    Body,
    /// `Upgrade`, `CONNECT` or `Expect`: the connection may change hands or wait.
    Upgrade,
    /// A name, target or method the `http` types refuse (hyper answers 400).
    Unusual,
}

/// The framing facts of a head, before anything is built from it.
#[derive(Debug, Default)]
struct Facts {
    keep_alive: bool,
    saw_close: bool,
    content_length_zero: bool,
}

// === impl HeadLimits ===

impl HeadLimits {
    fn fields(&self) -> usize {
        self.fields.clamp(1, MAX_FIELDS)
    }
}

/// Looks at the front of `buf`; a simple request's head is taken off it.
pub(super) fn read(buf: &mut BytesMut, limits: HeadLimits) -> Head {
    let mut fields = [const { MaybeUninit::uninit() }; MAX_FIELDS];
    let mut parsed = httparse::Request::new(&mut []);
    let config = httparse::ParserConfig::default();
    let length = match config.parse_request_with_uninit_headers(&mut parsed, buf, &mut fields[..limits.fields()]) {
        Ok(httparse::Status::Complete(length)) if length <= limits.bytes => length,
        Ok(httparse::Status::Partial) if buf.len() < limits.bytes => return Head::Partial,
        Ok(_) | Err(httparse::Error::TooManyHeaders) => return Head::HandOver(HandOver::TooLarge),
        Err(_) => return Head::HandOver(HandOver::Malformed),
    };
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version) else {
        return Head::HandOver(HandOver::Malformed);
    };
    let version = if version == 1 { Version::HTTP_11 } else { Version::HTTP_10 };
    let facts = match framing_facts(parsed.headers, version) {
        Ok(facts) => facts,
        Err(hand_over) => return Head::HandOver(hand_over),
    };
    if method == Method::CONNECT.as_str() {
        return Head::HandOver(HandOver::Upgrade);
    }
    if target.len() > MAX_TARGET {
        return Head::HandOver(HandOver::TooLarge);
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else { return Head::HandOver(HandOver::Unusual) };
    let spans = Spans::of(buf, target, parsed.headers);
    let head = buf.split_to(length).freeze();
    match spans.build(&head, method, version) {
        Some(request) => Head::Simple(SimpleRequest { request, keep_alive: facts.keep_alive }),
        None => {
            // Rare: put the head back in front of what followed it, for hyper.
            let mut replay = BytesMut::with_capacity(head.len() + buf.len());
            replay.extend_from_slice(&head);
            replay.extend_from_slice(buf);
            *buf = replay;
            Head::HandOver(HandOver::Unusual)
        }
    }
}

/// hyper's keep-alive reading of `Connection`, and whether the head is bodiless and plain.
fn framing_facts(headers: &[httparse::Header<'_>], version: Version) -> Result<Facts, HandOver> {
    let mut facts = Facts { keep_alive: version == Version::HTTP_11, ..Facts::default() };
    for header in headers {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(TRANSFER_ENCODING.as_str().as_bytes()) {
            return Err(HandOver::Body);
        } else if name.eq_ignore_ascii_case(CONTENT_LENGTH.as_str().as_bytes()) {
            // One `Content-Length: 0` is bodiless; any other length, or a second one, is hyper's.
            if facts.content_length_zero || header.value != b"0" {
                return Err(HandOver::Body);
            }
            facts.content_length_zero = true;
        } else if name.eq_ignore_ascii_case(UPGRADE.as_str().as_bytes())
            || name.eq_ignore_ascii_case(EXPECT.as_str().as_bytes())
        {
            return Err(HandOver::Upgrade);
        } else if name.eq_ignore_ascii_case(CONNECTION.as_str().as_bytes()) {
            // A later `keep-alive` does not undo an earlier `close`.
            if facts.saw_close || has_token(header.value, b"close") {
                facts.saw_close = true;
                facts.keep_alive = false;
            } else if !facts.keep_alive {
                facts.keep_alive = has_token(header.value, b"keep-alive");
            }
        }
    }
    Ok(facts)
}

/// Whether a comma-separated header value lists `token` (case-insensitively).
pub(super) fn has_token(value: &[u8], token: &[u8]) -> bool {
    value.split(|b| *b == b',').any(|item| item.trim_ascii().eq_ignore_ascii_case(token))
}

/// Where a part of the head lies in it (a head is at most a few hundred KiB).
#[derive(Debug, Clone, Copy, Default)]
struct Span(u32, u32);

/// Where the target and each field lie in the head, kept on the stack.
struct Spans {
    target: Span,
    fields: [(Span, Span); MAX_FIELDS],
    count: usize,
}

impl Span {
    fn of(whole: &[u8], part: &[u8]) -> Self {
        let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
        let offset = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span(offset(start), offset(start + part.len()))
    }

    /// The part's bytes, sharing the head's; `None` when out of it.
    fn slice(self, head: &Bytes) -> Option<Bytes> {
        let range = self.0 as usize..self.1 as usize;
        head.get(range.clone()).map(|_| head.slice(range))
    }
}

impl Spans {
    fn of(buf: &[u8], target: &str, headers: &[httparse::Header<'_>]) -> Self {
        let mut fields = [(Span::default(), Span::default()); MAX_FIELDS];
        for (slot, header) in fields.iter_mut().zip(headers) {
            *slot = (Span::of(buf, header.name.as_bytes()), Span::of(buf, header.value));
        }
        Spans { target: Span::of(buf, target.as_bytes()), fields, count: headers.len().min(MAX_FIELDS) }
    }

    /// The request, its target and values sharing the head's bytes; `None` for what the
    /// `http` types refuse.
    fn build(&self, head: &Bytes, method: Method, version: Version) -> Option<Request<()>> {
        let uri = Uri::from_maybe_shared(self.target.slice(head)?).ok()?;
        let mut headers = HeaderMap::with_capacity(self.count);
        for (name, value) in &self.fields[..self.count] {
            let name = HeaderName::from_bytes(&name.slice(head)?).ok()?;
            let value = HeaderValue::from_maybe_shared(value.slice(head)?).ok()?;
            headers.append(name, value);
        }
        let mut request = Request::new(());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = version;
        *request.headers_mut() = headers;
        Some(request)
    }
}
