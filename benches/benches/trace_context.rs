//! The tracing work every request pays, sampled or not: reading the client's `traceparent`,
//! the sampling decision, and one `traceparent` per upstream attempt; beside a naive parse
//! (split on `-`, `from_str_radix`) as the baseline.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method};
use tollgate_router::trace::{Sampler, SpanId, TraceId, Traceparent, Tracer};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

fn headers(traceparent: Option<&'static str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(http::header::HOST, HeaderValue::from_static("api.example.com"));
    headers.insert(http::header::ACCEPT, HeaderValue::from_static("application/json"));
    if let Some(value) = traceparent {
        headers.insert("traceparent", HeaderValue::from_static(value));
    }
    headers
}

/// What a first implementation would write: split, check lengths, parse with the standard library.
fn naive_parse(value: &str) -> Option<(u128, u64, u8)> {
    let parts: Vec<&str> = value.split('-').collect();
    if parts.len() != 4 || parts[0] != "00" || parts[1].len() != 32 || parts[2].len() != 16 {
        return None;
    }
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let trace = u128::from_str_radix(parts[1], 16).ok().filter(|id| *id != 0)?;
    let span = u64::from_str_radix(parts[2], 16).ok().filter(|id| *id != 0)?;
    Some((trace, span, u8::from_str_radix(parts[3], 16).ok()?))
}

fn trace_context(c: &mut Criterion) {
    let tracer = Tracer::propagating();
    let (with_context, without) = (headers(Some(TRACEPARENT)), headers(None));
    c.bench_function("trace_context/begin_unsampled/client_context", |b| {
        b.iter(|| tracer.begin(black_box(&with_context), &Method::GET, "/pets/1/items"));
    });
    c.bench_function("trace_context/begin_unsampled/new_trace", |b| {
        b.iter(|| tracer.begin(black_box(&without), &Method::GET, "/pets/1/items"));
    });
    c.bench_function("trace_context/begin_unsampled/attempt_traceparent", |b| {
        b.iter(|| {
            let mut trace = tracer.begin(black_box(&with_context), &Method::GET, "/pets/1/items");
            let (attempt, traceparent) = trace.start_attempt("10.0.0.7", 8080);
            trace.end_attempt(&attempt, Some(200));
            traceparent
        });
    });
    let sampler = Sampler::ratio(0.01);
    let trace_id = TraceId::random();
    c.bench_function("trace_context/sampler_ratio_decision", |b| {
        b.iter(|| sampler.samples(false, black_box(&trace_id)));
    });
    c.bench_function("trace_context/parse/tollgate", |b| {
        b.iter(|| Traceparent::parse(black_box(TRACEPARENT.as_bytes())));
    });
    c.bench_function("trace_context/parse/baseline_naive", |b| b.iter(|| naive_parse(black_box(TRACEPARENT))));
    let span_id = SpanId::random();
    c.bench_function("trace_context/format_traceparent", |b| {
        b.iter(|| Traceparent::header_value(black_box(&trace_id), black_box(&span_id), false));
    });
    assert!(Traceparent::parse(TRACEPARENT.as_bytes()).is_some() && naive_parse(TRACEPARENT).is_some());
}

criterion_group!(benches, trace_context);
criterion_main!(benches);
