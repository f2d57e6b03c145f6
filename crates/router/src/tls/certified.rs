//! One certificate chain with its private key, read from a pair of PEM files and checked.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{Error as RustlsError, InconsistentKeys};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::{CertPaths, SniName, TlsError};

/// A chain and key ready for handshakes, with what metrics and name checks need from the leaf.
#[derive(Debug, Clone)]
pub(crate) struct Certified {
    pub(crate) key: Arc<CertifiedKey>,
    /// The leaf's notAfter, in seconds since the Unix epoch.
    pub(crate) not_after: i64,
    /// The leaf's subjectAltName dNSNames.
    dns_names: Vec<Box<str>>,
}

/// A fingerprint of the bytes of a cert/key pair as last read (or of the reason they could not
/// be read): the reloader compares it with the files on disk to see whether anything changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

/// Why a chain and key cannot be served together; [`PairError::at`] adds the file names.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PairError {
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    #[error("unsupported private key: {0}")]
    UnsupportedKey(RustlsError),
    #[error("private key does not match the certificate")]
    KeyMismatch,
}

// === impl Certified ===

impl Certified {
    /// Reads and checks the pair; the stamp fingerprints exactly the bytes that were checked.
    pub(crate) fn load(paths: &CertPaths, provider: &CryptoProvider) -> (Stamp, Result<Certified, TlsError>) {
        let cert = std::fs::read(&paths.cert);
        let key = std::fs::read(&paths.key);
        let stamp = Stamp::of(&cert, &key);
        let certified = match (cert, key) {
            (Ok(cert), Ok(key)) => Self::from_pem(&cert, &key, paths, provider),
            (Err(error), _) => Err(TlsError::reading(paths.cert.clone(), error)),
            (Ok(_), Err(error)) => Err(TlsError::reading(paths.key.clone(), error)),
        };
        (stamp, certified)
    }

    fn from_pem(cert: &[u8], key: &[u8], paths: &CertPaths, provider: &CryptoProvider) -> Result<Self, TlsError> {
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| TlsError::MalformedPem { path: paths.cert.clone(), source })?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate { path: paths.cert.clone() });
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|source| {
            if matches!(source, rustls_pki_types::pem::Error::NoItemsFound) {
                TlsError::NoPrivateKey { path: paths.key.clone() }
            } else {
                TlsError::MalformedPem { path: paths.key.clone(), source }
            }
        })?;
        Self::from_der(chain, key, provider).map_err(|error| error.at(paths))
    }

    /// Checks that `key` is usable and is the key certified by the first certificate of `chain`.
    pub(crate) fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        provider: &CryptoProvider,
    ) -> Result<Self, PairError> {
        let Some(leaf) = chain.first() else {
            return Err(PairError::InvalidCertificate("empty chain".to_owned()));
        };
        let leaf = Leaf::parse(leaf)?;
        let signing_key = provider.key_provider.load_private_key(key).map_err(PairError::UnsupportedKey)?;
        let key = CertifiedKey::new(chain, signing_key);
        match key.keys_match() {
            Ok(()) => {}
            // A key that cannot show its public half cannot be compared; rustls accepts it too.
            Err(RustlsError::InconsistentKeys(InconsistentKeys::Unknown)) => {}
            Err(RustlsError::InconsistentKeys(InconsistentKeys::KeyMismatch)) => return Err(PairError::KeyMismatch),
            Err(error) => return Err(PairError::InvalidCertificate(error.to_string())),
        }
        Ok(Certified { key: Arc::new(key), not_after: leaf.not_after, dns_names: leaf.dns_names })
    }

    /// Whether the leaf's subjectAltName covers `name`; a mismatch is the operator's mistake,
    /// worth a warning, but rustls would serve the certificate regardless.
    pub(crate) fn covers(&self, name: &SniName) -> bool {
        self.dns_names.iter().any(|san| name.covered_by(san))
    }
}

/// What is read from the leaf certificate with x509-parser.
struct Leaf {
    not_after: i64,
    dns_names: Vec<Box<str>>,
}

impl Leaf {
    fn parse(der: &[u8]) -> Result<Leaf, PairError> {
        use x509_parser::extensions::GeneralName;

        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|error| PairError::InvalidCertificate(error.to_string()))?;
        let sans = cert.subject_alternative_name().map_err(|error| PairError::InvalidCertificate(error.to_string()))?;
        let dns_names = sans
            .iter()
            .flat_map(|sans| sans.value.general_names.iter())
            .filter_map(|name| if let GeneralName::DNSName(name) = name { Some((*name).into()) } else { None })
            .collect();
        Ok(Leaf { not_after: cert.validity().not_after.timestamp(), dns_names })
    }
}

// === impl Stamp ===

impl Stamp {
    /// The stamp of the pair as it is on disk now.
    pub(crate) fn read(paths: &CertPaths) -> Stamp {
        Stamp::of(&std::fs::read(&paths.cert), &std::fs::read(&paths.key))
    }

    fn of(cert: &std::io::Result<Vec<u8>>, key: &std::io::Result<Vec<u8>>) -> Stamp {
        let mut hasher = DefaultHasher::new();
        for file in [cert, key] {
            // The `Result` discriminant keeps an empty file apart from a missing one.
            file.as_ref().map_err(std::io::Error::kind).hash(&mut hasher);
        }
        Stamp(hasher.finish())
    }
}

// === impl PairError ===

impl PairError {
    fn at(self, paths: &CertPaths) -> TlsError {
        match self {
            PairError::InvalidCertificate(reason) => TlsError::InvalidCertificate { path: paths.cert.clone(), reason },
            PairError::UnsupportedKey(source) => TlsError::UnsupportedKey { path: paths.key.clone(), source },
            PairError::KeyMismatch => TlsError::KeyMismatch { cert: paths.cert.clone(), key: paths.key.clone() },
        }
    }
}
