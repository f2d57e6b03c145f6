//! The gateway configuration (operator.md, "Config file"): TOML, every key overridable from
//! the environment as `TOLLGATE_` + the key path in capitals with `__` between levels.
//!
//! One path for `run`, `check` and `demo`: [`parse`] reads the file and the environment and
//! checks every key against the schema (unknown keys with the nearest known one, values of the
//! wrong kind, out-of-range numbers, all at once); [`validate`] checks what involves several
//! keys or files, with the code the run itself uses, and yields each crate's settings.

mod env;
mod error;
mod load;
mod schema;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tollgate_adapter::SourceKind;

pub use error::{ConfigError, ConfigErrors, Origins};
pub use load::{Parsed, parse};
pub use validate::{BackendJwtKeySettings, LogSettings, Settings, SourceSettings, read_backend_jwt_pem, validate};

/// A configuration that passed [`parse`] and [`validate`].
#[derive(Debug, Clone)]
pub struct Loaded {
    /// What the file and the environment say (shown, without secrets, by `GET /config`).
    pub config: Config,
    pub settings: Settings,
    pub origins: Origins,
    /// `TOLLGATE_` variables that name no setting, to be logged once.
    pub ignored_variables: Vec<String>,
}

/// [`parse`] then [`validate`]: the configuration a run uses, or every problem with it.
pub fn load(path: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Loaded, ConfigErrors> {
    let Parsed { config, origins, ignored_variables } = parse(path, env)?;
    let settings = validate(&config, &origins)?;
    Ok(Loaded { config, settings, origins, ignored_variables })
}

/// The whole configuration file. Unknown keys are errors: a typo must not silently become
/// a default.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listener: ListenerConfig,
    pub tls: Option<TlsConfig>,
    pub admin: AdminConfig,
    pub source: SourceConfig,
    pub upstream: UpstreamConfig,
    pub rate_limit: RateLimitConfig,
    pub shutdown: ShutdownConfig,
    pub log: LogConfig,
    pub backend_jwt: Option<BackendJwtConfig>,
    pub tracing: TracingConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerConfig {
    /// The TLS listener.
    pub https: SocketAddr,
    /// An optional plain-HTTP listener.
    pub http: Option<SocketAddr>,
    pub header_read_timeout_ms: u64,
    pub tls_handshake_timeout_ms: u64,
    /// A keep-alive connection with no request in flight is closed after this long.
    pub idle_timeout_ms: u64,
    /// A response that cannot write to the client for this long is ended.
    pub send_timeout_ms: u64,
    /// Total request header size above which the answer is 431.
    pub max_header_bytes: usize,
    pub max_header_count: usize,
    pub http2_max_concurrent_streams: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    #[serde(default)]
    pub sni: Vec<SniConfig>,
    /// Certificate files are also re-checked at this interval (besides file-change events).
    #[serde(default = "default_tls_poll_seconds")]
    pub poll_seconds: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SniConfig {
    pub server_names: Vec<String>,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    pub address: SocketAddr,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceConfig {
    pub kind: SourceKind,
    /// file: a directory of partial snapshots.
    pub path: PathBuf,
    /// control-plane: base URL of the sync protocol.
    pub url: String,
    pub environment: String,
    /// Bearer token for the control plane. Never logged or shown in `/config`.
    #[serde(skip_serializing)]
    pub token: String,
    /// Where the last-known-good snapshot is kept.
    pub state_dir: Option<PathBuf>,
    /// This gateway's id in status reports (default: host name + process id).
    pub gateway_id: Option<String>,
    /// Client certificate for TLS to the control plane (optional).
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Extra CA file to verify the control plane with.
    pub ca_file: Option<PathBuf>,
    /// Long-poll wait passed as `waitSeconds` (1 to 60).
    pub wait_seconds: u64,
    /// A status report is sent at least this often (1 to 60), besides after every change.
    pub status_interval_seconds: u64,
    /// wso2-apim: HTTP Basic user to API-M (a super-tenant admin).
    pub username: String,
    /// wso2-apim: its password (`TOLLGATE_SOURCE__PASSWORD`). Never logged or shown.
    #[serde(skip_serializing)]
    pub password: String,
    /// wso2-apim: the gateway environment labels served.
    pub environments: Vec<String>,
    /// wso2-apim: the event hub's AMQP URLs, tried in turn (shown without credentials).
    #[serde(serialize_with = "redact_urls")]
    pub broker_urls: Vec<String>,
    /// wso2-apim: whose APIs and events are served.
    pub tenant: String,
    /// wso2-apim: a full re-pull this often, besides events.
    pub resync_seconds: u64,
    /// wso2-apim: connecting to API-M may take this long.
    pub connect_timeout_seconds: u64,
    /// wso2-apim: one request to API-M, body included, may take this long.
    pub request_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// CA files (PEM) trusted for TLS upstreams, besides the system roots.
    pub ca_files: Vec<PathBuf>,
    pub pool_idle_timeout_seconds: u64,
    pub pool_max_idle_per_host: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// `"local"` or `"redis"` (the enforcer's `RateLimitBackend` once validated).
    pub backend: String,
    #[serde(serialize_with = "redact_url")]
    pub redis_url: String,
    /// Also send `RateLimit-Policy`/`RateLimit` on admitted responses.
    pub headers: bool,
    /// How often counts are exchanged with Redis.
    pub sync_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// Not ready while still serving, so load balancers move away.
    pub drain_seconds: u64,
    /// Then in-flight requests get this long to finish.
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// Operational logs on stderr at this `tracing` filter; `RUST_LOG`, when set, wins.
    pub level: String,
    /// Format of operational logs on stderr.
    pub format: LogFormat,
    /// One JSON line per request on stdout.
    pub access: bool,
}

/// `[backend_jwt]`: the key that signs the JWTs sent to upstreams of Apis with `backendJwt`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackendJwtConfig {
    /// PEM private key, RSA (RS256) or EC P-256 (ES256); watched, replaced without a restart.
    /// The path is shown in `/config`, never the key.
    pub key: PathBuf,
    /// Default: the key's RFC 7638 JWK thumbprint.
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default = "default_backend_jwt_issuer")]
    pub issuer: String,
    #[serde(default = "default_backend_jwt_header")]
    pub header: String,
    #[serde(default = "default_backend_jwt_ttl_seconds")]
    pub ttl_seconds: u64,
}

