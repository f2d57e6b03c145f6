//! Client listeners: accept TCP, terminate TLS, serve HTTP/1.1 and HTTP/2 with hyper, and
//! shut down gracefully (operator.md, "Shutdown").

mod connection;
mod framing;
mod shutdown;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::pipeline::Pipeline;
use crate::tls::TlsMetrics;

pub use shutdown::{Phase, Shutdown, ShutdownTrigger};

/// How client connections are served.
#[derive(Debug, Clone)]
pub struct ListenerSettings {
    /// A client must send a complete request head within this time (slow-loris guard); it
    /// also bounds how long an idle HTTP/1.1 keep-alive connection is kept.
    pub header_read_timeout: Duration,
    pub tls_handshake_timeout: Duration,
    /// The contract's header limit; hyper's buffers are sized a little above it so the
    /// pipeline can answer 431 with the contract's body.
    pub max_header_bytes: usize,
    pub http2_max_concurrent_streams: u32,
}

/// A bound client listener, ready to serve.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<(TlsAcceptor, TlsMetrics)>,
    name: &'static str,
}

// === impl ListenerSettings ===

impl Default for ListenerSettings {
    fn default() -> Self {
        ListenerSettings {
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            http2_max_concurrent_streams: 256,
        }
    }
}

// === impl Listener ===

impl Listener {
    /// A TLS listener (`https`).
    pub fn https(tcp: TcpListener, acceptor: TlsAcceptor, metrics: TlsMetrics) -> Self {
        Listener { tcp, tls: Some((acceptor, metrics)), name: "https" }
    }

    /// A plain-HTTP listener (`http`).
    pub fn http(tcp: TcpListener) -> Self {
        Listener { tcp, tls: None, name: "http" }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Accepts until shutdown closes the listener, then lets open connections finish: idle
    /// HTTP/1.1 connections close, HTTP/2 connections get GOAWAY, in-flight requests get
    /// until the shutdown deadline.
    pub async fn serve(self, pipeline: Arc<Pipeline>, settings: &ListenerSettings, mut shutdown: Shutdown) {
        let builder = http_builder(settings);
        let graceful = GracefulShutdown::new();
        let connections = pipeline.metrics().connections(self.name);
        loop {
            let accepted = tokio::select! {
                accepted = self.tcp.accept() => accepted,
                () = shutdown.closing() => break,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_error(&error).await;
                    continue;
                }
            };
            let served = connection::Served {
                pipeline: pipeline.clone(),
                builder: builder.clone(),
                tls: self.tls.clone(),
                handshake_timeout: settings.tls_handshake_timeout,
                gauge: connections.clone(),
            };
            tokio::spawn(served.run(stream, peer, graceful.watcher()));
        }
        drop(self.tcp);
        tracing::info!(listener = self.name, "listener closed; finishing open connections");
        shutdown.finish(graceful.shutdown()).await;
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").field("name", &self.name).field("addr", &self.tcp.local_addr().ok()).finish()
    }
}

fn http_builder(settings: &ListenerSettings) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    let buffer = settings.max_header_bytes + 16 * 1024;
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(buffer.max(8192))
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(buffer).unwrap_or(u32::MAX))
        .max_concurrent_streams(settings.http2_max_concurrent_streams)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    builder
}

/// Accept errors are mostly transient (EMFILE, ECONNABORTED); back off briefly instead of
/// spinning.
async fn accept_error(error: &std::io::Error) {
    tracing::warn!(%error, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}
