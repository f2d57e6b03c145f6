//! A parsed [`Config`] → the [`Settings`] each crate runs with. The rules a single key cannot
//! express are checked here, with the same code the run uses (TLS files, CA files, the
//! control-plane client, the Redis URL, the log filter), so that `tollgate check` and a run
//! give the same verdict. Every problem is collected; nothing is clamped.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::HeaderName;
use tollgate_adapter::source::wso2_apim::HubSettings;
use tollgate_adapter::{
    ClientIdentity, ControlPlaneSettings, ControlPlaneSource, SourceKind, Wso2Settings, Wso2Source,
};
use tollgate_enforcer::EnforcerSettings;
use tollgate_enforcer::backend_jwt::{BackendJwtSettings, MAX_KEY_PEM_BYTES, SigningKey};
use tollgate_enforcer::ratelimit::{RateLimitBackend, RateLimitSettings};
use tollgate_router::pipeline::PipelineSettings;
use tollgate_router::proxy::{UpstreamSettings, Upstreams};
use tollgate_router::server::ListenerSettings;
use tollgate_router::tls::{CertPaths, SniCertPaths, Tls, TlsMetrics, TlsSettings};
use tollgate_router::trace::{OtlpEndpoint, TracingSettings};

use tollgate_adapter::validate::ValidationSettings;

use super::error::{ConfigError, ConfigErrors, Origins};
use super::{Config, LogFormat};

/// What every part of the gateway runs with, from a configuration that passed every check.
#[derive(Debug, Clone)]
pub struct Settings {
    pub https: SocketAddr,
    pub http: Option<SocketAddr>,
    pub admin: SocketAddr,
    pub listener: ListenerSettings,
    pub pipeline: PipelineSettings,
    pub tls: TlsSettings,
    pub tls_poll: Duration,
    pub source: SourceSettings,
    pub upstreams: UpstreamSettings,
    pub enforcer: EnforcerSettings,
    /// Not ready while still serving, so load balancers move away.
    pub drain: Duration,
    /// Then in-flight requests get this long to finish.
    pub shutdown_timeout: Duration,
    pub log: LogSettings,
    /// `[backend_jwt]`, when configured.
    pub backend_jwt: Option<BackendJwtKeySettings>,
    pub tracing: TracingSettings,
}

/// `[backend_jwt]`: where the signing key is (read at start and whenever the file changes),
/// the `kid` configured for it, and how the JWTs are made.
#[derive(Debug, Clone)]
pub struct BackendJwtKeySettings {
    pub key: PathBuf,
    pub kid: Option<String>,
    pub signer: BackendJwtSettings,
}

/// Where API definitions come from.
#[derive(Debug, Clone)]
pub enum SourceSettings {
    /// A directory of partial snapshots, watched.
    File {
        path: PathBuf,
    },
    ControlPlane(Box<ControlPlaneSettings>),
    /// WSO2 API Manager 4.x (contract/wso2.md).
    Wso2Apim(Box<Wso2Settings>),
}

/// Operational and access logs.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// A `tracing` filter (`info`, `info,tollgate_enforcer=debug`); `RUST_LOG` wins when set.
    pub level: String,
    pub format: LogFormat,
    /// One JSON line per request on stdout.
    pub access: bool,
}

/// Checks what no single key can, and yields the settings; every problem is reported.
pub fn validate(config: &Config, origins: &Origins) -> Result<Settings, ConfigErrors> {
    // The checks build TLS clients as the run does, which need the process-wide provider
    // (aws-lc-rs, the one every crate uses); installing it again is a no-op.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut errors = Vec::new();
    let tls = tls(config, origins, &mut errors);
    let source = source(config, origins, &mut errors);
    let upstreams = upstreams(config, origins, &mut errors);
    let enforcer = enforcer(config, origins, &mut errors);
    let log = log(config, origins, &mut errors);
    let backend_jwt = backend_jwt(config, origins, &mut errors);
    let tracing = tracing(config, origins, &mut errors);
    let listener = &config.listener;
    let settings = Settings {
        https: listener.https,
        http: listener.http,
        admin: config.admin.address,
        listener: ListenerSettings {
            header_read_timeout: Duration::from_millis(listener.header_read_timeout_ms),
            tls_handshake_timeout: Duration::from_millis(listener.tls_handshake_timeout_ms),
            idle_timeout: Duration::from_millis(listener.idle_timeout_ms),
            send_timeout: Duration::from_millis(listener.send_timeout_ms),
            max_header_bytes: listener.max_header_bytes,
            max_header_count: listener.max_header_count,
            http2_max_concurrent_streams: listener.http2_max_concurrent_streams,
            ..ListenerSettings::default()
        },
        pipeline: PipelineSettings {
            max_header_bytes: listener.max_header_bytes,
            max_header_count: listener.max_header_count,
        },
        tls,
        tls_poll: Duration::from_secs(config.tls.as_ref().map_or(60, |tls| tls.poll_seconds)),
        source,
        upstreams,
        enforcer,
        drain: Duration::from_secs(config.shutdown.drain_seconds),
        shutdown_timeout: Duration::from_secs(config.shutdown.timeout_seconds),
        log,
        backend_jwt,
        tracing,
    };
    ConfigErrors::or_ok(errors, settings)
}

