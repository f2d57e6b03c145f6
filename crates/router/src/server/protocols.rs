//! The hyper connection builders of a listener, one per way of serving a connection.

use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::TokioTimer;
use hyper_util::server::conn::auto;

use super::ListenerSettings;
use super::activity::Deadlines;
use super::lean::HeadLimits;
use super::streams::StreamExecutor;
use crate::metrics::ConnectionErrors;

/// How a listener serves its connections: HTTP/1.1 only, HTTP/2 only, or either (the plain
/// listener, by the client's preface).
#[derive(Debug)]
pub(super) struct Protocols {
    pub(super) http1: http1::Builder,
    pub(super) http2: http2::Builder<StreamExecutor>,
    pub(super) either: auto::Builder<StreamExecutor>,
    pub(super) deadlines: Deadlines,
    pub(super) send_timeout: Duration,
    /// Set when HTTP/1.1 connections start on the lean path: how much of a head it reads.
    pub(super) lean: Option<HeadLimits>,
}

// Macros rather than functions: hyper's builders and hyper-util's auto sub-builders are
// different types with the same methods, and both must be set alike.

/// HTTP/1.1: the request-head deadline is the connection's own (see `activity`): hyper's
/// would start as soon as a keep-alive connection goes idle.
macro_rules! http1_settings {
    ($builder:expr, $settings:expr) => {
        $builder
            .timer(TokioTimer::new())
            .header_read_timeout(None)
            .max_buf_size(buffer_size($settings))
            .max_headers(HEADER_FIELDS_PARSED.max($settings.max_header_count + 1))
            .keep_alive(true)
    };
}

macro_rules! http2_settings {
    ($builder:expr, $settings:expr) => {
        $builder
            .timer(TokioTimer::new())
            .max_header_list_size(u32::try_from(buffer_size($settings)).unwrap_or(u32::MAX))
            .max_concurrent_streams($settings.http2_max_concurrent_streams)
            .keep_alive_interval(Some(KEEP_ALIVE_INTERVAL))
    };
}

// === impl Protocols ===

impl Protocols {
    pub(super) fn new(settings: &ListenerSettings, errors: ConnectionErrors) -> Self {
        let executor = StreamExecutor { send_timeout: settings.send_timeout, errors };
        let mut either = auto::Builder::new(executor.clone());
        http1_settings!(either.http1(), settings);
        http2_settings!(either.http2(), settings);
        let mut http1 = http1::Builder::new();
        http1_settings!(http1, settings);
        let mut http2 = http2::Builder::new(executor);
        http2_settings!(http2, settings);
        let deadlines = Deadlines { idle: settings.idle_timeout, head: settings.header_read_timeout };
        // The lean path reads what hyper would, and one field more than the contract's limit
        // so the pipeline answers 431; longer heads go to hyper.
        let lean = settings
            .lean_http1
            .then(|| HeadLimits { bytes: buffer_size(settings), fields: settings.max_header_count + 1 });
        Protocols { http1, http2, either, deadlines, send_timeout: settings.send_timeout, lean }
    }
}

/// The HTTP/1.1 parser's room for header fields. Above the contract's limit (100 by default)
/// so that the pipeline answers 431 with the contract's body; a request head with even more
/// fields gets hyper's own bare 431 and the connection is closed. hyper then allocates the
/// room per request head instead of using its 100 inline slots: two blocks of 32 bytes per
/// field, freed when the head is parsed (a few tens of ns with mimalloc).
const HEADER_FIELDS_PARSED: usize = 1024;

/// HTTP/2 PINGs an idle-looking peer this often (and drops it when unanswered).
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// hyper's buffers are sized a little above the contract's header limit so the pipeline can
/// answer 431 with the contract's body.
fn buffer_size(settings: &ListenerSettings) -> usize {
    (settings.max_header_bytes + 16 * 1024).max(8192)
}
