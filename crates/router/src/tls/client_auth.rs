//! Asking TLS clients for a certificate, per Api (client.md, "Credentials (securitySchemes
//! mutualssl)"): the listener requests, never requires, a client certificate while some served
//! Api uses `mutualssl`, and whether the Api accepts the certificate is decided after routing.
//!
//! rustls offers `WebPkiClientVerifier`, which accepts only chains to one fixed set of roots
//! for the whole listener; here the roots differ per Api and change with every snapshot, and
//! a certificate the Api does not accept must get a 401 900901 response, not a failed
//! handshake. So this verifier is written by hand: it takes any chain in
//! `verify_client_cert` (nothing is trusted because of it; the enforcer decides, with webpki,
//! against the Api's certificates), but checks the client's handshake signature with the
//! crypto provider exactly as rustls' own verifier does, so a client can only present a
//! certificate whose private key it holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};

/// Whether new handshakes ask for a client certificate. Shared by the listener's verifier and
/// whoever installs snapshots ([`crate::SnapshotStore`]); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ClientAuthSwitch {
    requested: Arc<AtomicBool>,
}

/// The listener's client-certificate verifier (see the module documentation for why it is
/// not rustls' `WebPkiClientVerifier`).
#[derive(Debug)]
pub(crate) struct RequestedClientAuth {
    switch: ClientAuthSwitch,
    algorithms: WebPkiSupportedAlgorithms,
}

// === impl ClientAuthSwitch ===

impl ClientAuthSwitch {
    /// From the next handshake on, ask (or stop asking) for a client certificate. Connections
    /// already established keep what they negotiated.
    pub fn request(&self, requested: bool) {
        self.requested.store(requested, Ordering::Relaxed);
    }

    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Relaxed)
    }
}

// === impl RequestedClientAuth ===

impl RequestedClientAuth {
    pub(crate) fn new(switch: ClientAuthSwitch, algorithms: WebPkiSupportedAlgorithms) -> Self {
        RequestedClientAuth { switch, algorithms }
    }
}

impl ClientCertVerifier for RequestedClientAuth {
    /// One atomic load per handshake: send a CertificateRequest only while some Api asks.
    fn offer_client_auth(&self) -> bool {
        self.switch.is_requested()
    }

    /// Never: Apis without `mutualssl` share the listener, and a missing certificate is
    /// answered per Api (401 900902).
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    /// No CA names are hinted: the accepted CAs differ per Api, and clients choose their
    /// certificate without them.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    /// Accepts any chain; whether the Api accepts it is decided after routing.
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
