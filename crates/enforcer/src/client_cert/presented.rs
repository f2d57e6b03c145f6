//! The certificate chain a client presented in its TLS handshake, with the decision last made
//! for it, so that the requests of one connection cost one chain check per Api.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::pki_types::CertificateDer;

use super::ClientCertificates;
use super::accepted::Fingerprint;
use super::decision::{Decided, Outcome};

/// The chain of one connection (end-entity first), as rustls handed it over after the
/// handshake proved possession of the end-entity's key. Nothing else about it has been checked.
#[derive(Debug)]
pub struct PresentedChain {
    certificates: Box<[CertificateDer<'static>]>,
    /// The end-entity certificate's identity, hashed once for the connection.
    fingerprint: Fingerprint,
    /// The last decision, for the `clientCertificates` it was made against. HTTP/2 streams of
    /// one connection may share it; the lock is held only to copy the outcome in or out.
    last: Mutex<Option<Decided>>,
}

// === impl PresentedChain ===

/// Equal when they hold the same certificates (what was decided is a cache, not identity).
impl PartialEq for PresentedChain {
    fn eq(&self, other: &Self) -> bool {
        self.certificates == other.certificates
    }
}

impl Eq for PresentedChain {}

impl PresentedChain {
    /// `None` for an empty chain (the client sent no certificate).
    pub fn new(certificates: Vec<CertificateDer<'static>>) -> Option<Self> {
        let fingerprint = Fingerprint::of(certificates.first()?);
        Some(PresentedChain { certificates: certificates.into(), fingerprint, last: Mutex::new(None) })
    }

    /// The SHA-256 of the end-entity certificate.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The end-entity certificate first, then the intermediates as the client sent them.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }

    /// The outcome remembered for `certificates`, if the last decision was made against them.
    pub(super) fn remembered(&self, certificates: &Arc<ClientCertificates>) -> Option<Outcome> {
        let last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        last.as_ref().filter(|decided| Arc::ptr_eq(&decided.certificates, certificates)).map(|decided| decided.outcome)
    }

    pub(super) fn remember(&self, decided: Decided) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(decided);
    }
}
