//! A parsed [`Config`] → the [`Settings`] each crate runs with. The rules a single key cannot
//! express are checked here, with the same code the run uses (TLS files, CA files, the
//! control-plane client, the Redis URL, the log filter), so that `tollgate check` and a run
//! give the same verdict. Every problem is collected; nothing is clamped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tollgate_adapter::{ClientIdentity, ControlPlaneSettings, ControlPlaneSource, SourceKind};
use tollgate_enforcer::EnforcerSettings;
use tollgate_enforcer::ratelimit::{RateLimitBackend, RateLimitSettings};
use tollgate_router::pipeline::PipelineSettings;
use tollgate_router::proxy::{UpstreamSettings, Upstreams};
use tollgate_router::server::ListenerSettings;
use tollgate_router::tls::{CertPaths, SniCertPaths, Tls, TlsMetrics, TlsSettings};
use tollgate_router::trace::{OtlpEndpoint, TracingSettings};

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
    pub tracing: TracingSettings,
}

/// Where API definitions come from.
#[derive(Debug, Clone)]
pub enum SourceSettings {
    /// A directory of partial snapshots, watched.
    File {
        path: PathBuf,
    },
    ControlPlane(Box<ControlPlaneSettings>),
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
        }
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
    }
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
