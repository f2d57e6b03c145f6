//! The HTTP side of control-plane.md: `GET /snapshot`, `GET /events`, `POST /status`.

use std::error::Error as StdError;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use http::{HeaderMap, HeaderValue, StatusCode};
use reqwest::Url;

use super::settings::ControlPlaneSettings;
use crate::dto::MAX_DOCUMENT_BYTES;
use crate::metrics::SyncFailure;
use crate::source::SourceError;

/// Connecting (TCP and TLS) may take this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole snapshot may take this long to arrive.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(60);
/// A long poll may take this much longer than the wait it asked for.
const POLL_GRACE: Duration = Duration::from_secs(15);
const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of one control plane and environment. Cheap to clone (the connection pool is
/// shared). Sends `Authorization: Bearer <token>` (marked sensitive) when a token is set.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    snapshot_url: Url,
    events_url: Url,
    status_url: Url,
    wait: Duration,
}

/// The answer to `GET /snapshot`.
#[derive(Debug)]
pub(crate) enum SnapshotReply {
    /// 304: the revision asked about is current.
    NotModified,
    /// 200: the body, and the revision of its `ETag` when it has one.
    Snapshot { body: Vec<u8>, etag: Option<u64> },
}

/// The answer to `GET /events`.
#[derive(Debug)]
pub(crate) enum EventsReply {
    /// 410: the events after the revision asked about are gone.
    Gone,
    Page(Vec<u8>),
}

/// Why a request to the control plane failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No answer: connect, TLS, timeout, or the connection dropped.
    #[error("{}", Chain(.0))]
    Network(reqwest::Error),
    /// An answer the protocol does not expect there (401/403, 5xx, 404, ...).
    #[error("the control plane answered {0}")]
    Status(StatusCode),
    #[error("the response is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    /// The snapshot is not a snapshot of model.md.
    #[error("the snapshot cannot be decoded: {0}")]
    Decode(String),
    /// The snapshot is for another environment or has no revision.
    #[error("{0}")]
    Protocol(String),
}

/// An error with its causes, `: `-separated (reqwest's own message names only the URL).
struct Chain<'a>(&'a (dyn StdError + 'static));

// === impl Client ===

impl Client {
    /// Builds the client: URLs, token, client certificate and extra CA are checked here, so
    /// that a mistake is a startup error rather than a retry loop.
    pub(crate) fn new(settings: &ControlPlaneSettings) -> Result<Self, SourceError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_keepalive(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(90))
            .default_headers(headers(settings.token.as_deref())?)
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &settings.ca_file {
            for certificate in reqwest::Certificate::from_pem_bundle(&read(ca)?).map_err(tls_error(ca))? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if let Some(identity) = &settings.client_identity {
            let mut pem = read(&identity.cert)?;
            pem.push(b'\n');
            pem.extend(read(&identity.key)?);
            builder = builder.identity(reqwest::Identity::from_pem(&pem).map_err(tls_error(&identity.key))?);
        }
        let http = builder.build().map_err(|error| SourceError::Client(Chain(&error).to_string()))?;
        let endpoint = |name: &str| endpoint(&settings.url, name, &settings.environment);
        Ok(Client {
            http,
            snapshot_url: endpoint("snapshot")?,
            events_url: endpoint("events")?,
            status_url: endpoint("status")?,
            wait: settings.wait,
        })
    }

    /// `GET /snapshot`, with `If-None-Match: "<current>"` when a revision is held.
    pub(crate) async fn snapshot(&self, current: Option<u64>) -> Result<SnapshotReply, FetchError> {
        let mut request = self.http.get(self.snapshot_url.clone()).timeout(SNAPSHOT_TIMEOUT);
        if let Some(revision) = current {
            request = request.header(IF_NONE_MATCH, format!("\"{revision}\""));
        }
        let response = request.send().await.map_err(FetchError::Network)?;
        match response.status() {
            StatusCode::NOT_MODIFIED if current.is_some() => Ok(SnapshotReply::NotModified),
            StatusCode::OK => {
                let etag = response.headers().get(ETAG).and_then(etag_revision);
                Ok(SnapshotReply::Snapshot { body: body(response).await?, etag })
            }
            status => Err(FetchError::Status(status)),
        }
    }

    /// `GET /events?after=<after>&waitSeconds=<wait>`: a long poll.
    pub(crate) async fn events(&self, after: u64) -> Result<EventsReply, FetchError> {
        let mut url = self.events_url.clone();
        url.query_pairs_mut().append_pair("after", &after.to_string());
        url.query_pairs_mut().append_pair("waitSeconds", &self.wait.as_secs().to_string());
        let response = self.http.get(url).timeout(self.wait + POLL_GRACE).send().await.map_err(FetchError::Network)?;
        match response.status() {
            StatusCode::OK => Ok(EventsReply::Page(body(response).await?)),
            StatusCode::GONE => Ok(EventsReply::Gone),
            status => Err(FetchError::Status(status)),
        }
    }

    /// `POST /status` with a JSON report.
    pub(crate) async fn status(&self, report: Vec<u8>) -> Result<(), FetchError> {
        let request = self.http.post(self.status_url.clone()).timeout(STATUS_TIMEOUT);
        let request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json")).body(report);
        let response = request.send().await.map_err(FetchError::Network)?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(FetchError::Status(status)),
        }
    }
}

