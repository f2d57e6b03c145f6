//! Response heads as the lean path writes them: hyper's server encoding, rule for rule
//! (`proto/h1/role.rs`, `Server::encode`, and `Conn::enforce_version`), for the responses the
//! pipeline makes: the status line, the headers in lower case, `Connection` values joined on
//! one line, the body's length or chunked coding, and `Date`.
//!
//! One difference: a `Transfer-Encoding` or `Trailer` header in a response is dropped and the
//! framing chosen here. The proxy strips both as hop-by-hop, and the gateway's own answers
//! never set them, so none reaches this point in practice.

use std::io::Write;

use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRAILER, TRANSFER_ENCODING};
use http::response::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};

use super::head::has_token;

/// What the request says about its response.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asked<'a> {
    pub(super) method: &'a Method,
    pub(super) version: Version,
    /// The connection may carry another request (the client's wish, and not shutting down).
    pub(super) keep_alive: bool,
}

/// What the response body is known to be before it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyLength {
    /// Already at its end.
    Empty,
    Known(u64),
    Unknown,
}

/// How the body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// Exactly this many bytes (0: none is written).
    Length(u64),
    Chunked,
    /// Until the connection closes (an HTTP/1.0 client and an unknown length).
    UntilClose,
}

/// An encoded head: how its body follows and whether the connection closes afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Encoded {
    pub(super) framing: Framing,
    pub(super) close: bool,
}

