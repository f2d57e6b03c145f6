use super::*;

/// Feeds `stream` in pieces of `step` bytes; returns the indices of ambiguous heads.
fn scan(stream: &str, step: usize) -> Vec<u64> {
    let mut scanner = Scanner::new();
    let mut found = Vec::new();
    for piece in stream.as_bytes().chunks(step) {
        scanner.feed(piece, |index| found.push(index));
    }
    found
}

fn every_step(stream: &str) -> Vec<u64> {
    let first = scan(stream, stream.len());
    for step in 1..stream.len() {
        assert_eq!(scan(stream, step), first, "split every {step} bytes");
    }
    first
}

#[test]
fn both_framing_headers_are_flagged_in_any_order_and_case() {
    let cl_then_te = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(every_step(cl_then_te), [0]);
    let te_then_cl = "POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\ncontent-length: 4\r\n\r\n0\r\n\r\n";
    assert_eq!(every_step(te_then_cl), [0]);
}

#[test]
fn heads_are_counted_across_fixed_and_chunked_bodies() {
    let stream = concat!(
        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello\r\n\r\nyo",
        "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nCL: 1\r\n0\r\nX-Trailer: t\r\n\r\n",
        "GET /c HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /d HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(every_step(stream), [3], "body bytes that look like headers are not heads");
}

#[test]
fn plain_requests_are_never_flagged() {
    let stream = "GET / HTTP/1.1\r\nHost: a\r\nCookie: content-length: 5\r\nX-T: transfer-encoding: chunked\r\n\r\n";
    assert!(every_step(stream).is_empty());
}

#[test]
fn upgrades_and_http2_prefaces_stop_the_observation() {
    let upgrade = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nX: 1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(every_step(upgrade).is_empty());
    let preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nX: 1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(every_step(preface).is_empty());
}

#[test]
fn verdicts_match_requests_in_order() {
    let verdicts = Verdicts::default();
    verdicts.ambiguous(1);
    verdicts.ambiguous(2);
    assert!(!verdicts.next_request_is_ambiguous());
    assert!(verdicts.next_request_is_ambiguous());
    assert!(
        !verdicts.next_request_is_ambiguous(),
        "only the first ambiguous head counts: the connection closes after it"
    );
}

#[test]
fn long_lines_do_not_stop_the_observation() {
    let cookie = "c".repeat(4000);
    let stream = format!(
        "GET /{} HTTP/1.1\r\nCookie: {cookie}\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "p".repeat(3000)
    );
    assert_eq!(scan(&stream, 7), [1]);
    assert_eq!(scan(&stream, stream.len()), [1]);
}
