//! The plain-HTTP plumbing the demo's upstream and issuer share, and the readiness probe.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Accepts HTTP/1.1 connections on `listener` forever, answering each request with `answer`.
pub(super) async fn serve_http<F>(listener: TcpListener, answer: F)
where
    F: Fn(Request<Incoming>) -> Response<Full<Bytes>> + Send + Sync + 'static,
{
    let answer = Arc::new(answer);
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let answer = answer.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = answer(request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                tracing::debug!(%error, "demo connection ended with an error");
            }
        });
    }
}

/// Waits until `GET /health/ready` on the admin listener answers 200, at most `within`.
pub(super) async fn wait_ready(admin: SocketAddr, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if matches!(status(admin, "/health/ready").await, Ok(200)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The status code of a plain `GET path` (HTTP/1.0, one request per connection).
async fn status(addr: SocketAddr, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    // "HTTP/1.x NNN"
    let code = std::str::from_utf8(&head[9..12]).ok().and_then(|code| code.parse().ok());
    code.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP status line"))
}
