//! The lean path's response heads, against what hyper writes for the same response.

use http::{Method, Response, StatusCode, Version};

use super::{Asked, BodyLength, Encoded, Framing, encode};

const GET: Asked<'static> = Asked { method: &Method::GET, version: Version::HTTP_11, keep_alive: true };

/// The head for `response` without its `date` line, and what it decided.
fn head(response: Response<()>, body: BodyLength, asked: Asked<'_>) -> (String, Encoded) {
    let (mut parts, ()) = response.into_parts();
    let mut dst = Vec::new();
    let encoded = encode(&mut parts, body, asked, &mut dst);
    let text = String::from_utf8(dst).unwrap_or_default();
    let without_date: Vec<&str> = text.split("\r\n").filter(|line| !line.starts_with("date: ")).collect();
    (without_date.join("\r\n"), encoded)
}

fn response(status: u16, headers: &[(&'static str, &'static str)]) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT);
    for (name, value) in headers {
        response.headers_mut().append(*name, http::HeaderValue::from_static(value));
    }
    response
}

#[test]
fn a_known_body_gets_its_length_and_the_connection_stays() {
    let (text, encoded) = head(response(200, &[("x-a", "1")]), BodyLength::Known(5), GET);
    assert_eq!(text, "HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 5\r\n\r\n");
    assert_eq!(encoded, Encoded { framing: Framing::Length(5), close: false });
}

#[test]
fn an_unknown_body_is_chunked_for_http11_and_until_close_for_http10() {
    let (text, encoded) = head(response(200, &[]), BodyLength::Unknown, GET);
    assert_eq!(text, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
    assert_eq!(encoded, Encoded { framing: Framing::Chunked, close: false });
    let http10 = Asked { version: Version::HTTP_10, ..GET };
    let (text, encoded) = head(response(200, &[]), BodyLength::Unknown, http10);
    assert!(text.starts_with("HTTP/1.0 200 OK\r\nconnection: keep-alive\r\n"), "{text}");
    assert_eq!(encoded, Encoded { framing: Framing::UntilClose, close: true });
}

#[test]
fn a_declared_length_frames_an_unknown_body() {
    let (text, encoded) = head(response(200, &[("content-length", "7")]), BodyLength::Unknown, GET);
    assert_eq!(text, "HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n");
    assert_eq!(encoded.framing, Framing::Length(7));
}

#[test]
fn head_204_and_304_have_no_body() {
    let head_request = Asked { method: &Method::HEAD, ..GET };
    let (text, encoded) = head(response(200, &[("content-length", "42")]), BodyLength::Empty, head_request);
    assert_eq!(text, "HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n");
    assert_eq!(encoded.framing, Framing::Length(0));
    for status in [204, 304] {
        let (text, encoded) = head(response(status, &[]), BodyLength::Unknown, GET);
        assert!(!text.contains("content-length") && !text.contains("transfer-encoding"), "{text}");
        assert_eq!(encoded.framing, Framing::Length(0), "{status}");
    }
}

#[test]
fn an_empty_body_is_content_length_zero() {
    let (text, _) = head(response(404, &[("content-length", "9")]), BodyLength::Empty, GET);
    assert_eq!(text, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
}

#[test]
fn a_closing_connection_says_so_once_and_a_close_answer_closes() {
    let closing = Asked { keep_alive: false, ..GET };
    let (text, encoded) = head(response(200, &[]), BodyLength::Empty, closing);
    assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
    assert!(encoded.close);
    let (text, encoded) = head(response(400, &[("connection", "close")]), BodyLength::Empty, closing);
    assert_eq!(text.matches("connection").count(), 1, "{text}");
    assert!(encoded.close);
    let (_, encoded) = head(response(400, &[("connection", "close")]), BodyLength::Empty, GET);
    assert!(encoded.close, "the answer's own close ends the connection");
}

#[test]
fn http10_without_keep_alive_gets_http10_and_closes() {
    let http10 = Asked { version: Version::HTTP_10, keep_alive: false, ..GET };
    let (text, encoded) = head(response(200, &[]), BodyLength::Known(2), http10);
    assert_eq!(text, "HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n");
    assert!(encoded.close);
}

#[test]
fn an_informational_status_becomes_a_bodiless_500_that_closes() {
    let (text, encoded) = head(response(101, &[("upgrade", "websocket")]), BodyLength::Unknown, GET);
    assert_eq!(text, "HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    assert_eq!(encoded, Encoded { framing: Framing::Length(0), close: true });
}

#[test]
fn a_date_is_added_unless_the_response_has_one() {
    let raw = |response: Response<()>| {
        let (mut parts, ()) = response.into_parts();
        let mut dst = Vec::new();
        encode(&mut parts, BodyLength::Empty, GET, &mut dst);
        String::from_utf8(dst).unwrap_or_default()
    };
    let added = raw(response(200, &[]));
    assert_eq!(added.matches("\r\ndate: ").count(), 1, "{added}");
    let own = raw(response(200, &[("date", "then")]));
    assert_eq!(own.matches("\r\ndate: ").count(), 1, "{own}");
    assert!(own.contains("\r\ndate: then\r\n"), "{own}");
}
