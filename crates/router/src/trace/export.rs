//! The span exporter: a bounded queue the request path never waits on, drained by one
//! background task that sends batches to the collector as OTLP/HTTP protobuf.

use std::sync::Arc;
use std::time::Duration;

use prometheus::{IntCounter, Registry};
use prost::Message;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::encode::export_request;
use super::request::Recording;

/// Recorded requests waiting for export; when full, a request's spans are dropped.
const QUEUE_CAPACITY: usize = 4096;
/// Requests per export request at most.
const MAX_BATCH: usize = 512;

/// `[tracing]`, validated.
#[derive(Debug, Clone)]
pub struct TracingSettings {
    /// Where spans go; `None`: no export (the context is still propagated).
    pub endpoint: Option<OtlpEndpoint>,
    pub service_name: Arc<str>,
    /// For requests whose `traceparent` does not say sampled, in `0.0..=1.0`.
    pub sample_ratio: f64,
    /// One export request waits this long at most; its spans are dropped after.
    pub export_timeout: Duration,
    /// A batch that is not full is sent at the latest this long after the previous export.
    pub batch_delay: Duration,
}

/// An OTLP/HTTP traces URL (`http` or `https`, with a host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpEndpoint(reqwest::Url);

/// Why tracing cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TracingError {
    #[error("{0:?} is not an http:// or https:// URL with a host")]
    Endpoint(String),
    #[error("the OTLP HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// `tollgate_tracing_spans_dropped_total`.
#[derive(Debug, Clone)]
pub struct TracingMetrics {
    dropped: IntCounter,
}

/// The request path's end of the queue: never blocks, counts what it drops.
#[derive(Debug, Clone)]
pub(crate) struct SpanQueue {
    sender: mpsc::Sender<Recording>,
    dropped: IntCounter,
}

/// The running export task; [`Exporter::flush`] at shutdown sends what is queued.
#[derive(Debug)]
pub struct Exporter {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// What the export task owns.
struct Export {
    queue: mpsc::Receiver<Recording>,
    client: reqwest::Client,
    endpoint: reqwest::Url,
    service_name: Arc<str>,
    batch_delay: Duration,
    dropped: IntCounter,
}

// === impl OtlpEndpoint ===

impl OtlpEndpoint {
    pub fn parse(text: &str) -> Result<Self, TracingError> {
        let invalid = || TracingError::Endpoint(text.to_owned());
        let url = reqwest::Url::parse(text).map_err(|_| invalid())?;
        let web = matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|host| !host.is_empty());
        web.then_some(OtlpEndpoint(url)).ok_or_else(invalid)
    }
}

// === impl TracingMetrics ===

impl TracingMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self::unregistered()?;
        registry.register(Box::new(metrics.dropped.clone()))?;
        Ok(metrics)
    }

    pub fn unregistered() -> prometheus::Result<Self> {
        let help = "Spans dropped: the export queue was full or the collector failed or was too slow";
        Ok(TracingMetrics { dropped: IntCounter::new("tollgate_tracing_spans_dropped_total", help)? })
    }
}

// === impl SpanQueue ===

impl SpanQueue {
    /// Queues a finished request's spans, or drops and counts them.
    pub(crate) fn send(&self, recording: Box<Recording>) {
        let spans = recording.span_count();
        if self.sender.try_send(*recording).is_err() {
            self.dropped.inc_by(spans);
        }
    }
}

// === impl Exporter ===

impl Exporter {
    /// Starts the export task for `endpoint`; returns the queue's sending end with it.
    pub(crate) fn start(
        endpoint: &OtlpEndpoint,
        settings: &TracingSettings,
        metrics: &TracingMetrics,
    ) -> Result<(SpanQueue, Exporter), TracingError> {
        let client = reqwest::Client::builder().timeout(settings.export_timeout).build()?;
        let (sender, queue) = mpsc::channel(QUEUE_CAPACITY);
        let dropped = metrics.dropped.clone();
        let export = Export {
            queue,
            client,
            endpoint: endpoint.0.clone(),
            service_name: settings.service_name.clone(),
            batch_delay: settings.batch_delay.max(Duration::from_millis(1)),
            dropped: dropped.clone(),
        };
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(export.run(stopped));
        Ok((SpanQueue { sender, dropped }, Exporter { stop, task }))
    }

    /// Exports everything queued, then stops; gives up after `within`.
    pub async fn flush(self, within: Duration) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(within, &mut task).await.is_err() {
            tracing::warn!(?within, "spans still queued at shutdown were not all exported in time");
            task.abort();
        }
    }
}

// === impl Export ===

impl Export {
    /// Sends a batch when it is full or at the next tick of `batch_delay`, until `stopped`
    /// (or every sender is gone); then drains the queue.
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut ticker = tokio::time::interval(self.batch_delay);
        loop {
            let room = MAX_BATCH - batch.len();
            let due = tokio::select! {
                biased;
                _ = &mut stopped => break,
                _ = ticker.tick() => true,
                received = self.queue.recv_many(&mut batch, room) => match received {
                    0 => break,
                    _ => batch.len() >= MAX_BATCH,
                },
            };
            if due && !batch.is_empty() {
                self.export(std::mem::take(&mut batch)).await;
            }
        }
        self.drain(batch).await;
    }

    /// At shutdown: the requests already queued, in batches.
    async fn drain(mut self, mut batch: Vec<Recording>) {
        while let Ok(recording) = self.queue.try_recv() {
            batch.push(recording);
            if batch.len() >= MAX_BATCH {
                self.export(std::mem::take(&mut batch)).await;
            }
        }
        if !batch.is_empty() {
            self.export(batch).await;
        }
    }

    /// One POST; when it fails (no answer in time, not 2xx) its spans are counted as dropped.
    async fn export(&self, batch: Vec<Recording>) {
        let body = export_request(&self.service_name, &batch).encode_to_vec();
        let sent = self
            .client
            .post(self.endpoint.clone())
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        if let Err(error) = sent {
            let spans: u64 = batch.iter().map(|recording| recording.span_count()).sum();
            tracing::warn!(%error, spans, "span export failed; spans dropped");
            self.dropped.inc_by(spans);
        }
    }
}
