//! Recorded requests → an OTLP `ExportTraceServiceRequest` (opentelemetry-proto's prost types),
//! attributes named as operator.md lists them (OpenTelemetry HTTP semantic conventions plus
//! `tollgate.*`).

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use super::request::{AttemptSpan, Recording};

/// Span flags: sampled, and "whether the parent is remote" is known (OTLP `SpanFlags`).
const SAMPLED_WITH_REMOTE_KNOWN: u32 = 0x101;
const PARENT_IS_REMOTE: u32 = 0x200;

/// One export request for `recordings`, from the service `service_name`.
pub(crate) fn export_request(service_name: &str, recordings: &[Recording]) -> ExportTraceServiceRequest {
    let spans = recordings.iter().flat_map(spans).collect();
    let scope = InstrumentationScope {
        name: "tollgate".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    };
    let resource = Resource { attributes: vec![text("service.name", service_name)], ..Default::default() };
    let scope_spans = ScopeSpans { scope: Some(scope), spans, schema_url: String::new() };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![scope_spans],
            schema_url: String::new(),
        }],
    }
}

fn spans(recording: &Recording) -> impl Iterator<Item = Span> + '_ {
    let clients = recording.attempts.iter().map(move |attempt| client_span(recording, attempt));
    std::iter::once(server_span(recording)).chain(clients)
}

/// The gateway's span: `{method} {http.route}` (the method alone when unrouted).
fn server_span(recording: &Recording) -> Span {
    let method = recording.method.as_str();
    let name = match &recording.route {
        Some(route) => format!("{method} {route}"),
        None => method.to_owned(),
    };
    let mut attributes = vec![
        text("http.request.method", method),
        text("url.path", &recording.path),
        number("http.response.status_code", recording.status),
    ];
    attributes.extend(recording.route.as_deref().map(|route| text("http.route", route)));
    if let Some((api, version)) = &recording.api {
        attributes.extend([text("tollgate.api", api), text("tollgate.api_version", version)]);
    }
    attributes.extend(recording.application_id.as_deref().map(|id| text("tollgate.application_id", id)));
    attributes.extend(recording.error.map(|code| text("tollgate.error_code", code)));
    let failed = recording.error.is_some() || recording.status >= 500;
    let remote = recording.parent.map_or(0, |_| PARENT_IS_REMOTE);
    Span {
        trace_id: recording.trace_id.as_bytes().to_vec(),
        span_id: recording.span_id.as_bytes().to_vec(),
        trace_state: recording.tracestate.as_ref().and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned(),
        parent_span_id: recording.parent.map(|p| p.as_bytes().to_vec()).unwrap_or_default(),
        flags: SAMPLED_WITH_REMOTE_KNOWN | remote,
        name,
        kind: SpanKind::Server as i32,
        start_time_unix_nano: unix_nanos(recording.start),
        end_time_unix_nano: unix_nanos(recording.end),
        attributes,
        status: Some(status(failed, recording.error.unwrap_or_default())),
        ..Default::default()
    }
}

/// One upstream attempt, a child of the server span.
fn client_span(recording: &Recording, attempt: &AttemptSpan) -> Span {
    let mut attributes = vec![text("server.address", &attempt.address), number("server.port", attempt.port)];
    attributes.extend(attempt.status.map(|status| number("http.response.status_code", status)));
    let failed = attempt.status.is_none_or(|status| status >= 500);
    Span {
        trace_id: recording.trace_id.as_bytes().to_vec(),
        span_id: attempt.span_id.as_bytes().to_vec(),
        parent_span_id: recording.span_id.as_bytes().to_vec(),
        flags: SAMPLED_WITH_REMOTE_KNOWN,
        name: recording.method.as_str().to_owned(),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: unix_nanos(attempt.start),
        end_time_unix_nano: unix_nanos(attempt.end.unwrap_or(recording.end)),
        attributes,
        status: Some(status(failed, if attempt.status.is_none() { "no response" } else { "" })),
        ..Default::default()
    }
}

fn status(failed: bool, message: &str) -> Status {
    match failed {
        true => Status { message: message.to_owned(), code: StatusCode::Error as i32 },
        false => Status { message: String::new(), code: StatusCode::Unset as i32 },
    }
}

fn text(key: &str, value: &str) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.to_owned()))
}

fn number(key: &str, value: u16) -> KeyValue {
    attribute(key, any_value::Value::IntValue(i64::from(value)))
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn unix_nanos(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}
