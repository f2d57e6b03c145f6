//! The certificate served when none is configured: a fresh ECDSA P-256 key and a self-signed
//! certificate for `localhost`, so a fresh machine serves HTTPS at once (clients must be told
//! to trust it; nothing else will).

use rcgen::{CertificateParams, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use rustls::crypto::CryptoProvider;

use super::TlsError;
use super::certified::Certified;

/// The names a locally started gateway is reached by.
const SUBJECT_ALT_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Long enough for any process lifetime; the certificate is never renewed, only regenerated on restart.
const VALIDITY: Duration = Duration::days(365);

/// A generated certificate and its key.
#[derive(Debug)]
pub(crate) struct SelfSigned {
    pub(crate) cert_pem: String,
    pub(crate) cert: CertificateDer<'static>,
    pub(crate) key: PrivateKeyDer<'static>,
}

// === impl SelfSigned ===

impl SelfSigned {
    /// Generates a key and certificate valid from a day before `now` (tolerating client clock
    /// skew) for [`VALIDITY`].
    pub(crate) fn generate(now: OffsetDateTime) -> Result<SelfSigned, TlsError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|error| failed(&error))?;
        let mut params = CertificateParams::new(SUBJECT_ALT_NAMES.map(String::from)).map_err(|error| failed(&error))?;
        params.distinguished_name.push(DnType::CommonName, "localhost");
        params.distinguished_name.push(DnType::OrganizationName, "Tollgate self-signed");
        params.not_before = now - Duration::days(1);
        params.not_after = now + VALIDITY;
        let cert = params.self_signed(&key).map_err(|error| failed(&error))?;
        Ok(SelfSigned {
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        })
    }

    /// The certificate ready to serve, and its PEM.
    pub(crate) fn into_certified(self, provider: &CryptoProvider) -> Result<(Certified, String), TlsError> {
        let certified = Certified::from_der(vec![self.cert], self.key, provider)
            .map_err(|error| TlsError::SelfSigned { reason: error.to_string() })?;
        Ok((certified, self.cert_pem))
    }
}

fn failed(error: &rcgen::Error) -> TlsError {
    TlsError::SelfSigned { reason: error.to_string() }
}
