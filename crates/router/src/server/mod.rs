//! Client listeners: accept TCP, terminate TLS, serve HTTP/1.1 and HTTP/2 with hyper, and
//! shut down gracefully (operator.md, "Shutdown").
//!
//! The protocol of a TLS connection is the one ALPN chose, and only that one (RFC 9113
//! §3.2–3.4): `h2` is served as HTTP/2 only; `http/1.1`, or no ALPN, as HTTP/1.1 only. The
//! plain listener serves HTTP/1.1 and HTTP/2 by prior knowledge (the client's preface tells).

/// `AsyncWrite` for a wrapper `$wrapper<IO>` that only watches or replays reads: every write
/// goes straight to its `inner` stream.
macro_rules! write_through {
    ($wrapper:ident) => {
        impl<IO: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for $wrapper<IO> {
            fn poll_write(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                data: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.inner).poll_write(cx, data)
            }

            fn poll_write_vectored(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.inner.is_write_vectored()
            }

            fn poll_flush(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.inner).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
            }
        }
    };
}

mod accept_log;
mod activity;
mod client_io;
mod connection;
mod framing;
mod lean;
mod protocols;
mod response;
mod shutdown;
mod streams;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::pipeline::Pipeline;
use crate::tls::TlsMetrics;

pub use shutdown::{Phase, Shutdown, ShutdownTrigger};

/// How client connections are served.
#[derive(Debug, Clone)]
pub struct ListenerSettings {
    /// An HTTP/1.1 client must send a complete request head within this time from its first
    /// byte (slow-loris guard).
    pub header_read_timeout: Duration,
    pub tls_handshake_timeout: Duration,
    /// A connection with no request in flight for this long is closed (HTTP/1.1) or sent
    /// GOAWAY (HTTP/2).
    pub idle_timeout: Duration,
    /// A response that cannot write to the client for this long is ended: its HTTP/2 stream
    /// reset, or its HTTP/1.1 connection closed; its upstream connection is released.
    pub send_timeout: Duration,
    /// The contract's header limit; hyper's buffers are sized a little above it so the
    /// pipeline can answer 431 with the contract's body.
    pub max_header_bytes: usize,
    /// The contract's header field limit; the HTTP/1.1 parser takes up to
    /// more (1024) so the pipeline can answer 431 with the contract's body.
    pub max_header_count: usize,
    pub http2_max_concurrent_streams: u32,
    /// HTTP/1.1 connections start on the lean path (`lean`), which serves bodiless requests
    /// itself and hands the connection to hyper at the first other one; off, hyper serves
    /// every HTTP/1.1 request.
    pub lean_http1: bool,
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
            idle_timeout: Duration::from_secs(15),
            send_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            max_header_count: 100,
            http2_max_concurrent_streams: 100,
            lean_http1: true,
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
        let errors = pipeline.metrics().connection_errors(self.name);
        let protocols = Arc::new(protocols::Protocols::new(settings, errors.clone()));
        // Every connection task holds a receiver: `closed` resolves once all have ended.
        let (open, _) = tokio::sync::watch::channel(());
        let gauge = pipeline.metrics().connections(self.name);
        let mut failures = accept_log::AcceptFailures::default();
        loop {
            let accepted = tokio::select! {
                accepted = self.tcp.accept() => accepted,
                () = shutdown.closing() => break,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    errors.accept.inc();
                    failures.failed(self.name, &error, tokio::time::Instant::now());
                    // Mostly transient (EMFILE, ECONNABORTED): back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            failures.accepted(self.name);
            let served = connection::Served {
                pipeline: pipeline.clone(),
                protocols: protocols.clone(),
                tls: self.tls.clone(),
                handshake_timeout: settings.tls_handshake_timeout,
                gauge: gauge.clone(),
                errors: errors.clone(),
                shutdown: shutdown.clone(),
                _open: open.subscribe(),
            };
            tokio::spawn(served.run(stream, peer));
        }
        drop(self.tcp);
        tracing::info!(listener = self.name, "listener closed; finishing open connections");
        shutdown.finish(open.closed()).await;
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").field("name", &self.name).field("addr", &self.tcp.local_addr().ok()).finish()
    }
}