// === impl FetchError ===

impl FetchError {
    /// The `reason` label this failure is counted under.
    pub fn reason(&self) -> SyncFailure {
        match self {
            FetchError::Network(_) => SyncFailure::Network,
            FetchError::Status(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => SyncFailure::Unauthorized,
            FetchError::Status(status) if status.is_server_error() => SyncFailure::Server,
            FetchError::Status(_) | FetchError::Protocol(_) => SyncFailure::Protocol,
            FetchError::TooLarge | FetchError::Decode(_) => SyncFailure::Decode,
        }
    }
}

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// The base URL with `/<name>?environment=<environment>` appended.
fn endpoint(base: &str, name: &str, environment: &str) -> Result<Url, SourceError> {
    let text = format!("{}/{name}", base.trim_end_matches('/'));
    let mut url =
        Url::parse(&text).map_err(|error| SourceError::Url { url: base.to_owned(), reason: error.to_string() })?;
    match url.scheme() {
        "http" | "https" => {}
        scheme => {
            let reason = format!("the scheme must be http or https, not {scheme}");
            return Err(SourceError::Url { url: base.to_owned(), reason });
        }
    }
    url.query_pairs_mut().append_pair("environment", environment);
    Ok(url)
}

fn headers(token: Option<&str>) -> Result<HeaderMap, SourceError> {
    let mut headers = HeaderMap::new();
    if let Some(token) = token {
        let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| SourceError::Token)?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    Ok(headers)
}

/// `"45"` or `W/"45"` → 45.
fn etag_revision(value: &HeaderValue) -> Option<u64> {
    let text = value.to_str().ok()?;
    text.trim_start_matches("W/").trim_matches('"').parse().ok()
}

/// The body, refusing more than [`MAX_DOCUMENT_BYTES`].
async fn body(mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
    let declared = response.content_length().unwrap_or(0);
    if declared > MAX_DOCUMENT_BYTES as u64 {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(FetchError::Network)? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn read(path: &Path) -> Result<Vec<u8>, SourceError> {
    std::fs::read(path).map_err(|source| SourceError::Read { path: path.to_owned(), source })
}

fn tls_error(path: &Path) -> impl Fn(reqwest::Error) -> SourceError + '_ {
    move |error| SourceError::Tls { path: path.to_owned(), reason: Chain(&error).to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_base_path_and_name_the_environment() -> Result<(), SourceError> {
        let url = endpoint("https://cp.example.com/api/gateway/v1/", "events", "prod eu")?;
        assert_eq!(url.as_str(), "https://cp.example.com/api/gateway/v1/events?environment=prod+eu");
        assert!(matches!(endpoint("ftp://cp", "snapshot", "x"), Err(SourceError::Url { .. })));
        assert!(matches!(endpoint("not a url", "snapshot", "x"), Err(SourceError::Url { .. })));
        Ok(())
    }

    #[test]
    fn etags_name_a_revision() {
        assert_eq!(etag_revision(&HeaderValue::from_static("\"45\"")), Some(45));
        assert_eq!(etag_revision(&HeaderValue::from_static("W/\"7\"")), Some(7));
        assert_eq!(etag_revision(&HeaderValue::from_static("\"abc\"")), None);
    }

    #[test]
    fn the_token_is_sensitive_and_must_be_a_header_value() -> Result<(), SourceError> {
        let headers = headers(Some("s3cret"))?;
        assert!(headers.get(AUTHORIZATION).is_some_and(HeaderValue::is_sensitive));
        assert!(matches!(super::headers(Some("line\nbreak")), Err(SourceError::Token)));
        assert!(super::headers(None)?.is_empty());
        Ok(())
    }

    #[test]
    fn failures_are_counted_by_cause() {
        let reason = |status: u16| FetchError::Status(StatusCode::from_u16(status).unwrap_or_default()).reason();
        assert_eq!((reason(401), reason(403)), (SyncFailure::Unauthorized, SyncFailure::Unauthorized));
        assert_eq!((reason(500), reason(503)), (SyncFailure::Server, SyncFailure::Server));
        assert_eq!(reason(404), SyncFailure::Protocol);
        assert_eq!(FetchError::Decode("x".into()).reason(), SyncFailure::Decode);
    }
}
