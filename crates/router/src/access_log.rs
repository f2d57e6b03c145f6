//! One JSON line per request on stdout (operator.md, "Logs"), written by a dedicated thread so
//! the request path never blocks on stdout: lines go through a bounded channel, and when the
//! channel is full a line is dropped and counted rather than stalling traffic.
//!
//! The channel is tokio's: its memory grows with the lines waiting in it, in blocks of 32,
//! and is given back as they are written. `std::sync::mpsc::sync_channel` allocated (and
//! touched) every slot up front: 65,536 records, ~17 MiB of resident memory at idle.

use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderValue, Method};
use prometheus::{Histogram, IntCounter};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::{Receiver, Sender};

use crate::trace::{Recording, TraceId, Tracer};

/// The sending side of the access log; cheap to clone.
#[derive(Debug, Clone)]
pub struct AccessLog {
    lines: Sender<Record>,
    dropped: IntCounter,
}

/// What is known about a request when its response starts; completed when the body ends.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) at: SystemTime,
    pub(crate) request_id: HeaderValue,
    /// Logged for every request, sampled or not.
    pub(crate) trace_id: TraceId,
    pub(crate) method: Method,
    pub(crate) path: Box<str>,
    pub(crate) host: Box<str>,
    pub(crate) status: u16,
    pub(crate) api: Option<Arc<str>>,
    pub(crate) version: Option<Arc<str>>,
    pub(crate) application: Option<Arc<str>>,
    pub(crate) upstream: Option<Arc<str>>,
    pub(crate) duration: Duration,
    pub(crate) upstream_duration: Option<Duration>,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) client_ip: IpAddr,
}

/// Rides on a response body; on [`Tally::finish`] observes the request duration, logs, and
/// hands a recorded trace to the exporter.
#[derive(Debug)]
pub(crate) struct Tally {
    pub(crate) started: Instant,
    pub(crate) bytes_out: u64,
    pub(crate) duration: Histogram,
    pub(crate) record: Option<(AccessLog, Record)>,
    /// Only for a recorded (sampled, exported) request.
    pub(crate) trace: Option<(Tracer, Box<Recording>)>,
}

#[derive(Serialize)]
struct Line<'a> {
    timestamp: String,
    request_id: &'a str,
    trace_id: &'a str,
    method: &'a str,
    path: &'a str,
    host: &'a str,
    status: u16,
    api: &'a str,
    version: &'a str,
    application: &'a str,
    upstream: &'a str,
    duration_ms: f64,
    upstream_ms: Option<f64>,
    bytes_in: u64,
    bytes_out: u64,
    client_ip: IpAddr,
}

// === impl AccessLog ===

impl AccessLog {
    /// Starts the writer thread on `out` (stdout in production). At most `capacity` lines
    /// wait to be written (at least one); `dropped` counts lines lost to a full channel.
    pub fn spawn(out: Box<dyn Write + Send>, capacity: usize, dropped: IntCounter) -> std::io::Result<Self> {
        let (lines, mut receiver) = tokio::sync::mpsc::channel(capacity.max(1));
        std::thread::Builder::new().name("access-log".into()).spawn(move || write_lines(&mut receiver, out))?;
        Ok(AccessLog { lines, dropped })
    }

    pub(crate) fn send(&self, record: Record) {
        match self.lines.try_send(record) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Closed(_)) => self.dropped.inc(),
        }
    }
}

// === impl Tally ===

impl Tally {
    pub(crate) fn finish(mut self: Box<Self>) {
        let elapsed = self.started.elapsed();
        self.duration.observe(elapsed.as_secs_f64());
        if let Some((log, mut record)) = self.record.take() {
            record.duration = elapsed;
            record.bytes_out = self.bytes_out;
            log.send(record);
        }
        if let Some((tracer, recording)) = self.trace.take() {
            tracer.finish(recording);
        }
    }
}

/// Runs on the writer thread (outside any runtime, so it may block): writes what is queued,
/// flushing whenever the queue is empty, until every sender is gone.
fn write_lines(receiver: &mut Receiver<Record>, out: Box<dyn Write + Send>) {
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    while let Some(record) = receiver.blocking_recv() {
        let mut next = Some(record);
        while let Some(record) = next {
            if write_line(&mut out, &record).is_err() {
                return;
            }
            next = receiver.try_recv().ok();
        }
        if out.flush().is_err() {
            return;
        }
    }
}

fn write_line(out: &mut impl Write, record: &Record) -> std::io::Result<()> {
    let mut trace_id = [0u8; 32];
    let line = Line {
        timestamp: OffsetDateTime::from(record.at).format(&Rfc3339).unwrap_or_default(),
        request_id: record.request_id.to_str().unwrap_or(""),
        trace_id: record.trace_id.write_hex(&mut trace_id),
        method: record.method.as_str(),
        path: &record.path,
        host: &record.host,
        status: record.status,
        api: record.api.as_deref().unwrap_or(""),
        version: record.version.as_deref().unwrap_or(""),
        application: record.application.as_deref().unwrap_or(""),
        upstream: record.upstream.as_deref().unwrap_or(""),
        duration_ms: millis(record.duration),
        upstream_ms: record.upstream_duration.map(millis),
        bytes_in: record.bytes_in,
        bytes_out: record.bytes_out,
        client_ip: record.client_ip,
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1_000.0
}

#[cfg(test)]
mod tests;
