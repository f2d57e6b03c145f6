//! Where the certificates come from. The gateway maps its `[tls]` config section into these.

use std::path::{Path, PathBuf};

/// Every certificate the TLS listener serves, by file.
///
/// With no `default`, [`Tls::load`](super::Tls::load) generates a self-signed certificate for
/// `localhost` (and warns): clients that send an SNI name matching no `sni` entry, or none at
/// all, get the default certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// The certificate for clients whose SNI matches no `sni` entry.
    pub default: Option<CertPaths>,
    /// Certificates chosen by the server name the client asks for.
    pub sni: Vec<SniCertPaths>,
}

/// A PEM certificate chain (leaf first) and its PEM private key (PKCS#8, PKCS#1 or SEC1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    /// PEM `CERTIFICATE` blocks: the leaf, then any intermediates.
    pub cert: PathBuf,
    /// One PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block.
    pub key: PathBuf,
}

/// A certificate served to clients asking for one of `server_names`: exact names
/// (`api.example.com`, matched case-insensitively) or `*.example.com` wildcards matching
/// exactly one leftmost label. An exact name wins over a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniCertPaths {
    /// At least one; each configured once across all entries.
    pub server_names: Vec<String>,
    /// As [`CertPaths::cert`].
    pub cert: PathBuf,
    /// As [`CertPaths::key`].
    pub key: PathBuf,
}

// === impl CertPaths ===

impl CertPaths {
    /// The directories holding the two files; watched rather than the files themselves, so
    /// that replacing a file (or Kubernetes swapping a Secret volume's `..data` symlink) is seen.
    pub(crate) fn dirs(&self) -> [&Path; 2] {
        [parent_dir(&self.cert), parent_dir(&self.key)]
    }
}

// === impl SniCertPaths ===

impl SniCertPaths {
    pub(crate) fn into_paths(self) -> CertPaths {
        CertPaths { cert: self.cert, key: self.key }
    }
}

fn parent_dir(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        Some(_) | None => Path::new("."),
    }
}
