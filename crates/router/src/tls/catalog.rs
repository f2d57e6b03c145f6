//! Every configured certificate pair with what reloading needs. Only load and reload touch it
//! (behind the `Tls` mutex); handshakes read the [`CertSet`] built from it.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;

use super::certified::{Certified, Stamp};
use super::metrics::DEFAULT_LABEL;
use super::resolver::CertSet;
use super::{CertPaths, SniCertPaths, SniName, TlsError, TlsMetrics};

/// The default certificate and the SNI entries, each with its files and the certificate
/// currently served from them.
#[derive(Debug)]
pub(crate) struct Catalog {
    default: DefaultCert,
    sni: Vec<SniEntry>,
    provider: Arc<CryptoProvider>,
    metrics: TlsMetrics,
}

/// Which pairs a refresh re-reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refresh {
    /// Every pair, whatever is on disk.
    All,
    /// Only pairs whose files differ from what was last read (the reloader's check).
    Changed,
}

/// Where the default certificate comes from.
#[derive(Debug)]
pub(crate) enum DefaultSource {
    Files(CertPaths),
    /// Generated because none is configured; never reloaded.
    Generated(Certified),
}

#[derive(Debug)]
enum DefaultCert {
    Files(Pair),
    /// Generated at load because no default is configured; never reloaded.
    Generated(Certified),
}

#[derive(Debug)]
struct SniEntry {
    names: Vec<SniName>,
    pair: Pair,
}

/// A pair of files and the certificate last loaded from them.
#[derive(Debug)]
struct Pair {
    paths: CertPaths,
    current: Certified,
    /// The files as last read, whether or not they loaded.
    seen: Stamp,
}

// === impl Catalog ===

impl Catalog {
    /// Loads every pair, or fails with every error found.
    pub(crate) fn load(
        default: DefaultSource,
        sni: Vec<SniCertPaths>,
        provider: Arc<CryptoProvider>,
        metrics: TlsMetrics,
    ) -> Result<Catalog, TlsError> {
        let mut errors = Vec::new();
        let default = match default {
            DefaultSource::Files(paths) => Pair::load(paths, &provider).map(DefaultCert::Files),
            DefaultSource::Generated(certified) => Ok(DefaultCert::Generated(certified)),
        };
        let sni = parse_names(&sni, &mut errors)
            .into_iter()
            .zip(sni)
            .filter_map(|(names, entry)| ok_or_push(Pair::load(entry.into_paths(), &provider), &mut errors).zip(names))
            .map(|(pair, names)| SniEntry { names, pair })
            .collect();
        match default {
            Ok(default) if errors.is_empty() => {
                let catalog = Catalog { default, sni, provider, metrics };
                catalog.report_all();
                Ok(catalog)
            }
            Ok(_) => Err(TlsError::from_all(errors)),
            Err(error) => {
                errors.insert(0, error);
                Err(TlsError::from_all(errors))
            }
        }
    }

    /// Re-reads pairs; one that fails keeps its previous certificate. Returns whether any
    /// certificate changed, and every failure.
    pub(crate) fn refresh(&mut self, mode: Refresh) -> (bool, Vec<TlsError>) {
        let (mut changed, mut errors) = (false, Vec::new());
        let provider = &self.provider;
        let default = match &mut self.default {
            DefaultCert::Files(pair) => Some((pair, None)),
            DefaultCert::Generated(_) => None,
        };
        let pairs =
            default.into_iter().chain(self.sni.iter_mut().map(|entry| (&mut entry.pair, Some(&entry.names[..]))));
        for (pair, names) in pairs {
            match pair.refresh(mode, provider) {
                None => {}
                Some(Ok(())) => {
                    changed = true;
                    report(&self.metrics, &pair.current, names);
                }
                Some(Err(error)) => {
                    tracing::error!(%error, "TLS certificate reload failed; still serving the previous certificate");
                    errors.push(error);
                }
            }
        }
        (changed, errors)
    }

