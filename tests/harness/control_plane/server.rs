//! The fake control plane's HTTP side: routing, the bearer-token check, long polls, faults.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::state::Answer;
use super::{BASE_PATH, Shared};
use crate::IssuedCert;

/// A poll dropped on purpose: hyper closes the connection without answering.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

pub(super) async fn connection(stream: tokio::net::TcpStream, shared: Arc<Shared>, tls: Option<TlsAcceptor>) {
    let service = service_fn(move |request| handle(shared.clone(), request));
    let builder = auto::Builder::new(TokioExecutor::new());
    match tls {
        Some(acceptor) => {
            let Ok(stream) = acceptor.accept(stream).await else { return };
            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
        }
        None => {
            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
        }
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let query = Query::parse(parts.uri.query());
    let route = parts.uri.path().strip_prefix(BASE_PATH).unwrap_or("").to_owned();
    {
        let mut state = shared.state.lock().unwrap();
        if let Some(status) = state.failing {
            return Ok(respond(Answer::Empty(status)));
        }
        if !authorized(state.token.as_deref(), &parts.headers) {
            state.unauthorized += 1;
            return Ok(respond(Answer::Json { status: 401, body: json!({"error": "unauthorized"}), etag: None }));
        }
    }
    let answer = match (&parts.method, route.as_str()) {
        (&Method::GET, "/snapshot") => {
            let if_none_match = parts.headers.get("if-none-match").and_then(|v| v.to_str().ok());
            shared.state.lock().unwrap().answer_snapshot(query.environment.as_deref(), if_none_match)
        }
        (&Method::GET, "/events") => events(&shared, &query).await,
        (&Method::POST, "/status") => {
            while shared.state.lock().unwrap().stall_status {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(report) => {
                    shared.state.lock().unwrap().statuses.push(report);
                    Answer::Empty(204)
                }
                Err(_) => Answer::Empty(400),
            }
        }
        _ => Answer::Empty(404),
    };
    match answer {
        Answer::Drop | Answer::Wait => Err(Dropped),
        answer @ (Answer::Json { .. } | Answer::Empty(_) | Answer::Garbage { .. }) => Ok(respond(answer)),
    }
}

/// A long poll: answers as soon as events after `after` exist, else after `waitSeconds`.
async fn events(shared: &Shared, query: &Query) -> Answer {
    let drop_it = {
        let mut state = shared.state.lock().unwrap();
        state.polls += 1;
        let drop_it = state.drop_polls > 0;
        state.drop_polls = state.drop_polls.saturating_sub(1);
        drop_it
    };
    if drop_it {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Answer::Drop;
    }
    let deadline = Instant::now() + Duration::from_secs(query.wait_seconds.unwrap_or(30).min(60));
    let mut changes = shared.changes.subscribe();
    loop {
        let last_try = Instant::now() >= deadline;
        let answer = shared.state.lock().unwrap().answer_events(query.environment.as_deref(), query.after, last_try);
        if !matches!(answer, Answer::Wait) {
            return answer;
        }
        tokio::select! {
            _ = changes.changed() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

fn authorized(token: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(token) = token else { return true };
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    given == Some(format!("Bearer {token}").as_str())
}

fn respond(answer: Answer) -> Response<Full<Bytes>> {
    let (status, body, etag) = match answer {
        Answer::Json { status, body, etag } => (status, Bytes::from(serde_json::to_vec(&body).unwrap()), etag),
        Answer::Empty(status) => (status, Bytes::new(), None),
        Answer::Garbage { status, etag } => (status, Bytes::from_static(b"{\"apis\": [ not json"), Some(etag)),
        Answer::Wait | Answer::Drop => (500, Bytes::new(), None),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    if let Some(revision) = etag {
        response.headers_mut().insert("etag", format!("\"{revision}\"").parse().unwrap());
    }
    response
}

#[derive(Default)]
struct Query {
    environment: Option<String>,
    after: Option<u64>,
    wait_seconds: Option<u64>,
}

impl Query {
    fn parse(query: Option<&str>) -> Query {
        let mut parsed = Query::default();
        for (key, value) in crate::query_pairs(query) {
            match key {
                "environment" => parsed.environment = Some(value.replace('+', " ")),
                "after" => parsed.after = value.parse().ok(),
                "waitSeconds" => parsed.wait_seconds = value.parse().ok(),
                _ => {}
            }
        }
        parsed
    }
}

pub(super) fn tls_acceptor(cert: &IssuedCert, client_ca_pem: Option<&str>) -> TlsAcceptor {
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
    let builder = rustls::ServerConfig::builder();
    let config = match client_ca_pem {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots.add(ca.unwrap()).unwrap();
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots)).build().unwrap();
            builder.with_client_cert_verifier(verifier).with_single_cert(certs, key).unwrap()
        }
        None => builder.with_no_client_auth().with_single_cert(certs, key).unwrap(),
    };
    TlsAcceptor::from(Arc::new(config))
}
