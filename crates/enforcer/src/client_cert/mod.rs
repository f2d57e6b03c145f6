//! Mutual TLS per Api (client.md, "Credentials (securitySchemes mutualssl)"): the Api's
//! `clientCertificates`, parsed once when the snapshot is built, and the decision whether a
//! chain a client presented in its TLS handshake is one of them or chains to one that is a CA.
//!
//! Possession of the certificate's key is proven by the handshake (the TLS listener checks the
//! client's signature); what is decided here is only whether the Api accepts that certificate.
//! Chain building and signature checks are rustls-webpki's, X.509 reading is x509-parser's.

mod accepted;
mod decision;
mod presented;

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, TrustAnchor};
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519,
};

pub use self::accepted::{AcceptedCertificate, Fingerprint};
pub use self::decision::CertificateRefusal;
pub use self::presented::PresentedChain;
use crate::model::Policy;

/// The largest `certificate` PEM an Api may list (a certificate is 1-2 KiB; RSA 8192, 4 KiB).
pub const MAX_CERTIFICATE_PEM_BYTES: usize = 16 * 1024;

/// RSA keys shorter than this are refused (webpki verifies RSA signatures from 2048 bits).
const MIN_RSA_BITS: usize = 2048;

/// The `clientCertificates` of one Api, in document order.
#[derive(Debug, Default)]
pub struct ClientCertificates {
    entries: Box<[ClientCertificate]>,
}

/// One `clientCertificates` entry, parsed.
#[derive(Debug)]
pub struct ClientCertificate {
    alias: Arc<str>,
    der: CertificateDer<'static>,
    /// Present when the certificate is a CA (`basicConstraints cA`): it then also accepts the
    /// certificates it issues, directly or through intermediates the client sends.
    anchor: Option<TrustAnchor<'static>>,
    validity: Validity,
    /// The Api that lists it.
    api: Arc<str>,
    /// The `subscription` policy requests made with this certificate count against (the
    /// certificate tier), per Api and alias.
    policy: Arc<str>,
}

/// A certificate's validity period, in seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
}

/// Why a `clientCertificates` entry cannot be served; the adapter reports it with the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateProblem {
    #[error("larger than {MAX_CERTIFICATE_PEM_BYTES} bytes")]
    TooLarge,
    #[error("must be a PEM holding exactly one certificate (found {0})")]
    NotOneCertificate(usize),
    #[error("not a readable PEM certificate: {0}")]
    Malformed(String),
    #[error("unsupported public key: {0}; supported are RSA (2048 bits or more), ECDSA P-256 and P-384, Ed25519")]
    UnsupportedKey(&'static str),
}

// === impl ClientCertificates ===

impl ClientCertificates {
    pub fn new(entries: Vec<ClientCertificate>) -> Self {
        ClientCertificates { entries: entries.into() }
    }

