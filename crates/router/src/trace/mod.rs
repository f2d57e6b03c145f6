//! Distributed tracing (operator.md, "Tracing"): W3C Trace Context in, to every upstream and
//! into the access log; sampled requests exported as OTLP/HTTP protobuf spans.
//!
//! The one seam: [`Tracer::begin`] reads the request's `traceparent` once at the edge into a
//! [`RequestTrace`] that rides on the pipeline's exchange; the proxy asks it for a
//! `traceparent` per upstream attempt ([`RequestTrace::start_attempt`]); when the response
//! ends, a recorded request's spans go to a bounded queue drained by the [`Exporter`] task.
//!
//! Spans are built here and encoded with `opentelemetry-proto`'s generated types rather than
//! through the OpenTelemetry SDK, for three guarantees the SDK does not give together: an
//! unsampled request costs a header parse and two random ids, with no span object, context
//! guard or allocation (the SDK builds a span and a context for it either way); a full queue
//! or a failed export is counted in `tollgate_tracing_spans_dropped_total` (the SDK only
//! logs its drops); and the request path holds no lock: the queue is a bounded tokio channel
//! written with `try_send`. The wire format stays the maintained one: the messages are
//! opentelemetry-proto's, encoded with prost and sent with reqwest.

mod context;
mod encode;
mod export;
mod request;
mod sampler;

pub use context::{SpanId, TraceId, Traceparent, TraceparentValue};
pub use export::{Exporter, OtlpEndpoint, TracingError, TracingMetrics, TracingSettings};
pub use request::{Attempt, RequestTrace};
pub use sampler::Sampler;

pub(crate) use context::{TRACEPARENT, TRACESTATE};
pub(crate) use request::{Outcome, Recording};

use http::{HeaderMap, Method};

use self::export::SpanQueue;

/// Starts each request's trace; shared by every connection, cheap to clone.
#[derive(Debug, Clone)]
pub struct Tracer {
    sampler: Sampler,
    /// `None`: propagation only, nothing is recorded.
    queue: Option<SpanQueue>,
}

// === impl Tracer ===

impl Tracer {
    /// Propagation only: every upstream gets a `traceparent` (the client's sampled flag kept),
    /// nothing is recorded. Used when `[tracing]` names no endpoint.
    pub fn propagating() -> Self {
        Tracer { sampler: Sampler::ratio(0.0), queue: None }
    }

    /// A tracer for `settings`, with its export task when an endpoint is set (which needs a
    /// tokio runtime).
    pub fn start(
        settings: &TracingSettings,
        metrics: &TracingMetrics,
    ) -> Result<(Tracer, Option<Exporter>), TracingError> {
        let Some(endpoint) = &settings.endpoint else { return Ok((Tracer::propagating(), None)) };
        let (queue, exporter) = Exporter::start(endpoint, settings, metrics)?;
        Ok((Tracer { sampler: Sampler::ratio(settings.sample_ratio), queue: Some(queue) }, Some(exporter)))
    }

    /// The trace of a request: the client's context when its `traceparent` is valid, else a
    /// new trace; sampled when the context says so, else by the sampler (only when exporting).
    pub fn begin(&self, headers: &HeaderMap, method: &Method, path: &str) -> RequestTrace {
        let exporting = self.queue.is_some();
        let decide = |parent_sampled: bool, trace_id: &TraceId| match exporting {
            true => self.sampler.samples(parent_sampled, trace_id),
            false => parent_sampled,
        };
        RequestTrace::begin(headers, method, path, decide, exporting)
    }

    /// Ends a finished request's recording and queues it for export.
    pub(crate) fn finish(&self, mut recording: Box<Recording>) {
        if let Some(queue) = &self.queue {
            recording.end();
            queue.send(recording);
        }
    }
}

impl Default for Tracer {
    fn default() -> Self {
        Tracer::propagating()
    }
}