// === impl Settings ===

impl Settings {
    pub fn source_kind(&self) -> SourceKind {
        match self.source {
            SourceSettings::File { .. } => SourceKind::File,
            SourceSettings::ControlPlane(_) => SourceKind::ControlPlane,
            SourceSettings::Wso2Apim(_) => SourceKind::Wso2Apim,
        }
    }

    /// What this configuration lets the gateway serve, for validating definitions: the same
    /// for a run and for `check`.
    pub fn validation(&self) -> ValidationSettings {
        ValidationSettings { backend_jwt_signer: self.backend_jwt.is_some() }
    }
}

/// The certificates load as a run would load them (absent `[tls]`: a generated one).
fn tls(config: &Config, origins: &Origins, errors: &mut Vec<ConfigError>) -> TlsSettings {
    let Some(tls) = &config.tls else { return TlsSettings::default() };
    let settings = TlsSettings {
        default: Some(CertPaths { cert: tls.cert.clone(), key: tls.key.clone() }),
        sni: tls
            .sni
            .iter()
            .map(|sni| SniCertPaths {
                server_names: sni.server_names.clone(),
                cert: sni.cert.clone(),
                key: sni.key.clone(),
            })
            .collect(),
    };
    let loaded = TlsMetrics::unregistered()
        .map_err(|error| error.to_string())
        .and_then(|metrics| Tls::load(settings.clone(), metrics).map_err(|error| error.to_string()));
    if let Err(problem) = loaded {
        errors.push(origins.error("tls", problem));
    }
    settings
}

fn source(config: &Config, origins: &Origins, errors: &mut Vec<ConfigError>) -> SourceSettings {
    let source = &config.source;
    match source.kind {
        SourceKind::File => {
            if let Err(error) = std::fs::read_dir(&source.path) {
                errors.push(
                    origins
                        .error("source.path", format!("cannot read the directory {}: {error}", source.path.display())),
                );
            }
            SourceSettings::File { path: source.path.clone() }
        }
        SourceKind::ControlPlane => SourceSettings::ControlPlane(Box::new(control_plane(config, origins, errors))),
        SourceKind::Wso2Apim => SourceSettings::Wso2Apim(Box::new(wso2_apim(config, origins, errors))),
    }
}

/// `[source]` for `kind = "wso2-apim"`: API-M's URL, credentials, labels, broker URLs (CC's
/// own `retries`/`connectdelay` options removed), timeouts.
fn wso2_apim(config: &Config, origins: &Origins, errors: &mut Vec<ConfigError>) -> Wso2Settings {
    let source = &config.source;
    let mut settings = Wso2Settings::new(&source.url);
    settings.username = source.username.clone();
    settings.password = source.password.clone();
    settings.environments = source.environments.clone();
    settings.tenant = source.tenant.clone();
    settings.ca_file = source.ca_file.clone();
    settings.state_dir = source.state_dir.clone();
    settings.resync = Duration::from_secs(source.resync_seconds);
    settings.connect_timeout = Duration::from_secs(source.connect_timeout_seconds);
    settings.request_timeout = Duration::from_secs(source.request_timeout_seconds);
    if !source.broker_urls.is_empty() {
        settings.hub = HubSettings::new(&source.broker_urls)
            .map_err(|error| errors.push(origins.error("source.broker_urls", error.to_string())))
            .ok();
    }
    if settings.environments.iter().all(|label| label.trim().is_empty()) {
        errors.push(origins.error("source.environments", "names no gateway environment label"));
    }
    if !(source.url.starts_with("http://") || source.url.starts_with("https://")) {
        errors.push(origins.error("source.url", format!("{:?} is not an http:// or https:// URL", source.url)));
    } else if let Err(error) = Wso2Source::check(&settings) {
        errors.push(origins.error("source", error.to_string()));
    }
    settings
}

/// `[source]` for `kind = "control-plane"`; an empty token means none.
fn control_plane(config: &Config, origins: &Origins, errors: &mut Vec<ConfigError>) -> ControlPlaneSettings {
    let source = &config.source;
    let mut settings = ControlPlaneSettings::new(&source.url, &source.environment);
    settings.token = Some(source.token.clone()).filter(|token| !token.is_empty());
    settings.state_dir = source.state_dir.clone();
    if let Some(gateway_id) = &source.gateway_id {
        settings.gateway_id = gateway_id.clone();
    }
    settings.client_identity =
        source.client_cert.clone().zip(source.client_key.clone()).map(|(cert, key)| ClientIdentity { cert, key });
    settings.ca_file = source.ca_file.clone();
    settings.wait = Duration::from_secs(source.wait_seconds);
    settings.status_interval = Duration::from_secs(source.status_interval_seconds);
    if !(source.url.starts_with("http://") || source.url.starts_with("https://")) {
        errors.push(origins.error("source.url", format!("{:?} is not an http:// or https:// URL", source.url)));
    } else if source.client_cert.is_some() != source.client_key.is_some() {
        errors.push(origins.error("source.client_cert", "source.client_cert and source.client_key go together"));
    } else if let Err(error) = ControlPlaneSource::check(&settings) {
        errors.push(origins.error("source", error.to_string()));
    }
    settings
}