    /// The certificates handshakes choose from, as loaded now.
    pub(crate) fn cert_set(&self) -> CertSet {
        let mut certs = CertSet::new(Arc::clone(&self.default.current().key));
        for entry in &self.sni {
            for name in &entry.names {
                certs.insert(name, Arc::clone(&entry.pair.current.key));
            }
        }
        certs
    }

    /// The directories holding the configured files, each once.
    pub(crate) fn watched_dirs(&self) -> Vec<&Path> {
        let default = match &self.default {
            DefaultCert::Files(pair) => Some(&pair.paths),
            DefaultCert::Generated(_) => None,
        };
        let mut seen = HashSet::new();
        let paths = default.into_iter().chain(self.sni.iter().map(|entry| &entry.pair.paths));
        paths.flat_map(CertPaths::dirs).filter(|dir| seen.insert(*dir)).collect()
    }

    fn report_all(&self) {
        report(&self.metrics, self.default.current(), None);
        for entry in &self.sni {
            report(&self.metrics, &entry.pair.current, Some(&entry.names));
        }
    }
}

/// Sets the expiry gauge for each name a certificate is served for (`default` when `names` is
/// `None`), and warns about names the certificate does not cover.
fn report(metrics: &TlsMetrics, certified: &Certified, names: Option<&[SniName]>) {
    let Some(names) = names else {
        metrics.certificate_loaded(DEFAULT_LABEL, certified.not_after);
        return;
    };
    for name in names {
        metrics.certificate_loaded(&name.to_string(), certified.not_after);
        if !certified.covers(name) {
            tracing::warn!(server_name = %name, "the TLS certificate for this server name does not cover it");
        }
    }
}

/// Parses each entry's names (`None` for an entry with a bad one), pushing every error,
/// including names configured twice.
fn parse_names(entries: &[SniCertPaths], errors: &mut Vec<TlsError>) -> Vec<Option<Vec<SniName>>> {
    let mut seen = HashSet::new();
    let mut parse_entry = |entry: &SniCertPaths| {
        if entry.server_names.is_empty() {
            errors.push(TlsError::NoServerNames { cert: entry.cert.clone() });
            return None;
        }
        let names: Vec<_> =
            entry.server_names.iter().filter_map(|raw| ok_or_push(SniName::parse(raw), errors)).collect();
        let duplicates: Vec<_> = names.iter().filter(|name| !seen.insert((*name).clone())).collect();
        for name in &duplicates {
            errors.push(TlsError::DuplicateServerName { name: name.to_string() });
        }
        (names.len() == entry.server_names.len() && duplicates.is_empty()).then_some(names)
    };
    entries.iter().map(&mut parse_entry).collect()
}

fn ok_or_push<T>(result: Result<T, TlsError>, errors: &mut Vec<TlsError>) -> Option<T> {
    result.map_err(|error| errors.push(error)).ok()
}

// === impl DefaultCert ===

impl DefaultCert {
    fn current(&self) -> &Certified {
        match self {
            DefaultCert::Files(pair) => &pair.current,
            DefaultCert::Generated(certified) => certified,
        }
    }
}

// === impl Pair ===

impl Pair {
    fn load(paths: CertPaths, provider: &CryptoProvider) -> Result<Pair, TlsError> {
        let (seen, current) = Certified::load(&paths, provider);
        Ok(Pair { paths, current: current?, seen })
    }

    /// `None` when `mode` is [`Refresh::Changed`] and the files are as last read; otherwise
    /// whether the new files loaded (if not, the previous certificate stays).
    fn refresh(&mut self, mode: Refresh, provider: &CryptoProvider) -> Option<Result<(), TlsError>> {
        if mode == Refresh::Changed && Stamp::read(&self.paths) == self.seen {
            return None;
        }
        let (seen, loaded) = Certified::load(&self.paths, provider);
        self.seen = seen;
        let loaded = loaded.map(|certified| self.current = certified);
        if loaded.is_ok() {
            tracing::info!(cert = %self.paths.cert.display(), "TLS certificate reloaded");
        }
        Some(loaded)
    }
}
