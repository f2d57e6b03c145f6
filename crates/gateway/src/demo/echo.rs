//! The demo's upstream: answers every request with a JSON description of what it received,
//! so the headers the gateway adds (`X-Forwarded-*`, `X-Request-ID`, the application) show.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::json;
use tokio::net::TcpListener;

use super::http::serve_http;

/// An echo upstream.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoUpstream;

// === impl EchoUpstream ===

impl EchoUpstream {
    /// Serves on `listener` until the task is dropped.
    pub async fn serve(self, listener: TcpListener) {
        serve_http(listener, |request| Self::answer(&request)).await;
    }

    fn answer(request: &Request<Incoming>) -> Response<Full<Bytes>> {
        let headers: BTreeMap<&str, String> = request
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let target = request.uri().path_and_query().map_or("/", |target| target.as_str());
        let echo = json!({
            "upstream": "tollgate demo echo",
            "method": request.method().as_str(),
            "target": target,
            "headers": headers,
        });
        let body = serde_json::to_vec_pretty(&echo).unwrap_or_default();
        let mut response = Response::new(Full::new(Bytes::from(body)));
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}
