//! The gateway's upstream clients, shared by every target spoken to the same way, so that
//! connection pools outlive snapshots: one set per (connect timeout, protocol) profile,
//! each client made on first use. Configurations use a handful of profiles; a target looks
//! its clients up once, when its [`Transport`] is bound.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::lean::LeanPool;
use super::pool::Http1Pool;
use super::transport::{HyperClient, TargetWire, Transport, TransportKind};
use super::upstreams::{UpstreamClient, UpstreamSettings, UpstreamsError};

/// Every upstream client of one gateway.
#[derive(Debug)]
pub(super) struct Clients {
    settings: UpstreamSettings,
    /// Verifies upstream certificates; ALPN is set per profile.
    tls: rustls::ClientConfig,
    profiles: ArcSwap<HashMap<Profile, Arc<ProfileClients>>>,
}

/// What distinguishes one set of clients from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Profile {
    connect_timeout: Duration,
    wire: Wire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Wire {
    /// HTTP/1.1, or HTTP/2 when a TLS upstream picks `h2` in ALPN.
    Auto,
    /// HTTP/2 only: prior knowledge on `http://`, ALPN `h2` on `https://`.
    Http2,
    /// HTTP/1.1 only, for WebSocket upgrades.
    Http1,
}

/// The clients of one profile, each made when a target first needs it.
#[derive(Debug, Default)]
struct ProfileClients {
    /// hyper-util's client: TLS targets, and plain ones spoken to in HTTP/2.
    general: OnceLock<Arc<UpstreamClient>>,
    /// Plain-HTTP/1.1 targets: requests with a body (or upgrades, in the `Http1` profile).
    pooled: OnceLock<Arc<Http1Pool>>,
    /// Plain-HTTP/1.1 targets: requests without a body or upgrade.
    lean: OnceLock<Arc<LeanPool>>,
}

// === impl Clients ===

impl Clients {
    /// TLS to upstreams verifies against the system roots (rustls-native-certs; unreadable
    /// ones are logged and skipped) plus every certificate in `ca_files` (PEM; a file that
    /// cannot be read or holds no valid certificate is an error).
    pub(super) fn new(settings: UpstreamSettings) -> Result<Self, UpstreamsError> {
        let mut roots = system_roots();
        for path in &settings.ca_files {
            add_ca_file(&mut roots, path)?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Clients { settings, tls, profiles: ArcSwap::default() })
    }

    /// The clients that carry the requests of a target of `kind` (see [`Transport`]).
    /// Must be called within a tokio runtime (a new pool starts its sweeper).
    pub(super) fn transport(&self, kind: TransportKind) -> Transport {
        let profile = |wire| self.profile(Profile { connect_timeout: kind.connect_timeout, wire });
        let upgrades = profile(Wire::Http1);
        match kind.wire {
            TargetWire::PlainHttp1 => {
                let auto = profile(Wire::Auto);
                Transport::plain_http1(self.lean(&auto, kind), self.pooled(&auto, kind), self.pooled(&upgrades, kind))
            }
            TargetWire::PlainHttp2 => {
                let client = self.general(&profile(Wire::Http2), Wire::Http2, kind);
                Transport::hyper(client, HyperClient::Pooled(self.pooled(&upgrades, kind)))
            }
            TargetWire::Tls => Transport::hyper(
                self.general(&profile(Wire::Auto), Wire::Auto, kind),
                self.general(&upgrades, Wire::Http1, kind),
            ),
            TargetWire::TlsHttp2 => Transport::hyper(
                self.general(&profile(Wire::Http2), Wire::Http2, kind),
                self.general(&upgrades, Wire::Http1, kind),
            ),
        }
    }

    fn lean(&self, clients: &ProfileClients, kind: TransportKind) -> Arc<LeanPool> {
        let start = || {
            LeanPool::start(kind.connect_timeout, self.settings.pool_idle_timeout, self.settings.pool_max_idle_per_host)
        };
        Arc::clone(clients.lean.get_or_init(start))
    }

    fn pooled(&self, clients: &ProfileClients, kind: TransportKind) -> Arc<Http1Pool> {
        let start = || {
            Http1Pool::start(
                kind.connect_timeout,
                self.settings.pool_idle_timeout,
                self.settings.pool_max_idle_per_host,
            )
        };
        Arc::clone(clients.pooled.get_or_init(start))
    }

    fn general(&self, clients: &ProfileClients, wire: Wire, kind: TransportKind) -> HyperClient {
        let build = || Arc::new(self.build_general(Profile { connect_timeout: kind.connect_timeout, wire }));
        HyperClient::General(Arc::clone(clients.general.get_or_init(build)))
    }

    fn profile(&self, profile: Profile) -> Arc<ProfileClients> {
        match self.profiles.load().get(&profile) {
            Some(clients) => Arc::clone(clients),
            None => self.insert_profile(profile),
        }
    }

    /// Adds the (still empty) clients of `profile`, unless a concurrent request just did.
    #[cold]
    fn insert_profile(&self, profile: Profile) -> Arc<ProfileClients> {
        let fresh = Arc::new(ProfileClients::default());
        let previous = self.profiles.rcu(|profiles| {
            let mut profiles = HashMap::clone(profiles);
            profiles.entry(profile).or_insert_with(|| Arc::clone(&fresh));
            profiles
        });
        previous.get(&profile).cloned().unwrap_or(fresh)
    }

    fn build_general(&self, profile: Profile) -> UpstreamClient {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(profile.connect_timeout));
        let https = HttpsConnectorBuilder::new().with_tls_config(self.tls.clone()).https_or_http();
        let connector = match profile.wire {
            Wire::Auto => https.enable_http1().enable_http2().wrap_connector(http),
            Wire::Http2 => https.enable_http2().wrap_connector(http),
            Wire::Http1 => https.enable_http1().wrap_connector(http),
        };
        Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(self.settings.pool_idle_timeout)
            .pool_max_idle_per_host(self.settings.pool_max_idle_per_host)
            .http2_only(profile.wire == Wire::Http2)
            .build(connector)
    }
}

fn system_roots() -> RootCertStore {
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::warn!(%error, "skipping unreadable system CA certificates");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "loaded system CA certificates");
    roots
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), UpstreamsError> {
    let ca_error = |source| UpstreamsError::CaFile { path: path.to_owned(), source };
    let mut found = false;
    for cert in CertificateDer::pem_file_iter(path).map_err(ca_error)? {
        let cert = cert.map_err(ca_error)?;
        roots.add(cert).map_err(|source| UpstreamsError::BadCertificate { path: path.to_owned(), source })?;
        found = true;
    }
    match found {
        true => Ok(()),
        false => Err(UpstreamsError::NoCertificate { path: path.to_owned() }),
    }
}
