//! The REST side of API-M (INTERFACE.md §1, §2): `GET /internal/data/v1/<resource>` with
//! HTTP Basic, and the `PATCH /apis/deployed-revisions` acknowledgement. Bodies are bounded;
//! every failure is a typed [`ApimError`].

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use reqwest::Url;
use serde::Serialize;

use super::settings::Wso2Settings;
use crate::dto::MAX_DOCUMENT_BYTES;
use crate::metrics::SyncFailure;
use crate::source::SourceError;
use crate::wso2::{ArchiveError, data::DataError};

/// The path of the internal data API under API-M's URL.
const DATA_PATH: &str = "internal/data/v1/";

/// A client of one API-M. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub(crate) struct ApimClient {
    http: reqwest::Client,
    base: Url,
}

/// A resource of the internal data API, and what to ask of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    Apis,
    Applications,
    Subscriptions,
    KeyMappings,
    SubscriptionPolicies,
    ApplicationPolicies,
    ApiPolicies,
    KeyManagers,
    RevokedTokens,
    RuntimeArtifacts,
}

/// What a `GET /runtime-artifacts` answered.
#[derive(Debug)]
pub(crate) enum Artifacts {
    /// The zip.
    Zip(Vec<u8>),
    /// Nothing deployed on the labels (404 "No Api artifacts found", 204, or the JSON
    /// `{"count":0,"list":[]}` some versions send instead of a zip).
    Empty,
}

/// One entry of the `PATCH /apis/deployed-revisions` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployedRevision {
    pub api_id: String,
    pub revision_id: u64,
    pub env_info: Vec<EnvInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct EnvInfo {
    pub name: String,
    pub vhost: String,
}

/// Why a request to API-M, or what it answered, could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ApimError {
    /// No answer: connect, TLS, timeout, or the connection dropped.
    #[error("{resource}: {error}")]
    Network {
        resource: &'static str,
        #[source]
        error: reqwest::Error,
    },
    #[error("{resource}: API-M answered {status}")]
    Status { resource: &'static str, status: StatusCode },
    #[error("{resource}: the response is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge { resource: &'static str },
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("runtime artifacts: {0}")]
    Archive(#[from] ArchiveError),
    /// The configuration thread is gone (the gateway is stopping).
    #[error("{0}")]
    Engine(String),
}

// === impl ApimClient ===

impl ApimClient {
    /// Builds the client: URL, credentials and extra CA are checked here, so that a mistake
    /// is a startup error rather than a retry loop.
    pub(crate) fn new(settings: &Wso2Settings) -> Result<Self, SourceError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .tcp_keepalive(Duration::from_secs(30))
            .default_headers(basic_auth(&settings.username, &settings.password)?)
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &settings.ca_file {
            let pem = std::fs::read(ca).map_err(|source| SourceError::Read { path: ca.clone(), source })?;
            for certificate in reqwest::Certificate::from_pem_bundle(&pem).map_err(tls_error(ca))? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder.build().map_err(|error| SourceError::Client(error.to_string()))?;
        Ok(ApimClient { http, base: base_url(&settings.url)? })
    }

    /// `GET /<resource>` with `query`: the body of a 200.
    pub(crate) async fn get(&self, resource: Resource, query: &[(&str, &str)]) -> Result<Vec<u8>, ApimError> {
        let response = self.send(resource, query).await?;
        match response.status() {
            StatusCode::OK => body(resource, response).await,
            status => Err(ApimError::Status { resource: resource.name(), status }),
        }
    }

    /// `GET /runtime-artifacts?type=Envoy&gatewayLabel=<base64 of the labels joined by |>`,
    /// for one API (`api_id`) or all.
    pub(crate) async fn artifacts(&self, labels: &[String], api_id: Option<&str>) -> Result<Artifacts, ApimError> {
        let label = gateway_label(labels);
        let mut query = vec![("type", "Envoy"), ("gatewayLabel", label.as_str())];
        query.extend(api_id.map(|id| ("apiId", id)));
        let resource = Resource::RuntimeArtifacts;
        let response = self.send(resource, &query).await?;
        let is_json =
            response.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        match response.status() {
            StatusCode::OK if is_json => body(resource, response).await.map(|_| Artifacts::Empty),
            StatusCode::OK => body(resource, response).await.map(Artifacts::Zip),
            StatusCode::NOT_FOUND | StatusCode::NO_CONTENT => Ok(Artifacts::Empty),
            status => Err(ApimError::Status { resource: resource.name(), status }),
        }
    }

