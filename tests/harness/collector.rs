//! A fake OpenTelemetry collector: OTLP/HTTP on 127.0.0.1, decoding every
//! `ExportTraceServiceRequest` (protobuf, opentelemetry-proto's types) it accepts.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use tokio::net::TcpListener;

pub use opentelemetry_proto::tonic::trace::v1::Span;

/// How the collector answers an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectorMode {
    /// 200, spans kept.
    Accept,
    /// 503, spans not kept.
    Unavailable,
    /// Never answers.
    Hang,
}

/// A running collector; stops when dropped.
pub struct Collector {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

struct State {
    mode: Mutex<CollectorMode>,
    /// Accepted exports.
    exports: Mutex<Vec<ExportTraceServiceRequest>>,
    /// Every POST received, whatever the answer.
    received: Mutex<usize>,
}

impl Collector {
    pub async fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            mode: Mutex::new(CollectorMode::Accept),
            exports: Mutex::new(Vec::new()),
            received: Mutex::new(0),
        });
        let served = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(request, state.clone()));
                    let _ =
                        auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Collector { addr, state, task }
    }

    /// The OTLP/HTTP traces URL.
    pub fn url(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    pub fn set_mode(&self, mode: CollectorMode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// Export requests received, accepted or not.
    pub fn received(&self) -> usize {
        *self.state.received.lock().unwrap()
    }

    /// Every accepted span.
    pub fn spans(&self) -> Vec<Span> {
        let exports = self.state.exports.lock().unwrap();
        let resource_spans = exports.iter().flat_map(|export| &export.resource_spans);
        resource_spans.flat_map(|r| &r.scope_spans).flat_map(|s| s.spans.iter().cloned()).collect()
    }

    /// The `service.name` of every accepted resource.
    pub fn service_names(&self) -> Vec<String> {
        let exports = self.state.exports.lock().unwrap();
        let resources = exports.iter().flat_map(|export| &export.resource_spans).filter_map(|r| r.resource.as_ref());
        resources.filter_map(|resource| text_value(&resource.attributes, "service.name")).collect()
    }

    /// The accepted spans of trace `trace_id` (hex), once there are at least `count`.
    pub async fn trace(&self, trace_id: &str, count: usize) -> Vec<Span> {
        let of_trace = || self.spans().into_iter().filter(|span| hex(&span.trace_id) == trace_id).collect::<Vec<_>>();
        let arrived = crate::eventually(Duration::from_secs(15), async || of_trace().len() >= count).await;
        assert!(arrived, "{count} spans of trace {trace_id} did not arrive; have {:?}", self.spans());
        of_trace()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(request: Request<Incoming>, state: Arc<State>) -> Result<Response<Full<Bytes>>, Infallible> {
    *state.received.lock().unwrap() += 1;
    let mode = *state.mode.lock().unwrap();
    let is_protobuf = request.headers().get("content-type").is_some_and(|v| v == "application/x-protobuf");
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let status = match mode {
        CollectorMode::Hang => std::future::pending().await,
        CollectorMode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        CollectorMode::Accept => match ExportTraceServiceRequest::decode(body) {
            Ok(export) if is_protobuf => {
                state.exports.lock().unwrap().push(export);
                StatusCode::OK
            }
            _ => StatusCode::BAD_REQUEST,
        },
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response.headers_mut().insert("content-type", "application/x-protobuf".parse().unwrap());
    Ok(response)
}

/// Lowercase hex of an id.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A string attribute of a span.
pub fn text_attribute(span: &Span, key: &str) -> Option<String> {
    text_value(&span.attributes, key)
}

/// An integer attribute of a span.
pub fn int_attribute(span: &Span, key: &str) -> Option<i64> {
    let Value::IntValue(number) = attribute(&span.attributes, key)? else { return None };
    Some(*number)
}

fn text_value(attributes: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<String> {
    let Value::StringValue(text) = attribute(attributes, key)? else { return None };
    Some(text.clone())
}

fn attribute<'a>(attributes: &'a [opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Option<&'a Value> {
    attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()
}
