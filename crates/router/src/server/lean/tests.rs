//! The lean path's head reader: which heads it serves, and that every other one — the
//! smuggling shapes above all — is handed to hyper with the buffer untouched.

use bytes::BytesMut;
use http::{Method, Version};

use super::head::{self, HandOver, Head, HeadLimits};

const LIMITS: HeadLimits = HeadLimits { bytes: 80 * 1024, fields: 101 };

fn read(raw: &str) -> (Head, BytesMut) {
    let mut buf = BytesMut::from(raw);
    let head = head::read(&mut buf, LIMITS);
    (head, buf)
}

/// `raw` goes to hyper for `reason`, from its first byte.
fn handed_over(raw: &str, reason: HandOver) {
    let (head, rest) = read(raw);
    assert!(matches!(head, Head::HandOver(r) if r == reason), "{raw:?}: {head:?}");
    assert_eq!(rest, raw.as_bytes(), "{raw:?}: the buffer must be untouched");
}

#[test]
fn a_bodiless_get_is_served_and_taken_off_the_buffer() {
    let (head, rest) = read("GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\nNEXT");
    let Head::Simple(simple) = head else { panic!("{head:?}") };
    assert_eq!(simple.request.method(), Method::GET);
    assert_eq!(simple.request.uri(), "/a?b=c");
    assert_eq!(simple.request.version(), Version::HTTP_11);
    assert_eq!(simple.request.headers().get_all("x-a").iter().count(), 2);
    assert!(simple.keep_alive);
    assert_eq!(rest, "NEXT");
}

#[test]
fn content_length_zero_is_bodiless_and_any_other_length_is_hyper_s() {
    let (head, _) = read("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(head, Head::Simple(_)), "{head:?}");
    handed_over("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", HandOver::Body);
    handed_over("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 00\r\n\r\n", HandOver::Body);
    handed_over("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n\r\n", HandOver::Body);
}

#[test]
fn the_smuggling_shapes_are_handed_over() {
    let cases = [
        (
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            HandOver::Body,
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n",
            HandOver::Body,
        ),
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", HandOver::Body),
        ("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", HandOver::Body),
        ("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", HandOver::Body),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", HandOver::Malformed),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", HandOver::Malformed),
        ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", HandOver::Malformed),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", HandOver::Malformed),
        ("GET / HTTP/1.1\r\nHo\x7fst: x\r\n\r\n", HandOver::Malformed),
        ("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", HandOver::Malformed),
        ("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", HandOver::Malformed),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", HandOver::Malformed),
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HandOver::Malformed),
    ];
    for (raw, reason) in cases {
        handed_over(raw, reason);
    }
}

#[test]
fn upgrades_expectations_and_connect_are_handed_over() {
    handed_over("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", HandOver::Upgrade);
    handed_over("GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n", HandOver::Upgrade);
    handed_over("CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", HandOver::Upgrade);
}

#[test]
fn bare_lf_line_ends_are_read_as_hyper_reads_them() {
    // httparse (hyper's parser, same configuration) accepts a bare LF as a line end.
    let (head, rest) = read("GET / HTTP/1.1\nHost: x\n\n");
    assert!(matches!(head, Head::Simple(_)), "{head:?}");
    assert!(rest.is_empty());
}

#[test]
fn over_long_heads_and_too_many_fields_are_handed_over() {
    let long = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(LIMITS.bytes));
    handed_over(&long, HandOver::TooLarge);
    let unfinished = format!("GET / HTTP/1.1\r\nX-Big: {}", "a".repeat(LIMITS.bytes));
    handed_over(&unfinished, HandOver::TooLarge);
    let many: String = (0..LIMITS.fields + 1).map(|i| format!("X-{i}: v\r\n")).collect();
    handed_over(&format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n"), HandOver::TooLarge);
    let at_the_limit: String = (0..LIMITS.fields - 1).map(|i| format!("X-{i}: v\r\n")).collect();
    let (head, _) = read(&format!("GET / HTTP/1.1\r\nHost: x\r\n{at_the_limit}\r\n"));
    assert!(matches!(head, Head::Simple(_)), "the pipeline answers one field over the contract's limit");
}

#[test]
fn a_head_in_parts_is_partial_until_complete() {
    let (head, rest) = read("GET / HTTP/1.1\r\nHost: x\r\n");
    assert!(matches!(head, Head::Partial));
    assert_eq!(rest, "GET / HTTP/1.1\r\nHost: x\r\n");
}

#[test]
fn pipelined_heads_are_taken_one_at_a_time() {
    let mut buf = BytesMut::from(
        "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nPOST /3 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz",
    );
    for path in ["/1", "/2"] {
        let Head::Simple(simple) = head::read(&mut buf, LIMITS) else { panic!("{path}") };
        assert_eq!(simple.request.uri(), path);
    }
    assert!(matches!(head::read(&mut buf, LIMITS), Head::HandOver(HandOver::Body)));
    assert!(buf.starts_with(b"POST /3"));
}

#[test]
fn keep_alive_follows_the_version_and_connection_as_hyper_does() {
    let keep_alive = |raw: &str| match read(raw).0 {
        Head::Simple(simple) => simple.keep_alive,
        other @ (Head::Partial | Head::HandOver(_)) => panic!("{raw:?}: {other:?}"),
    };
    assert!(keep_alive("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(!keep_alive("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n"));
    assert!(!keep_alive("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n"));
    assert!(!keep_alive("GET / HTTP/1.0\r\n\r\n"));
    assert!(keep_alive("GET / HTTP/1.0\r\nConnection: te, Keep-Alive\r\n\r\n"));
}