    pub fn iter(&self) -> impl Iterator<Item = &ClientCertificate> {
        self.entries.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Equal when they list the same aliases, certificates and policies, in the same order (the
/// adapter compares Apis to see whether a document changed).
impl PartialEq for ClientCertificates {
    fn eq(&self, other: &Self) -> bool {
        let same =
            |a: &ClientCertificate, b: &ClientCertificate| a.alias == b.alias && a.der == b.der && a.policy == b.policy;
        self.entries.len() == other.entries.len()
            && self.entries.iter().zip(other.entries.iter()).all(|(a, b)| same(a, b))
    }
}

impl Eq for ClientCertificates {}

// === impl ClientCertificate ===

impl ClientCertificate {
    /// Parses one entry of Api `api_id`: `pem` must hold exactly one X.509 certificate with a
    /// supported public key, in at most [`MAX_CERTIFICATE_PEM_BYTES`]. `policy` is the
    /// `subscription` policy name (`Unlimited` when absent); the adapter checks that it exists.
    pub fn from_pem(api_id: &str, alias: &str, pem: &str, policy: Option<&str>) -> Result<Self, CertificateProblem> {
        if pem.len() > MAX_CERTIFICATE_PEM_BYTES {
            return Err(CertificateProblem::TooLarge);
        }
        let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| CertificateProblem::Malformed(error.to_string()))?;
        let [der] = <[_; 1]>::try_from(certificates).map_err(|all| CertificateProblem::NotOneCertificate(all.len()))?;
        let (validity, is_ca) = read(&der)?;
        let anchor = match is_ca {
            true => Some(
                webpki::anchor_from_trusted_cert(&der)
                    .map_err(|error| CertificateProblem::Malformed(error.to_string()))?
                    .to_owned(),
            ),
            false => None,
        };
        let policy = policy.unwrap_or(Policy::UNLIMITED).into();
        Ok(ClientCertificate { alias: alias.into(), der, anchor, validity, api: api_id.into(), policy })
    }

    pub fn alias(&self) -> &Arc<str> {
        &self.alias
    }

    /// The `policy` name (`Unlimited` when the entry named none).
    pub fn policy(&self) -> &Arc<str> {
        &self.policy
    }

    /// Whether the certificate is a CA, and so also accepts the certificates it issues.
    pub fn is_ca(&self) -> bool {
        self.anchor.is_some()
    }

    /// This entry's acceptance of the certificate `fingerprint`, on a chain valid for `validity`.
    fn accepted(&self, fingerprint: Fingerprint, validity: Validity) -> AcceptedCertificate {
        AcceptedCertificate {
            api: self.api.clone(),
            alias: self.alias.clone(),
            policy: self.policy.clone(),
            fingerprint,
            not_after: u64::try_from(validity.not_after).unwrap_or(0),
        }
    }
}

/// The validity period and CA flag of `der`, after checking that it is a certificate with a
/// supported public key.
fn read(der: &[u8]) -> Result<(Validity, bool), CertificateProblem> {
    let (rest, certificate) =
        x509_parser::parse_x509_certificate(der).map_err(|error| CertificateProblem::Malformed(error.to_string()))?;
    if !rest.is_empty() {
        return Err(CertificateProblem::Malformed("trailing data after the certificate".to_owned()));
    }
    supported_key(&certificate)?;
    Ok((Validity::of(&certificate), certificate.is_ca()))
}

/// RSA of at least [`MIN_RSA_BITS`], ECDSA on P-256 or P-384, or Ed25519: what the TLS
/// listener can check a handshake signature with and webpki can check a chain with.
fn supported_key(certificate: &X509Certificate<'_>) -> Result<(), CertificateProblem> {
    let spki = certificate.public_key();
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let bits = spki.parsed().map(|key| key.key_size()).unwrap_or(0);
        return match bits >= MIN_RSA_BITS {
            true => Ok(()),
            false => Err(CertificateProblem::UnsupportedKey("an RSA key shorter than 2048 bits")),
        };
    }
    if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref().and_then(|parameters| parameters.as_oid().ok());
        return match curve {
            Some(curve) if curve == OID_EC_P256 || curve == OID_NIST_EC_P384 => Ok(()),
            Some(_) | None => Err(CertificateProblem::UnsupportedKey("an EC key on another curve")),
        };
    }
    match *algorithm == OID_SIG_ED25519 {
        true => Ok(()),
        false => Err(CertificateProblem::UnsupportedKey("another key algorithm")),
    }
}

// === impl Validity ===

impl Validity {
    pub(crate) fn of(certificate: &X509Certificate<'_>) -> Self {
        let validity = certificate.validity();
        Validity { not_before: validity.not_before.timestamp(), not_after: validity.not_after.timestamp() }
    }

    /// Whether `now` (Unix seconds) is within the period, both ends included.
    pub(crate) fn contains(self, now: u64) -> bool {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        self.not_before <= now && now <= self.not_after
    }

    /// The period both `self` and `other` cover.
    pub(crate) fn intersect(self, other: Validity) -> Validity {
        Validity { not_before: self.not_before.max(other.not_before), not_after: self.not_after.min(other.not_after) }
    }
}

#[cfg(test)]
mod tests;
