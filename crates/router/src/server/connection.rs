use std::convert::Infallible;
use std::error::Error;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONNECTION;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prometheus::IntGauge;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tollgate_enforcer::client_cert::PresentedChain;

use super::Shutdown;
use super::activity::{Activity, Expired};
use super::client_io::ClientIo;
use super::framing::{Observed, Verdicts};
use super::lean::{Ended, LeanHttp1, Rewind};
use super::protocols::Protocols;
use super::response::ServedBody;
use super::streams::SendProgress;
use crate::metrics::ConnectionErrors;
use crate::pipeline::{Connection, Pipeline};
use crate::tls::TlsMetrics;

/// One accepted client connection and what it needs to be served.
pub(super) struct Served {
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) protocols: Arc<Protocols>,
    pub(super) tls: Option<(TlsAcceptor, TlsMetrics)>,
    pub(super) handshake_timeout: Duration,
    pub(super) gauge: IntGauge,
    pub(super) errors: ConnectionErrors,
    pub(super) shutdown: Shutdown,
    /// Held while the connection is served (the listener waits for all at shutdown).
    pub(super) _open: tokio::sync::watch::Receiver<()>,
}

/// The protocol a connection is served with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// ALPN `http/1.1`, or TLS without ALPN.
    Http1,
    /// ALPN `h2`.
    Http2,
    /// The plain listener: HTTP/1.1, or HTTP/2 by prior knowledge.
    Either,
}

/// Decrements the open-connections gauge however the connection ends.
struct Open(IntGauge);

impl Served {
    pub(super) async fn run(self, stream: TcpStream, peer: SocketAddr) {
        self.gauge.inc();
        let _open = Open(self.gauge.clone());
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "set_nodelay failed");
        }
        match self.tls.clone() {
            Some((acceptor, metrics)) => {
                let handshake = tokio::time::timeout(self.handshake_timeout, acceptor.accept(stream)).await;
                match handshake {
                    Ok(Ok(tls)) => {
                        let wire =
                            if tls.get_ref().1.alpn_protocol() == Some(b"h2") { Wire::Http2 } else { Wire::Http1 };
                        let connection = Connection::new(peer, true).with_client_certificate(client_certificate(&tls));
                        self.http(tls, connection, wire).await;
                    }
                    Ok(Err(error)) => self.handshake_failed(&metrics, peer, &error.to_string()),
                    Err(_) => self.handshake_failed(&metrics, peer, "timed out"),
                }
            }
            None => self.http(stream, Connection::new(peer, false), Wire::Either).await,
        }
    }

    /// Serves the connection with `wire`; HTTP/1.1 request framing is observed on the wire.
    async fn http<IO>(self, io: IO, connection: Connection, wire: Wire)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Activity::new(wire == Wire::Http2);
        let send_timeouts = self.errors.send_timeout.clone();
        let io = ClientIo::new(io, activity.clone(), self.protocols.send_timeout, send_timeouts);
        let peer = connection.peer;
        let io = match (wire, self.protocols.lean) {
            (Wire::Http1 | Wire::Either, Some(limits)) => {
                let lean = LeanHttp1 {
                    pipeline: &self.pipeline,
                    connection: &connection,
                    activity: &activity,
                    deadlines: self.protocols.deadlines,
                    limits,
                    shutdown: self.shutdown.clone(),
                    header_timeouts: self.errors.header_timeout.clone(),
                };
                // Boxed, as hyper's connection below: it is freed when hyper takes over.
                match Box::pin(lean.serve(io)).await {
                    Ok(Ended::HandedOver(io)) => io,
                    Ok(Ended::Closed) => return,
                    Err(error) => {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                        return;
                    }
                }
            }
            (Wire::Http1 | Wire::Either | Wire::Http2, _) => Rewind::new(Bytes::new(), io),
        };
        // One boxed future of the wire's kind: awaited in place, the three kinds would each
        // take room in every connection's task (about 10 KiB more per connection).
        let served: Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> = match wire {
            Wire::Http2 => {
                let service = service(self.pipeline.clone(), connection, None, activity.clone());
                let conn = self.protocols.http2.serve_connection(TokioIo::new(io), service);
                Box::pin(self.drive(conn, &activity, |conn| conn.graceful_shutdown()))
            }
            Wire::Http1 => {
                let (io, verdicts) = Observed::new(io);
                let service = service(self.pipeline.clone(), connection, Some(verdicts), activity.clone());
                let conn = self.protocols.http1.serve_connection(TokioIo::new(io), service).with_upgrades();
                Box::pin(self.drive(conn, &activity, |conn| conn.graceful_shutdown()))
            }
            Wire::Either => {
                let (io, verdicts) = Observed::new(io);
                let service = service(self.pipeline.clone(), connection, Some(verdicts), activity.clone());
                let conn = self.protocols.either.serve_connection_with_upgrades(TokioIo::new(io), service);
                Box::pin(self.drive(conn, &activity, |conn| conn.graceful_shutdown()))
            }
        };
        if let Err(error) = served.await {
            tracing::debug!(%peer, %error, "connection ended with an error");
        }
    }

    /// Runs `conn` to its end. At shutdown or after the idle timeout it is asked to `finish`
    /// (HTTP/1.1: close once no request is in flight; HTTP/2: GOAWAY); a request head not
    /// complete in time closes it at once.
    async fn drive<C, E>(&self, conn: C, activity: &Activity, finish: impl FnOnce(Pin<&mut C>)) -> Result<(), String>
    where
        C: Future<Output = Result<(), E>>,
        E: Into<Box<dyn Error + Send + Sync>>,
    {
        let mut conn = pin!(conn);
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            result = conn.as_mut() => return self.ended(result),
            () = shutdown.closing() => {}
            expired = activity.expired(self.protocols.deadlines) => if expired == Expired::Head {
                self.errors.header_timeout.inc();
                return Err("request head not complete within the header timeout".into());
            },
        }
        finish(conn.as_mut());
        let result = conn.await;
        self.ended(result)
    }

    /// Counts a connection that ended on a malformed request (`protocol`).
    fn ended<E: Into<Box<dyn Error + Send + Sync>>>(&self, result: Result<(), E>) -> Result<(), String> {
        let error = result.map_err(Into::into).err();
        let Some(error) = error else { return Ok(()) };
        if error.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_parse) {
            self.errors.protocol.inc();
        }
        Err(error.to_string())
    }

    fn handshake_failed(&self, metrics: &TlsMetrics, peer: SocketAddr, error: &str) {
        metrics.handshake_failed();
        self.errors.handshake.inc();
        tracing::debug!(%peer, error, "TLS handshake failed");
    }
}

