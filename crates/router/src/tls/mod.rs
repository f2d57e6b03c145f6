//! TLS termination for the HTTPS listener.
//!
//! [`Tls::load`] reads every configured certificate (or generates a self-signed one for
//! `localhost` when no default is configured) and builds one rustls `ServerConfig`: TLS 1.2 and
//! 1.3, ALPN `h2` then `http/1.1`, session tickets (one TLS 1.3 ticket per handshake) and a
//! server-side session cache. The certificate for each handshake is chosen by SNI from a set
//! held in one `ArcSwap`, so handshakes take no lock and a reload swaps the whole set at once:
//! connections already established keep the certificate they were made with.
//!
//! Reloading is driven by file events (notify, on the files' directories so that Kubernetes'
//! symlink swaps of Secret volumes are seen) with a periodic content check as a fallback for
//! file systems that send no events. A pair whose new files fail to load keeps serving its
//! previous certificate.
//!
//! A client certificate is requested, never required, while the [`ClientAuthSwitch`] is on
//! (some served Api uses `mutualssl`); the chain is handed to the request path, which decides
//! per Api.

mod catalog;
mod certified;
mod client_auth;
mod error;
mod metrics;
mod reloader;
mod resolver;
mod self_signed;
mod server_name;
mod settings;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::server::ServerSessionMemoryCache;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use self::catalog::{Catalog, DefaultSource, Refresh};
use self::client_auth::RequestedClientAuth;
use self::resolver::CertResolver;
use self::self_signed::SelfSigned;
use self::server_name::SniName;

pub use self::client_auth::ClientAuthSwitch;
pub use self::error::TlsError;
pub use self::metrics::TlsMetrics;
pub use self::settings::{CertPaths, SniCertPaths, TlsSettings};

/// Offered in this order of preference; a client offering neither gets no ALPN (HTTP/1.1).
const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// TLS 1.2 sessions remembered for resumption by session ID (TLS 1.3 and ticket-capable
/// TLS 1.2 clients resume with stateless tickets instead).
const SESSION_CACHE_SIZE: usize = 4096;

/// TLS 1.3 tickets sent after each handshake (rustls sends 2 unless told). Each costs an
/// HKDF expansion, a ticket encryption and a record on every new connection, while a client
/// that resumes gets a fresh ticket each time: one is what Go's crypto/tls sends, and what
/// OpenSSL (nginx, HAProxy) sends after a resumption. A client opening parallel connections
/// after one full handshake resumes one of them; the others handshake in full.
const TLS13_TICKETS: usize = 1;

/// The listener's certificates and TLS configuration. Cheap to clone; clones share everything,
/// and a reload through one is seen by acceptors from all.
#[derive(Debug, Clone)]
pub struct Tls {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Held only while loading and reloading, never by handshakes.
    catalog: Mutex<Catalog>,
    resolver: Arc<CertResolver>,
    config: Arc<ServerConfig>,
    client_auth: ClientAuthSwitch,
    self_signed_pem: Option<String>,
}

// === impl Tls ===

impl Tls {
    /// Loads every certificate, failing with every error found (a bad pair, a bad or duplicate
    /// server name). With no default configured, generates a self-signed ECDSA P-256 certificate
    /// for `localhost`, `127.0.0.1` and `::1`, and logs a warning. Sets the expiry gauge of every
    /// served name. Uses its own aws-lc-rs provider: no process-wide provider is needed.
    pub fn load(settings: TlsSettings, metrics: TlsMetrics) -> Result<Tls, TlsError> {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let (default, self_signed_pem) = match settings.default {
            Some(paths) => (DefaultSource::Files(paths), None),
            None => {
                let (certified, pem) =
                    SelfSigned::generate(time::OffsetDateTime::now_utc())?.into_certified(&provider)?;
                tracing::warn!(
                    "no default TLS certificate configured ([tls] cert and key): serving a generated \
                     self-signed certificate for localhost, which clients will not trust"
                );
                (DefaultSource::Generated(certified), Some(pem))
            }
        };
        let catalog = Catalog::load(default, settings.sni, Arc::clone(&provider), metrics)?;
        let resolver = Arc::new(CertResolver::new(catalog.cert_set()));
        let client_auth = ClientAuthSwitch::default();
        let config = Arc::new(server_config(provider, Arc::clone(&resolver), client_auth.clone())?);
        let inner = Inner { catalog: Mutex::new(catalog), resolver, config, client_auth, self_signed_pem };
        Ok(Tls { inner: Arc::new(inner) })
    }

