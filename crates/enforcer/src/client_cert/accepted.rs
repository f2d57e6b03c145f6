//! What a request admitted with a client certificate carries of it: the accepting entry's
//! `policy` (the certificate tier of the rate limits) and the certificate's identity and
//! expiry (what a backend JWT made for it is cached under, and when it must end).

use std::sync::Arc;

/// The client certificate an Api accepted for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedCertificate {
    /// The Api whose `clientCertificates` accepted it; with `alias`, whose counter the
    /// certificate tier uses.
    pub api: Arc<str>,
    /// The alias of the accepting entry (the listed certificate, or the listed CA that issued it).
    pub alias: Arc<str>,
    /// The accepting entry's `policy`, a `subscription` policy (`Unlimited` when it named none).
    pub policy: Arc<str>,
    /// Which certificate the client presented.
    pub fingerprint: Fingerprint,
    /// Unix seconds after which the chain is no longer valid (the earliest `notAfter` on it).
    pub not_after: u64,
}

/// The SHA-256 of an end-entity certificate's DER: its identity, computed once per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

// === impl Fingerprint ===

impl Fingerprint {
    pub fn of(der: &[u8]) -> Self {
        use sha2::Digest as _;
        Fingerprint(sha2::Sha256::digest(der).into())
    }
}
