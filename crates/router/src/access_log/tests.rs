#![allow(clippy::unwrap_used)] // a failed test setup must panic loudly

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, SystemTime};

use http::{HeaderValue, Method};
use prometheus::IntCounter;

use super::{AccessLog, Record};
use crate::trace::TraceId;

/// Long enough for a thread to be scheduled on a loaded machine; only a failure waits it out.
const WITHIN: Duration = Duration::from_secs(30);

/// The writer's output: says when a flush starts (and then waits for a go-ahead when gated),
/// and hands over what was written at each flush.
struct Probe {
    written: Vec<u8>,
    started: Sender<()>,
    go: Option<Receiver<()>>,
    flushed: Sender<Vec<u8>>,
}

impl Write for Probe {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.written.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.started.send(());
        if let Some(go) = &self.go {
            let _ = go.recv_timeout(WITHIN);
        }
        let _ = self.flushed.send(std::mem::take(&mut self.written));
        Ok(())
    }
}

struct Started {
    log: AccessLog,
    started: Receiver<()>,
    go: Sender<()>,
    flushed: Receiver<Vec<u8>>,
}

fn start(capacity: usize, gated: bool) -> Started {
    let (started_tx, started) = channel();
    let (go, go_rx) = channel();
    let (flushed_tx, flushed) = channel();
    let probe = Probe { written: Vec::new(), started: started_tx, go: gated.then_some(go_rx), flushed: flushed_tx };
    let dropped = IntCounter::new("dropped", "dropped").unwrap();
    let log = AccessLog::spawn(Box::new(probe), capacity, dropped).unwrap();
    Started { log, started, go, flushed }
}

fn record(path: &str) -> Record {
    Record {
        at: SystemTime::UNIX_EPOCH,
        request_id: HeaderValue::from_static("id"),
        trace_id: TraceId::random(),
        method: Method::GET,
        path: path.into(),
        host: "localhost".into(),
        status: 200,
        api: None,
        version: None,
        application: None,
        upstream: None,
        duration: Duration::ZERO,
        upstream_duration: None,
        bytes_in: 0,
        bytes_out: 0,
        client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

fn paths(written: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(written).unwrap();
    let path = |l: &str| serde_json::from_str::<serde_json::Value>(l).unwrap()["path"].as_str().unwrap().to_owned();
    text.lines().map(path).collect()
}

#[test]
fn lines_are_written_in_order_and_flushed_when_the_queue_empties() {
    let probe = start(16, false);
    for path in ["/a", "/b", "/c"] {
        probe.log.send(record(path));
    }
    let mut written = Vec::new();
    while written.len() < 3 {
        written.extend(paths(&probe.flushed.recv_timeout(WITHIN).unwrap()));
    }
    assert_eq!(written, ["/a", "/b", "/c"]);
    assert_eq!(probe.log.dropped.get(), 0);
}

#[test]
fn a_full_queue_drops_and_counts_the_line_instead_of_waiting() {
    let probe = start(1, true);
    probe.log.send(record("/taken"));
    // The writer holds "/taken" (stuck in its flush): the queue has room for one line.
    probe.started.recv_timeout(WITHIN).unwrap();
    probe.log.send(record("/queued"));
    probe.log.send(record("/dropped"));
    assert_eq!(probe.log.dropped.get(), 1);
    probe.go.send(()).unwrap();
    probe.go.send(()).unwrap();
    assert_eq!(paths(&probe.flushed.recv_timeout(WITHIN).unwrap()), ["/taken"]);
    assert_eq!(paths(&probe.flushed.recv_timeout(WITHIN).unwrap()), ["/queued"]);
}
