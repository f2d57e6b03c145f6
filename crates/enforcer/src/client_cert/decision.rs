//! Whether an Api accepts a presented chain (model.md, ClientCertificate): the end-entity is
//! one of the Api's certificates, or chains (through intermediates the client sent) to one of
//! them that is a CA, and everything on the way is within its validity period.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use super::{AcceptedCertificate, ClientCertificates, PresentedChain, Validity};

/// At most this many certificates in a presented chain (end-entity and intermediates).
pub(crate) const MAX_CHAIN_CERTIFICATES: usize = 8;

/// At most this many bytes of DER in a presented chain (rustls caps a handshake message at
/// 64 KiB; a real chain is a few KiB).
pub(crate) const MAX_CHAIN_BYTES: usize = 32 * 1024;

/// Why a presented certificate is not accepted (all answered 401 900901). Logged and counted,
/// never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CertificateRefusal {
    #[error("the chain has too many certificates or bytes")]
    ChainTooLong,
    #[error("a certificate of the chain cannot be read")]
    Malformed,
    #[error("neither listed nor issued by a listed CA")]
    NotListed,
    #[error("outside its validity period")]
    OutsideValidity,
}

/// What one decision found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The entry at this index accepts the chain while now is within `validity`.
    Accepted { entry: usize, validity: Validity },
    /// Refused whatever the time.
    Refused(CertificateRefusal),
}

/// An outcome and the certificates it was decided against.
#[derive(Debug)]
pub(super) struct Decided {
    pub(super) certificates: Arc<ClientCertificates>,
    pub(super) outcome: Outcome,
}

// === impl ClientCertificates ===

impl ClientCertificates {
    /// The certificate as the entry that accepts `chain` at `now` (Unix seconds) accepts it
    /// (alias, policy, and the chain's identity and end of validity). The first request of a
    /// connection on this Api checks the chain; later ones reuse that outcome and only compare
    /// `now` with the validity it found.
    pub fn accept(
        self: &Arc<Self>,
        chain: &PresentedChain,
        now: u64,
    ) -> Result<AcceptedCertificate, CertificateRefusal> {
        let outcome = match chain.remembered(self) {
            Some(outcome) => outcome,
            None => self.decide(chain.certificates(), now).inspect(|outcome| {
                chain.remember(Decided { certificates: Arc::clone(self), outcome: *outcome });
            })?,
        };
        match outcome {
            Outcome::Accepted { entry, validity } if validity.contains(now) => {
                let entry = self.entries.get(entry).ok_or(CertificateRefusal::NotListed)?;
                Ok(entry.accepted(chain.fingerprint(), validity))
            }
            Outcome::Accepted { .. } => Err(CertificateRefusal::OutsideValidity),
            Outcome::Refused(refusal) => Err(refusal),
        }
    }

    /// Decides from scratch. `Err`: refused at this `now` only (a validity period), not to be
    /// remembered.
    fn decide(&self, chain: &[CertificateDer<'static>], now: u64) -> Result<Outcome, CertificateRefusal> {
        let bytes: usize = chain.iter().map(|certificate| certificate.len()).sum();
        let (Some(end_entity), true) =
            (chain.first(), chain.len() <= MAX_CHAIN_CERTIFICATES && bytes <= MAX_CHAIN_BYTES)
        else {
            return Ok(Outcome::Refused(CertificateRefusal::ChainTooLong));
        };
        let Some(own) = validity_of(end_entity) else { return Ok(Outcome::Refused(CertificateRefusal::Malformed)) };
        if let Some(entry) = self.entries.iter().position(|entry| entry.der == *end_entity) {
            return Ok(Outcome::Accepted { entry, validity: own });
        }
        self.issued_by_listed_ca(end_entity, &chain[1..], own, now)
    }

    /// The first CA entry that `end_entity` chains to through `intermediates` at `now`.
    fn issued_by_listed_ca(
        &self,
        end_entity: &CertificateDer<'static>,
        intermediates: &[CertificateDer<'static>],
        own: Validity,
        now: u64,
    ) -> Result<Outcome, CertificateRefusal> {
        let Ok(parsed) = EndEntityCert::try_from(end_entity) else {
            return Ok(Outcome::Refused(CertificateRefusal::Malformed));
        };
        let time = UnixTime::since_unix_epoch(Duration::from_secs(now));
        let mut outside_validity = false;
        for (index, entry) in self.entries.iter().enumerate() {
            let Some(anchor) = &entry.anchor else { continue };
            let anchors = std::slice::from_ref(anchor);
            let verified = parsed.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                anchors,
                intermediates,
                time,
                KeyUsage::client_auth(),
                None,
                None,
            );
            match verified {
                Ok(path) => {
                    let mut used = path.intermediate_certificates().map(|certificate| validity_of(&certificate.der()));
                    let validity = used.try_fold(own.intersect(entry.validity), |all, one| Some(all.intersect(one?)));
                    return Ok(match validity {
                        Some(validity) => Outcome::Accepted { entry: index, validity },
                        None => Outcome::Refused(CertificateRefusal::Malformed),
                    });
                }
                Err(webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }) => {
                    outside_validity = true;
                }
                Err(error) => tracing::trace!(%error, alias = %entry.alias, "client certificate not issued by this CA"),
            }
        }
        match outside_validity {
            true => Err(CertificateRefusal::OutsideValidity),
            false => Ok(Outcome::Refused(CertificateRefusal::NotListed)),
        }
    }
}

/// The validity period of a DER certificate; `None` when it cannot be read.
fn validity_of(der: &[u8]) -> Option<Validity> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(Validity::of(&certificate))
}