/// Writes the head of `parts` into `dst`.
pub(super) fn encode(parts: &mut Parts, body: BodyLength, asked: Asked<'_>, dst: &mut Vec<u8>) -> Encoded {
    let mut keep_alive = asked.keep_alive;
    let mut body = body;
    if parts.status.is_informational() {
        // As hyper: a 1xx cannot be the response; it becomes a bodiless 500 and the end.
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        parts.version = Version::HTTP_11;
        parts.headers.clear();
        body = BodyLength::Empty;
        keep_alive = false;
    }
    let version = enforce_version(parts, asked.version, &mut keep_alive);
    status_line(dst, version, parts.status);
    let mut close = !keep_alive;
    let fields = fields(&parts.headers, body, asked.method, dst);
    close |= fields.close;
    let framing = match fields.framing {
        Some(framing) => framing,
        None => implicit_framing(body, version, asked.method, parts.status, dst),
    };
    let framing = if can_chunk(asked.method, parts.status) { framing } else { Framing::Length(0) };
    if !fields.dated {
        dst.extend_from_slice(b"date: ");
        dst.extend_from_slice(&super::date::now());
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(b"\r\n");
    Encoded { framing, close: close || framing == Framing::UntilClose }
}

/// hyper's `enforce_version`: an HTTP/1.0 client gets HTTP/1.0 and `Connection: keep-alive`
/// when the connection stays; an HTTP/1.1 one `Connection: close` when it does not.
fn enforce_version(parts: &mut Parts, asked: Version, keep_alive: &mut bool) -> Version {
    let says =
        |headers: &HeaderMap, token: &[u8]| headers.get_all(CONNECTION).iter().any(|v| has_token(v.as_bytes(), token));
    if asked == Version::HTTP_10 {
        if !says(&parts.headers, b"keep-alive") {
            if parts.version == Version::HTTP_10 {
                *keep_alive = false;
            } else if parts.version == Version::HTTP_11 && *keep_alive {
                parts.headers.append(CONNECTION, HeaderValue::from_static("keep-alive"));
            }
        }
        return Version::HTTP_10;
    }
    if !*keep_alive && !says(&parts.headers, b"close") {
        parts.headers.append(CONNECTION, HeaderValue::from_static("close"));
    }
    Version::HTTP_11
}

fn status_line(dst: &mut Vec<u8>, version: Version, status: StatusCode) {
    if version == Version::HTTP_11 && status == StatusCode::OK {
        dst.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    dst.extend_from_slice(if version == Version::HTTP_10 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    dst.extend_from_slice(status.as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(status.canonical_reason().unwrap_or("<none>").as_bytes());
    dst.extend_from_slice(b"\r\n");
}

/// What writing the header fields decided.
struct Fields {
    /// Set by a `Content-Length` that was written.
    framing: Option<Framing>,
    close: bool,
    dated: bool,
}

/// Writes the fields; `Content-Length` as the body allows, `Connection` on one line.
fn fields(headers: &HeaderMap, body: BodyLength, method: &Method, dst: &mut Vec<u8>) -> Fields {
    let mut out = Fields { framing: None, close: false, dated: false };
    for name in headers.keys() {
        let mut values = headers.get_all(name).iter();
        match *name {
            CONTENT_LENGTH => out.framing = content_length(values.next(), body, method, dst),
            TRANSFER_ENCODING | TRAILER => {}
            CONNECTION => {
                dst.extend_from_slice(b"connection: ");
                for (i, value) in values.enumerate() {
                    if i > 0 {
                        dst.extend_from_slice(b", ");
                    }
                    out.close |= has_token(value.as_bytes(), b"close");
                    dst.extend_from_slice(value.as_bytes());
                }
                dst.extend_from_slice(b"\r\n");
            }
            _ => {
                out.dated |= *name == DATE;
                for value in values {
                    field(dst, name.as_str().as_bytes(), value.as_bytes());
                }
            }
        }
    }
    out
}

/// hyper's handling of a `Content-Length` the response set: the body's own length wins when
/// known; an empty body keeps the header only for `HEAD`.
fn content_length(
    value: Option<&HeaderValue>,
    body: BodyLength,
    method: &Method,
    dst: &mut Vec<u8>,
) -> Option<Framing> {
    let value = value?;
    match body {
        BodyLength::Known(length) => {
            length_field(dst, length);
            Some(Framing::Length(length))
        }
        BodyLength::Unknown => {
            let length = std::str::from_utf8(value.as_bytes()).ok()?.trim().parse().ok()?;
            length_field(dst, length);
            Some(Framing::Length(length))
        }
        BodyLength::Empty if *method == Method::HEAD => {
            field(dst, b"content-length", value.as_bytes());
            Some(Framing::Length(0))
        }
        BodyLength::Empty => None,
    }
}

/// The framing when the response set no `Content-Length`.
fn implicit_framing(
    body: BodyLength,
    version: Version,
    method: &Method,
    status: StatusCode,
    dst: &mut Vec<u8>,
) -> Framing {
    match body {
        BodyLength::Unknown if version == Version::HTTP_10 || !can_chunk(method, status) => Framing::UntilClose,
        BodyLength::Unknown => {
            dst.extend_from_slice(b"transfer-encoding: chunked\r\n");
            Framing::Chunked
        }
        BodyLength::Empty | BodyLength::Known(0) => {
            if can_have_length(status) && *method != Method::HEAD {
                dst.extend_from_slice(b"content-length: 0\r\n");
            }
            Framing::Length(0)
        }
        BodyLength::Known(length) if can_have_length(status) => {
            length_field(dst, length);
            Framing::Length(length)
        }
        BodyLength::Known(_) => Framing::Length(0),
    }
}

/// hyper's `can_chunked`: whether the response may have a body at all.
fn can_chunk(method: &Method, status: StatusCode) -> bool {
    *method != Method::HEAD
        && !status.is_informational()
        && status != StatusCode::NO_CONTENT
        && status != StatusCode::NOT_MODIFIED
}

fn can_have_length(status: StatusCode) -> bool {
    !status.is_informational() && status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED
}

fn length_field(dst: &mut Vec<u8>, length: u64) {
    let _ = write!(dst, "content-length: {length}\r\n");
}

fn field(dst: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    dst.extend_from_slice(name);
    dst.extend_from_slice(b": ");
    dst.extend_from_slice(value);
    dst.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;
