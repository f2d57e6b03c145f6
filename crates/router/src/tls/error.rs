//! What can go wrong loading certificates, each error naming the file and the failure.

use std::path::PathBuf;

/// A certificate, key or server name that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: no such file")]
    NoSuchFile { path: PathBuf },
    #[error("{path}: cannot read: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: malformed PEM: {source}")]
    MalformedPem {
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error("{path}: no CERTIFICATE in PEM")]
    NoCertificate { path: PathBuf },
    #[error("{path}: invalid certificate: {reason}")]
    InvalidCertificate { path: PathBuf, reason: String },
    #[error(
        "{path}: no private key in PEM (expected PKCS#8 PRIVATE KEY, PKCS#1 RSA PRIVATE KEY or SEC1 EC PRIVATE KEY)"
    )]
    NoPrivateKey { path: PathBuf },
    #[error("{path}: unsupported private key: {source}")]
    UnsupportedKey {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("{key}: private key does not match the certificate in {cert}")]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("bad server name {name:?}: {reason}")]
    BadServerName { name: String, reason: &'static str },
    #[error("server name {name:?} is configured more than once")]
    DuplicateServerName { name: String },
    #[error("{cert}: SNI entry lists no server names")]
    NoServerNames { cert: PathBuf },
    #[error("cannot generate the self-signed certificate: {reason}")]
    SelfSigned { reason: String },
    #[error("cannot build the TLS server configuration: {0}")]
    Config(#[source] rustls::Error),
    #[error("{} TLS errors: {}", .0.len(), join(.0))]
    Several(Vec<TlsError>),
}

// === impl TlsError ===

impl TlsError {
    /// Every error found: one as itself, several as [`TlsError::Several`].
    pub(crate) fn from_all(mut errors: Vec<TlsError>) -> TlsError {
        match errors.pop() {
            Some(error) if errors.is_empty() => error,
            Some(error) => {
                errors.push(error);
                TlsError::Several(errors)
            }
            None => TlsError::Several(errors),
        }
    }

    pub(crate) fn reading(path: PathBuf, source: std::io::Error) -> TlsError {
        if source.kind() == std::io::ErrorKind::NotFound {
            TlsError::NoSuchFile { path }
        } else {
            TlsError::Unreadable { path, source }
        }
    }
}

fn join(errors: &[TlsError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}
