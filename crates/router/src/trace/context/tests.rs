use super::*;

const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn parse(value: &str) -> Option<Traceparent> {
    Traceparent::parse(value.as_bytes())
}

#[track_caller]
fn valid(value: &str) -> Traceparent {
    parse(value).unwrap_or_else(|| panic!("{value} is valid"))
}

#[test]
fn a_valid_traceparent_is_read() {
    let parsed = valid(VALID);
    assert_eq!(parsed.trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(parsed.parent_id.as_bytes(), &[0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
    assert!(parsed.sampled);
    let unsampled = valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    assert!(!unsampled.sampled);
    let other_flags = valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
    assert!(other_flags.sampled, "unknown flags are ignored, the sampled bit is read");
}

#[test]
fn every_malformed_form_is_refused() {
    let invalid = [
        "",
        "00",
        // uppercase hex
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
        "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        // all-zero ids
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        // version ff is never valid
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        // version 00 with anything after the flags
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        // short fields, wrong separators, not hex
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7x01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ];
    for value in invalid {
        assert_eq!(parse(value), None, "{value:?}");
    }
}

#[test]
fn a_future_version_is_read_as_version_00() {
    let longer = valid("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds");
    assert_eq!(longer.trace_id.to_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(longer.sampled);
    assert!(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").is_some());
    let no_dash = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x";
    assert_eq!(parse(no_dash), None, "a longer future version needs a dash after the flags");
}

#[test]
fn repeated_headers_are_no_context() {
    let mut headers = HeaderMap::new();
    headers.append(TRACEPARENT, HeaderValue::from_static(VALID));
    assert!(Traceparent::from_headers(&headers).is_some());
    headers.append(TRACEPARENT, HeaderValue::from_static(VALID));
    assert_eq!(Traceparent::from_headers(&headers), None);
}

#[test]
fn header_value_round_trips() {
    let parsed = valid(VALID);
    let span = SpanId::random();
    let value = Traceparent::header_value(&parsed.trace_id, &span, true);
    let again = valid(value.to_str().unwrap_or_default());
    assert_eq!((again.trace_id, again.parent_id, again.sampled), (parsed.trace_id, span, true));
    let unsampled = Traceparent::header_value(&parsed.trace_id, &span, false);
    assert!(unsampled.as_bytes().ends_with(b"-00"));
}

#[test]
fn tracestate_lines_are_joined_and_oversized_ones_dropped() {
    let mut headers = HeaderMap::new();
    assert_eq!(tracestate(&headers), None);
    headers.append(TRACESTATE, HeaderValue::from_static("congo=t61rcWkgMzE"));
    headers.append(TRACESTATE, HeaderValue::from_static("rojo=00f067aa0ba902b7"));
    assert_eq!(tracestate(&headers), Some(HeaderValue::from_static("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")));
    let long = "a=b,".repeat(200);
    headers.insert(TRACESTATE, HeaderValue::from_str(&long).unwrap_or_else(|_| HeaderValue::from_static("")));
    assert_eq!(headers[TRACESTATE].len(), 800);
    assert_eq!(tracestate(&headers), None);
}
