//! W3C Trace Context on arbitrary input must never panic and never be taken for more than it
//! is: `Traceparent::parse` on the raw bytes (what it accepts must write back to the same ids),
//! and the request path's reading of `traceparent` and `tracestate` headers, with an
//! upstream attempt's `traceparent` made from the result.

#![no_main]

use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use tollgate_router::trace::{Traceparent, Tracer};

fuzz_target!(|data: &[u8]| {
    if let Some(parsed) = Traceparent::parse(data) {
        let written = Traceparent::header_value(&parsed.trace_id, &parsed.parent_id, parsed.sampled);
        assert_eq!(Traceparent::parse(written.as_bytes()), Some(parsed));
    }
    let Ok(value) = HeaderValue::from_bytes(data) else { return };
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", value.clone());
    headers.append("tracestate", value.clone());
    headers.append("tracestate", value);
    let mut trace = Tracer::propagating().begin(&headers, &Method::GET, "/");
    let (attempt, traceparent) = trace.start_attempt("upstream", 80);
    trace.end_attempt(&attempt, None);
    let sent = Traceparent::parse(traceparent.as_bytes());
    assert_eq!(sent.map(|sent| sent.trace_id), Some(*trace.trace_id()));
    assert!(trace.tracestate().is_none_or(|state| state.len() <= 512));
});
