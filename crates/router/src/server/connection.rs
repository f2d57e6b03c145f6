use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use prometheus::IntGauge;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::framing::{Observed, Verdicts};
use crate::pipeline::{Connection, Pipeline};
use crate::tls::TlsMetrics;

/// One accepted client connection and what it needs to be served.
pub(super) struct Served {
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) builder: auto::Builder<TokioExecutor>,
    pub(super) tls: Option<(TlsAcceptor, TlsMetrics)>,
    pub(super) handshake_timeout: Duration,
    pub(super) gauge: IntGauge,
}

/// Decrements the open-connections gauge however the connection ends.
struct Open(IntGauge);

impl Served {
    pub(super) async fn run(self, stream: TcpStream, peer: SocketAddr, watcher: Watcher) {
        self.gauge.inc();
        let _open = Open(self.gauge.clone());
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "set_nodelay failed");
        }
        match self.tls.clone() {
            Some((acceptor, metrics)) => {
                let handshake = tokio::time::timeout(self.handshake_timeout, acceptor.accept(stream)).await;
                match handshake {
                    Ok(Ok(tls)) if tls.get_ref().1.alpn_protocol() == Some(b"h2") => {
                        self.http(tls, Connection::new(peer, true), None, watcher).await;
                    }
                    Ok(Ok(tls)) => self.observed(tls, Connection::new(peer, true), watcher).await,
                    Ok(Err(error)) => handshake_failed(&metrics, peer, &error.to_string()),
                    Err(_) => handshake_failed(&metrics, peer, "timed out"),
                }
            }
            None => self.observed(stream, Connection::new(peer, false), watcher).await,
        }
    }

    /// HTTP/1.1 (or HTTP/2 by prior knowledge) with its request framing observed.
    async fn observed<IO>(self, io: IO, connection: Connection, watcher: Watcher)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (io, verdicts) = Observed::new(io);
        self.http(io, connection, Some(verdicts), watcher).await;
    }

    async fn http<IO>(self, io: IO, connection: Connection, verdicts: Option<Arc<Verdicts>>, watcher: Watcher)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let pipeline = self.pipeline;
        let peer = connection.peer;
        let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let pipeline = pipeline.clone();
            let mut connection = connection.clone();
            if request.version() <= http::Version::HTTP_11 {
                connection.ambiguous_framing = verdicts.as_ref().is_some_and(|v| v.next_request_is_ambiguous());
            }
            async move { Ok::<_, Infallible>(pipeline.handle(request, connection).await) }
        });
        let conn = self.builder.serve_connection_with_upgrades(TokioIo::new(io), service).into_owned();
        if let Err(error) = watcher.watch(conn).await {
            tracing::debug!(%peer, %error, "connection ended with an error");
        }
    }
}

fn handshake_failed(metrics: &TlsMetrics, peer: SocketAddr, error: &str) {
    metrics.handshake_failed();
    tracing::debug!(%peer, error, "TLS handshake failed");
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}