/// The certificate chain the client presented in the handshake, if any (the handshake proved
/// it holds the key); copied once per connection for the request path, which decides per Api.
fn client_certificate<IO>(tls: &tokio_rustls::server::TlsStream<IO>) -> Option<Arc<PresentedChain>> {
    let certificates = tls.get_ref().1.peer_certificates()?;
    PresentedChain::new(certificates.iter().map(|certificate| certificate.clone().into_owned()).collect()).map(Arc::new)
}

/// The connection's service: each request goes through the pipeline, its response body
/// counted as in flight until it is done.
fn service(
    pipeline: Arc<Pipeline>,
    connection: Connection,
    verdicts: Option<Arc<Verdicts>>,
    activity: Arc<Activity>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<ServedBody>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<ServedBody>, Infallible>> + Send + 'static,
> + Clone
+ Send
+ 'static {
    service_fn(move |request: Request<Incoming>| {
        let pipeline = pipeline.clone();
        let mut connection = connection.clone();
        let http2 = request.version() == http::Version::HTTP_2;
        if !http2 {
            connection.ambiguous_framing = verdicts.as_ref().is_some_and(|v| v.next_request_is_ambiguous());
        }
        let activity = activity.clone();
        async move {
            // Polled inside the HTTP/2 stream's task, where its send progress is in scope.
            let in_flight = activity.request_started(http2);
            let progress = SendProgress::current();
            // Boxed per request: hyper keeps room for one service future per connection,
            // idle or not, and the pipeline's is a few KiB.
            let response = Box::pin(pipeline.handle(request, connection)).await;
            if !http2 && response.headers().get(CONNECTION).is_some_and(|value| value == "close") {
                activity.input_left_unread();
            }
            Ok::<_, Infallible>(response.map(|body| ServedBody::new(body, in_flight, progress)))
        }
    })
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}
