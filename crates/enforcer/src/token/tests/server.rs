//! A JWKS endpoint on 127.0.0.1:0 for tests: counts fetches, serves a key set that can change,
//! honours `If-None-Match`, and can fail with 500, serve garbage, or go away.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::TestKey;
use crate::model::KeySource;

/// How the endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::token) enum Mode {
    Serve,
    Fail,
    Garbage,
}

pub(in crate::token) struct JwksServer {
    pub(in crate::token) url: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

struct State {
    fetches: AtomicUsize,
    config: Mutex<Config>,
}

struct Config {
    body: String,
    version: u64,
    mode: Mode,
    cache_control: Option<String>,
}

// === impl JwksServer ===

impl JwksServer {
    pub(in crate::token) async fn start(keys: &[&TestKey]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let url = format!("http://{}/oauth2/jwks", listener.local_addr().expect("local address"));
        let config = Config { body: jwks(keys), version: 1, mode: Mode::Serve, cache_control: None };
        let state = Arc::new(State { fetches: AtomicUsize::new(0), config: Mutex::new(config) });
        let task = tokio::spawn(serve(listener, state.clone()));
        JwksServer { url, state, task }
    }

    pub(in crate::token) fn source(&self) -> KeySource {
        KeySource::Jwks { url: self.url.as_str().into() }
    }

    /// Publishes another key set (with a new ETag).
    pub(in crate::token) fn set_keys(&self, keys: &[&TestKey]) {
        self.set_body(&jwks(keys));
    }

    /// Publishes any body (with a new ETag).
    pub(in crate::token) fn set_body(&self, body: &str) {
        self.update(|config| {
            config.body = body.to_owned();
            config.version += 1;
        });
    }

    pub(in crate::token) fn set_mode(&self, mode: Mode) {
        self.update(|config| config.mode = mode);
    }

    pub(in crate::token) fn set_cache_control(&self, value: &str) {
        self.update(|config| config.cache_control = Some(value.to_owned()));
    }

    /// Requests received so far (any answer).
    pub(in crate::token) fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    /// Stops listening and closes every open connection.
    pub(in crate::token) fn stop(&self) {
        self.task.abort();
    }

    fn update(&self, change: impl FnOnce(&mut Config)) {
        change(&mut self.state.config.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn jwks(keys: &[&TestKey]) -> String {
    json!({"keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>()}).to_string()
}

/// Accepts connections until aborted; aborting drops the `JoinSet`, closing them all.
async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else { continue };
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let response = state.respond(&request);
                async move { Ok::<_, Infallible>(response) }
            });
            let _closed = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

// === impl State ===

impl State {
    fn respond(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let config = self.config.lock().unwrap_or_else(PoisonError::into_inner);
        let etag = format!("\"v{}\"", config.version);
        let mut response = Response::builder();
        if let Some(cache_control) = &config.cache_control {
            response = response.header(CACHE_CONTROL, cache_control);
        }
        let not_modified = request.headers().get(IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes());
        let (status, body) = match config.mode {
            Mode::Fail => (StatusCode::INTERNAL_SERVER_ERROR, "oops".to_owned()),
            Mode::Garbage => (StatusCode::OK, "<html>not a key set</html>".to_owned()),
            Mode::Serve if not_modified => (StatusCode::NOT_MODIFIED, String::new()),
            Mode::Serve => (StatusCode::OK, config.body.clone()),
        };
        response
            .status(status)
            .header(ETAG, etag)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("a valid response")
    }
}