/// `[tracing]`: OpenTelemetry (operator.md, "Tracing").
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    /// OTLP/HTTP traces URL; empty: no export (the W3C context is still propagated). Shown
    /// without a password.
    #[serde(serialize_with = "redact_url")]
    pub otlp_endpoint: String,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// For requests whose `traceparent` does not say sampled, 0 to 1.
    pub sample_ratio: f64,
    /// An export request waits this long for the collector; its spans are dropped after.
    pub export_timeout_ms: u64,
    /// A batch that is not full is sent at the latest this long after the previous one.
    pub batch_delay_ms: u64,
}

// === defaults ===

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            https: SocketAddr::from(([0, 0, 0, 0], 8443)),
            http: None,
            header_read_timeout_ms: 10_000,
            tls_handshake_timeout_ms: 10_000,
            idle_timeout_ms: 15_000,
            send_timeout_ms: 30_000,
            max_header_bytes: 64 * 1024,
            max_header_count: 100,
            http2_max_concurrent_streams: 100,
        }
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig { address: SocketAddr::from(([127, 0, 0, 1], 9901)) }
    }
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            kind: SourceKind::File,
            path: PathBuf::from("config/apis"),
            url: "http://127.0.0.1:9400/api/gateway/v1".into(),
            environment: "default".into(),
            token: String::new(),
            state_dir: None,
            gateway_id: None,
            client_cert: None,
            client_key: None,
            ca_file: None,
            wait_seconds: 30,
            status_interval_seconds: 60,
            username: "admin".into(),
            password: String::new(),
            environments: vec!["Default".into()],
            broker_urls: Vec::new(),
            tenant: "carbon.super".into(),
            resync_seconds: 300,
            connect_timeout_seconds: 5,
            request_timeout_seconds: 30,
        }
    }
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig { ca_files: Vec::new(), pool_idle_timeout_seconds: 90, pool_max_idle_per_host: 256 }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            backend: "local".into(),
            redis_url: "redis://127.0.0.1:6379".into(),
            headers: false,
            sync_interval_ms: 100,
        }
    }
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig { drain_seconds: 5, timeout_seconds: 30 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".into(), format: LogFormat::Text, access: true }
    }
}

impl Default for TracingConfig {
    fn default() -> Self {
        TracingConfig {
            otlp_endpoint: String::new(),
            service_name: "tollgate".into(),
            sample_ratio: 0.01,
            export_timeout_ms: 10_000,
            batch_delay_ms: 1_000,
        }
    }
}

fn default_tls_poll_seconds() -> u64 {
    10
}

fn default_backend_jwt_issuer() -> String {
    "tollgate".into()
}

fn default_backend_jwt_header() -> String {
    "X-JWT-Assertion".into()
}

fn default_backend_jwt_ttl_seconds() -> u64 {
    900
}

/// Shows URLs without their credentials.
fn redact_urls<S: serde::Serializer>(urls: &[String], serializer: S) -> Result<S::Ok, S::Error> {
    let redacted: Vec<String> =
        urls.iter().map(|url| tollgate_adapter::source::wso2_apim::without_userinfo(url)).collect();
    serde::Serialize::serialize(&redacted, serializer)
}

/// Shows a URL (Redis, OTLP) without its password.
fn redact_url<S: serde::Serializer>(url: &str, serializer: S) -> Result<S::Ok, S::Error> {
    let redacted = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    };
    serializer.serialize_str(&redacted)
}
