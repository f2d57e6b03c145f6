//! The admin listener (operator.md, "Admin listener"): liveness, readiness, the running
//! configuration, Prometheus metrics and the backend-JWT JWKS, on a separate plain-HTTP port.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;
use tollgate_enforcer::backend_jwt::BackendJwtSigner;
use tollgate_router::SnapshotStore;
use tollgate_router::server::{Phase, Shutdown};

/// Produces the `/config` document on demand.
pub type ConfigView = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// Ready = a configuration is loaded, the client listeners are bound, and the gateway is not
/// draining.
#[derive(Debug)]
pub struct Readiness {
    store: Arc<SnapshotStore>,
    listeners_bound: AtomicBool,
    shutdown: Shutdown,
}

/// What the admin endpoints read.
pub struct Admin {
    pub registry: Registry,
    pub readiness: Arc<Readiness>,
    pub config_view: ConfigView,
    /// The backend-JWT signer whose keys `GET /jwks` publishes; `None`: 404.
    pub jwks: Option<Arc<BackendJwtSigner>>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").field("readiness", &self.readiness).finish_non_exhaustive()
    }
}

// === impl Readiness ===

impl Readiness {
    pub fn new(store: Arc<SnapshotStore>, shutdown: Shutdown) -> Self {
        Readiness { store, listeners_bound: AtomicBool::new(false), shutdown }
    }

    pub fn listeners_bound(&self) {
        self.listeners_bound.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.store.is_loaded()
            && self.listeners_bound.load(Ordering::Acquire)
            && self.shutdown.phase() == Phase::Serving
    }
}

// === impl Admin ===

impl Admin {
    /// Serves until `shutdown` closes the listeners.
    pub async fn serve(self, listener: TcpListener, mut shutdown: Shutdown) {
        let admin = Arc::new(self);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = shutdown.closing() => return,
            };
            let Ok((stream, _)) = accepted else { continue };
            let admin = admin.clone();
            let service = service_fn(move |request| {
                let admin = admin.clone();
                async move { Ok::<_, Infallible>(admin.answer(&request)) }
            });
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                if let Err(error) = conn.await {
                    tracing::debug!(%error, "admin connection ended with an error");
                }
            });
        }
    }

    fn answer(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        }
        match request.uri().path() {
            "/health/live" => text(StatusCode::OK, "live\n"),
            "/health/ready" if self.readiness.is_ready() => text(StatusCode::OK, "ready\n"),
            "/health/ready" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
            "/metrics" => self.metrics(),
            "/config" => json(&(self.config_view)()),
            "/jwks" => self.jwks(),
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        }
    }

    fn metrics(&self) -> Response<Full<Bytes>> {
        let encoder = TextEncoder::new();
        let mut body = Vec::with_capacity(16 * 1024);
        if let Err(error) = encoder.encode(&self.registry.gather(), &mut body) {
            tracing::error!(%error, "cannot encode metrics");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n");
        }
        respond(StatusCode::OK, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"), body)
    }

    /// The JWK Set that verifies backend JWTs (operator.md): the signing key, and a replaced
    /// key until the JWTs it signed have expired.
    fn jwks(&self) -> Response<Full<Bytes>> {
        let Some(signer) = &self.jwks else { return text(StatusCode::NOT_FOUND, "no [backend_jwt] key configured\n") };
        json(&serde_json::to_value(signer.jwks()).unwrap_or_default())
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    respond(status, HeaderValue::from_static("text/plain; charset=utf-8"), body)
}

fn json(value: &serde_json::Value) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec_pretty(value).unwrap_or_default();
    respond(StatusCode::OK, HeaderValue::from_static("application/json"), body)
}

fn respond(status: StatusCode, content_type: HeaderValue, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}
