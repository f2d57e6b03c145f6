//! The configuration file mapped onto each crate's settings.

use std::sync::Arc;
use std::time::Duration;

use tollgate_adapter::{Applier, ClientIdentity, ControlPlaneSettings, ControlPlaneSource, FileSource};
use tollgate_enforcer::EnforcerSettings;
use tollgate_enforcer::ratelimit::{RateLimitBackend as Backend, RateLimitSettings};
use tollgate_router::pipeline::PipelineSettings;
use tollgate_router::proxy::UpstreamSettings;
use tollgate_router::server::ListenerSettings;
use tollgate_router::tls::{CertPaths, SniCertPaths, TlsSettings};

use super::Fatal;
use crate::config::{Config, RateLimitBackend, SourceKind};

pub(super) fn listener(config: &Config) -> ListenerSettings {
    let listener = &config.listener;
    ListenerSettings {
        header_read_timeout: Duration::from_millis(listener.header_read_timeout_ms),
        tls_handshake_timeout: Duration::from_millis(listener.tls_handshake_timeout_ms),
        idle_timeout: Duration::from_millis(listener.idle_timeout_ms),
        send_timeout: Duration::from_millis(listener.send_timeout_ms),
        max_header_bytes: listener.max_header_bytes,
        http2_max_concurrent_streams: listener.http2_max_concurrent_streams,
    }
}

pub(super) fn pipeline(config: &Config) -> PipelineSettings {
    PipelineSettings { max_header_bytes: config.listener.max_header_bytes }
}

pub(super) fn tls(config: &Config) -> TlsSettings {
    let Some(tls) = &config.tls else { return TlsSettings::default() };
    TlsSettings {
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
    }
}

pub(super) fn tls_poll(config: &Config) -> Duration {
    Duration::from_secs(config.tls.as_ref().map_or(60, |tls| tls.poll_seconds.max(1)))
}

pub(super) fn upstreams(config: &Config) -> UpstreamSettings {
    UpstreamSettings {
        ca_files: config.upstream.ca_files.clone(),
        pool_idle_timeout: Duration::from_secs(config.upstream.pool_idle_timeout_seconds),
        pool_max_idle_per_host: config.upstream.pool_max_idle_per_host,
    }
}

pub(super) fn enforcer(config: &Config) -> EnforcerSettings {
    let rate_limit = &config.rate_limit;
    let backend = match rate_limit.backend {
        RateLimitBackend::Local => Backend::Local,
        RateLimitBackend::Redis => Backend::Redis { url: rate_limit.redis_url.clone() },
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

pub(super) fn source_kind(config: &Config) -> tollgate_adapter::SourceKind {
    match config.source.kind {
        SourceKind::File => tollgate_adapter::SourceKind::File,
        SourceKind::ControlPlane => tollgate_adapter::SourceKind::ControlPlane,
    }
}

/// Loads the configuration once (so the gateway is ready when it starts serving) and starts
/// following changes. Returns the tasks to stop at shutdown.
pub(super) async fn start_source(
    config: &Config,
    applier: Arc<Applier>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, Fatal> {
    match config.source.kind {
        SourceKind::File => {
            let source =
                FileSource::new(&config.source.path, applier).map_err(|e| Fatal::Config(format!("source: {e}")))?;
            let source = Arc::new(source);
            source.load_once().map_err(|e| Fatal::Config(format!("source: {e}")))?;
            let watch = source.spawn_watch().map_err(|e| Fatal::Runtime(format!("source: {e}")))?;
            Ok(vec![tokio::spawn(async move {
                // Keeps the watcher alive for as long as the gateway runs.
                std::future::pending::<()>().await;
                drop(watch);
            })])
        }
        SourceKind::ControlPlane => {
            // Never waits for the network: the last-known-good state (if any) is served at
            // once, and the control plane is reached in the background.
            let mut source = ControlPlaneSource::new(control_plane(config), applier)
                .map_err(|e| Fatal::Config(format!("source: {e}")))?;
            source.load_state();
            let tasks = source.spawn().map_err(|e| Fatal::Runtime(format!("source: {e}")))?;
            Ok(tasks.into_handles())
        }
    }
}

/// `[source]` for `kind = "control-plane"`; an empty token means none.
fn control_plane(config: &Config) -> ControlPlaneSettings {
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
    settings
}