    /// The acceptor for the HTTPS listener. Every acceptor serves the current certificates.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.inner.config))
    }

    /// Re-reads every configured cert/key pair. A pair that fails to load keeps serving its
    /// previous certificate; every failure is logged and returned (several as
    /// [`TlsError::Several`]). New handshakes use the new certificates; established connections
    /// are unaffected. Blocks on file reads: from async code, call it in `spawn_blocking`.
    pub fn reload(&self) -> Result<(), TlsError> {
        self.refresh(Refresh::All).map(drop)
    }

    /// Spawns a task that reloads pairs whose files change: on file events in the files'
    /// directories (so atomic renames and Kubernetes' `..data` symlink swaps are seen) and,
    /// as a fallback, on a content check every `poll`. A pair whose new files fail to load keeps
    /// its certificate, and is not retried until its files change again.
    ///
    /// Runs until aborted (`JoinHandle::abort`); dropping the handle detaches it, as with any
    /// tokio task. Must be called within a tokio runtime.
    pub fn spawn_reloader(&self, poll: Duration) -> JoinHandle<()> {
        reloader::spawn(self.clone(), poll, crate::file_events::Watch::FileEvents)
    }

    /// The switch that makes new handshakes ask for a client certificate (off at first); the
    /// snapshot store turns it on while some served Api uses `mutualssl`.
    pub fn client_auth(&self) -> ClientAuthSwitch {
        self.inner.client_auth.clone()
    }

    /// Whether the default certificate is the generated self-signed one.
    pub fn is_self_signed(&self) -> bool {
        self.inner.self_signed_pem.is_some()
    }

    /// The PEM of the generated self-signed certificate, if any; for tests and the demo, so a
    /// client can be told to trust it.
    pub fn self_signed_cert_pem(&self) -> Option<String> {
        self.inner.self_signed_pem.clone()
    }

    /// Re-reads pairs (all, or only those whose files changed), swaps in the new certificate
    /// set if anything changed, and says whether it did.
    fn refresh(&self, mode: Refresh) -> Result<bool, TlsError> {
        let mut catalog = self.catalog();
        let (changed, errors) = catalog.refresh(mode);
        if changed {
            self.inner.resolver.store(catalog.cert_set());
        }
        match errors.is_empty() {
            true => Ok(changed),
            false => Err(TlsError::from_all(errors)),
        }
    }

    fn watched_dirs(&self) -> Vec<PathBuf> {
        self.catalog().watched_dirs().into_iter().map(PathBuf::from).collect()
    }

    fn catalog(&self) -> MutexGuard<'_, Catalog> {
        // A panic mid-refresh leaves each pair either old or new, both servable.
        self.inner.catalog.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn server_config(
    provider: Arc<CryptoProvider>,
    resolver: Arc<CertResolver>,
    client_auth: ClientAuthSwitch,
) -> Result<ServerConfig, TlsError> {
    let verifier = Arc::new(RequestedClientAuth::new(client_auth, provider.signature_verification_algorithms));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|protocol| protocol.to_vec()).collect();
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_SIZE);
    config.ticketer = aws_lc_rs::Ticketer::new().map_err(TlsError::Config)?;
    config.send_tls13_tickets = TLS13_TICKETS;
    Ok(config)
}