/// The CA files load as the run's upstream clients load them.
fn upstreams(config: &Config, origins: &Origins, errors: &mut Vec<ConfigError>) -> UpstreamSettings {
    let upstream = &config.upstream;
    let settings = UpstreamSettings {
        ca_files: upstream.ca_files.clone(),
        pool_idle_timeout: Duration::from_secs(upstream.pool_idle_timeout_seconds),
        pool_max_idle_per_host: upstream.pool_max_idle_per_host,
    };
    if let Err(error) = Upstreams::new(settings.clone()) {
        errors.push(origins.error("upstream.ca_files", error.to_string()));
    }
    settings
}

fn enforcer(config: &Config, origins: &Origins, errors: &mut Vec<ConfigError>) -> EnforcerSettings {
    let rate_limit = &config.rate_limit;
    let backend = match rate_limit.backend.as_str() {
        "redis" => RateLimitBackend::redis(&rate_limit.redis_url).unwrap_or_else(|problem| {
            errors.push(origins.error("rate_limit.redis_url", problem));
            RateLimitBackend::Local
        }),
        _ => RateLimitBackend::Local,
    };
    EnforcerSettings {
        tokens: Default::default(),
        rate_limit: RateLimitSettings {
            backend,
            headers: rate_limit.headers,
            sync_interval: Duration::from_millis(rate_limit.sync_interval_ms),
            ..RateLimitSettings::default()
        },
    }
}

fn log(config: &Config, origins: &Origins, errors: &mut Vec<ConfigError>) -> LogSettings {
    let log = &config.log;
    if let Err(error) = tracing_subscriber::EnvFilter::builder().parse(&log.level) {
        errors.push(origins.error("log.level", format!("{:?} is not a log filter ({error})", log.level)));
    }
    LogSettings { level: log.level.clone(), format: log.format, access: log.access }
}

// === [backend_jwt] ===

/// The key loads as the run loads it (and as every replacement of the file will be checked);
/// the header is a header name.
fn backend_jwt(config: &Config, origins: &Origins, errors: &mut Vec<ConfigError>) -> Option<BackendJwtKeySettings> {
    let section = config.backend_jwt.as_ref()?;
    if let Err(problem) = load_backend_jwt_key(&section.key, section.kid.as_deref()) {
        errors.push(origins.error("backend_jwt.key", problem));
    }
    let header = HeaderName::from_bytes(section.header.as_bytes()).unwrap_or_else(|_| {
        errors.push(origins.error("backend_jwt.header", format!("{:?} is not an HTTP header name", section.header)));
        HeaderName::from_static("x-jwt-assertion")
    });
    let signer = BackendJwtSettings {
        issuer: section.issuer.as_str().into(),
        header,
        ttl: Duration::from_secs(section.ttl_seconds),
    };
    Some(BackendJwtKeySettings { key: section.key.clone(), kid: section.kid.clone(), signer })
}

/// Reads and parses the signing key; the problem names the file, never the key.
fn load_backend_jwt_key(path: &Path, kid: Option<&str>) -> Result<SigningKey, String> {
    let pem = read_backend_jwt_pem(path)?;
    SigningKey::from_pem(&pem, kid).map_err(|error| format!("{}: {error}", path.display()))
}

/// The key file's bytes, at most one past [`MAX_KEY_PEM_BYTES`] (enough for the parser to
/// refuse it as too large without reading a huge file whole).
pub fn read_backend_jwt_pem(path: &Path) -> Result<Vec<u8>, String> {
    let cannot_read = |error: std::io::Error| format!("cannot read {}: {error}", path.display());
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let mut pem = Vec::new();
    file.take(MAX_KEY_PEM_BYTES as u64 + 1).read_to_end(&mut pem).map_err(cannot_read)?;
    Ok(pem)
}

// === [tracing] ===

/// `[tracing]`: an empty endpoint exports nothing; otherwise it must be an http(s) URL.
/// `sample_ratio` is range-checked by the schema.
fn tracing(config: &Config, origins: &Origins, errors: &mut Vec<ConfigError>) -> TracingSettings {
    let tracing = &config.tracing;
    let endpoint = match tracing.otlp_endpoint.as_str() {
        "" => None,
        text => OtlpEndpoint::parse(text)
            .map_err(|error| errors.push(origins.error("tracing.otlp_endpoint", error.to_string())))
            .ok(),
    };
    if tracing.service_name.trim().is_empty() {
        errors.push(origins.error("tracing.service_name", "must not be empty"));
    }
    TracingSettings {
        endpoint,
        service_name: tracing.service_name.as_str().into(),
        sample_ratio: tracing.sample_ratio,
        export_timeout: Duration::from_millis(tracing.export_timeout_ms),
        batch_delay: Duration::from_millis(tracing.batch_delay_ms),
    }
}