    /// `PATCH /apis/deployed-revisions`: tells API-M these revisions are served here.
    pub(crate) async fn ack_revisions(&self, revisions: &[DeployedRevision]) -> Result<(), ApimError> {
        const RESOURCE: &str = "deployed revisions";
        let url = self.url("apis/deployed-revisions", &[]);
        let body = serde_json::to_vec(revisions).unwrap_or_default();
        let request = self.http.patch(url).header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let response =
            request.body(body).send().await.map_err(|error| ApimError::Network { resource: RESOURCE, error })?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(ApimError::Status { resource: RESOURCE, status }),
        }
    }

    async fn send(&self, resource: Resource, query: &[(&str, &str)]) -> Result<reqwest::Response, ApimError> {
        let url = self.url(resource.path(), query);
        let request = self.http.get(url).header(ACCEPT, HeaderValue::from_static("application/json, application/zip"));
        request.send().await.map_err(|error| ApimError::Network { resource: resource.name(), error })
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", url.path()));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }
}

// === impl Resource ===

impl Resource {
    /// Its path under `/internal/data/v1/`.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Resource::Apis => "apis",
            Resource::Applications => "applications",
            Resource::Subscriptions => "subscriptions",
            Resource::KeyMappings => "application-key-mappings",
            Resource::SubscriptionPolicies => "subscription-policies",
            Resource::ApplicationPolicies => "application-policies",
            Resource::ApiPolicies => "api-policies",
            Resource::KeyManagers => "keymanagers",
            Resource::RevokedTokens => "revokedjwt",
            Resource::RuntimeArtifacts => "runtime-artifacts",
        }
    }

    /// Its name in errors and logs.
    pub(crate) fn name(self) -> &'static str {
        self.path()
    }
}

// === impl ApimError ===

impl ApimError {
    /// The `reason` label this failure is counted under.
    pub fn reason(&self) -> SyncFailure {
        match self {
            ApimError::Network { .. } => SyncFailure::Network,
            ApimError::Status { status: StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, .. } => {
                SyncFailure::Unauthorized
            }
            ApimError::Status { status, .. } if status.is_server_error() => SyncFailure::Server,
            ApimError::Status { .. } => SyncFailure::Protocol,
            ApimError::TooLarge { .. } | ApimError::Data(_) | ApimError::Archive(_) => SyncFailure::Decode,
            ApimError::Engine(_) => SyncFailure::Io,
        }
    }
}

/// Standard base64, with padding, of the labels joined by `|` (INTERFACE.md §2.6); the
/// query encoding then turns `=` into `%3D`.
pub(crate) fn gateway_label(labels: &[String]) -> String {
    STANDARD.encode(labels.join("|"))
}

/// `{url}/internal/data/v1/`, whether or not `url` ends with a slash.
fn base_url(text: &str) -> Result<Url, SourceError> {
    let fail = |reason: String| SourceError::Url { url: text.to_owned(), reason };
    let url = Url::parse(&format!("{}/{DATA_PATH}", text.trim_end_matches('/'))).map_err(|e| fail(e.to_string()))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        scheme => Err(fail(format!("the scheme must be http or https, not {scheme}"))),
    }
}

fn basic_auth(username: &str, password: &str) -> Result<HeaderMap, SourceError> {
    let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(format!("{username}:{password}"))))
        .map_err(|_| SourceError::Credentials)?;
    value.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    Ok(headers)
}

fn tls_error(path: &Path) -> impl Fn(reqwest::Error) -> SourceError + '_ {
    move |error| SourceError::Tls { path: path.to_owned(), reason: error.to_string() }
}

/// The body, refusing more than [`MAX_DOCUMENT_BYTES`] (declared or received).
async fn body(resource: Resource, mut response: reqwest::Response) -> Result<Vec<u8>, ApimError> {
    let name = resource.name();
    let declared = response.content_length().unwrap_or(0);
    if declared > MAX_DOCUMENT_BYTES as u64 {
        return Err(ApimError::TooLarge { resource: name });
    }
    let mut body = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|error| ApimError::Network { resource: name, error })? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(ApimError::TooLarge { resource: name });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_takes_the_data_path_with_or_without_a_slash() {
        let url = |text: &str| base_url(text).map(|url| url.to_string()).unwrap_or_default();
        assert_eq!(url("https://apim:9443"), "https://apim:9443/internal/data/v1/");
        assert_eq!(url("https://apim:9443/"), "https://apim:9443/internal/data/v1/");
        assert!(base_url("amqp://apim").is_err());
    }

    #[test]
    fn gateway_labels_are_base64_of_the_names_joined_by_a_bar() {
        let labels = ["test1.gw.wso2.com".to_owned(), "test2.gw.wso2.com".to_owned()];
        assert_eq!(gateway_label(&labels), "dGVzdDEuZ3cud3NvMi5jb218dGVzdDIuZ3cud3NvMi5jb20=");
    }

    #[test]
    fn failures_are_counted_by_cause() {
        let status = |code: u16| ApimError::Status {
            resource: "apis",
            status: StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT),
        };
        assert_eq!(status(401).reason(), SyncFailure::Unauthorized);
        assert_eq!(status(503).reason(), SyncFailure::Server);
        assert_eq!(status(400).reason(), SyncFailure::Protocol);
        assert_eq!(ApimError::TooLarge { resource: "apis" }.reason(), SyncFailure::Decode);
    }
}
