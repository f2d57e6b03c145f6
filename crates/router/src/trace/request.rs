//! The trace of one request, carried by the pipeline from the edge to the access log.

use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, HeaderValue, Method};

use super::context::{self, SpanId, TraceId, Traceparent, TraceparentValue};

/// One request's trace context: the trace id (the client's or a new one), the client's span
/// and `tracestate`, and whether the trace is sampled. Cheap when not recorded: no span
/// exists and nothing is allocated; a [`Recording`] exists only for a sampled request with
/// an exporter.
#[derive(Debug)]
pub struct RequestTrace {
    trace_id: TraceId,
    sampled: bool,
    tracestate: Option<HeaderValue>,
    recording: Option<Box<Recording>>,
}

/// One upstream attempt: when recording, which client span to end.
#[derive(Debug)]
pub struct Attempt {
    slot: Option<usize>,
}

/// The spans of a sampled request, exported when its response ends: a server span and a
/// client span per upstream attempt.
#[derive(Debug)]
pub(crate) struct Recording {
    pub(crate) trace_id: TraceId,
    /// The client's span, when it sent a valid `traceparent`.
    pub(crate) parent: Option<SpanId>,
    pub(crate) tracestate: Option<HeaderValue>,
    pub(crate) span_id: SpanId,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    pub(crate) method: Method,
    pub(crate) path: Box<str>,
    /// The API's base path and the operation's template, once routed.
    pub(crate) route: Option<String>,
    pub(crate) status: u16,
    pub(crate) api: Option<(Arc<str>, Arc<str>)>,
    pub(crate) application_id: Option<Arc<str>>,
    /// The contract's error code, when the gateway answered itself.
    pub(crate) error: Option<&'static str>,
    pub(crate) attempts: Vec<AttemptSpan>,
}

/// The client span of one upstream attempt.
#[derive(Debug)]
pub(crate) struct AttemptSpan {
    pub(crate) span_id: SpanId,
    pub(crate) start: SystemTime,
    /// `None` until the attempt ends (a timeout may cut it short: it then ends with the request).
    pub(crate) end: Option<SystemTime>,
    pub(crate) address: Box<str>,
    pub(crate) port: u16,
    /// The upstream's status, `None` when it gave no answer.
    pub(crate) status: Option<u16>,
}

// === impl RequestTrace ===

impl RequestTrace {
    /// The trace of a request with these headers. `decide` tells, from whether the client's
    /// context says sampled and the trace id, whether to sample; `record` whether a sampled
    /// request is recorded (there is an exporter).
    pub(crate) fn begin(
        headers: &HeaderMap,
        method: &Method,
        path: &str,
        decide: impl FnOnce(bool, &TraceId) -> bool,
        record: bool,
    ) -> Self {
        let parent = Traceparent::from_headers(headers);
        let trace_id = parent.map_or_else(TraceId::random, |parent| parent.trace_id);
        let sampled = decide(parent.is_some_and(|parent| parent.sampled), &trace_id);
        // W3C §3.3: without a valid traceparent, tracestate is not read.
        let tracestate = parent.and_then(|_| context::tracestate(headers));
        let recording = (sampled && record).then(|| {
            Box::new(Recording::start(trace_id, parent.map(|p| p.parent_id), tracestate.clone(), method, path))
        });
        RequestTrace { trace_id, sampled, tracestate, recording }
    }

    /// A new, unsampled trace that records nothing: for upstream calls made outside a
    /// client request (tests, benches).
    pub fn detached() -> Self {
        RequestTrace { trace_id: TraceId::random(), sampled: false, tracestate: None, recording: None }
    }

    pub fn trace_id(&self) -> &TraceId {
        &self.trace_id
    }

    pub fn sampled(&self) -> bool {
        self.sampled
    }

    /// The client's `tracestate`, forwarded upstream.
    pub fn tracestate(&self) -> Option<&HeaderValue> {
        self.tracestate.as_ref()
    }

    /// The request matched an operation: `http.route` is its base path and template.
    pub(crate) fn routed(&mut self, base_path: &str, template: &str) {
        if let Some(recording) = self.recording.as_mut() {
            recording.route = Some(format!("{base_path}{template}"));
        }
    }

    pub(crate) fn admitted(&mut self, application_id: Option<&Arc<str>>) {
        if let Some(recording) = self.recording.as_mut() {
            recording.application_id = application_id.cloned();
        }
    }

    /// The gateway answered itself with the contract's error `code`.
    pub(crate) fn failed(&mut self, code: &'static str) {
        if let Some(recording) = self.recording.as_mut() {
            recording.error = Some(code);
        }
    }

    /// Starts an upstream attempt to `address:port` with a new span id (a client span when
    /// recording); returns the `traceparent` the upstream receives: that span is its parent.
    pub fn start_attempt(&mut self, address: &str, port: u16) -> (Attempt, TraceparentValue) {
        let span_id = SpanId::random();
        let traceparent = Traceparent::value(&self.trace_id, &span_id, self.sampled);
        let slot = self.recording.as_mut().map(|recording| {
            let start = SystemTime::now();
            let span = AttemptSpan { span_id, start, end: None, address: address.into(), port, status: None };
            recording.attempts.push(span);
            recording.attempts.len() - 1
        });
        (Attempt { slot }, traceparent)
    }

    /// Ends an attempt with the upstream's status, or `None` when it did not answer.
    pub fn end_attempt(&mut self, attempt: &Attempt, status: Option<u16>) {
        let span = attempt.slot.zip(self.recording.as_mut()).and_then(|(slot, r)| r.attempts.get_mut(slot));
        if let Some(span) = span {
            span.end = Some(SystemTime::now());
            span.status = status;
        }
    }

    /// Takes the recording, completed with what the response head tells; `None` when not
    /// recorded.
    pub(crate) fn take_recording(&mut self, outcome: Outcome) -> Option<Box<Recording>> {
        let mut recording = self.recording.take()?;
        recording.status = outcome.status;
        recording.api = outcome.api;
        Some(recording)
    }
}

/// How a request ended, for its server span.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) status: u16,
    /// The API's name and version.
    pub(crate) api: Option<(Arc<str>, Arc<str>)>,
}

// === impl Recording ===

impl Recording {
    fn start(
        trace_id: TraceId,
        parent: Option<SpanId>,
        tracestate: Option<HeaderValue>,
        method: &Method,
        path: &str,
    ) -> Self {
        let start = SystemTime::now();
        Recording {
            trace_id,
            parent,
            tracestate,
            span_id: SpanId::random(),
            start,
            end: start,
            method: method.clone(),
            path: path.into(),
            route: None,
            status: 0,
            api: None,
            application_id: None,
            error: None,
            attempts: Vec::new(),
        }
    }

    /// Ends the server span now, and any attempt a timeout cut short.
    pub(crate) fn end(&mut self) {
        self.end = SystemTime::now();
        for attempt in self.attempts.iter_mut().filter(|attempt| attempt.end.is_none()) {
            attempt.end = Some(self.end);
        }
    }

    /// The server span and one client span per attempt.
    pub(crate) fn span_count(&self) -> u64 {
        1 + self.attempts.len() as u64
    }
}
