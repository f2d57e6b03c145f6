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
                    Ok(Ok(tls)) => self.http(tls, Connection { peer, tls: true }, watcher).await,
                    Ok(Err(error)) => handshake_failed(&metrics, peer, &error.to_string()),
                    Err(_) => handshake_failed(&metrics, peer, "timed out"),
                }
            }
            None => self.http(stream, Connection { peer, tls: false }, watcher).await,
        }
    }

    async fn http<IO>(self, io: IO, connection: Connection, watcher: Watcher)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let pipeline = self.pipeline;
        let service = service_fn(move |request| {
            let pipeline = pipeline.clone();
            async move { Ok::<_, Infallible>(pipeline.handle(request, connection).await) }
        });
        let conn = self.builder.serve_connection_with_upgrades(TokioIo::new(io), service).into_owned();
        if let Err(error) = watcher.watch(conn).await {
            tracing::debug!(peer = %connection.peer, %error, "connection ended with an error");
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
