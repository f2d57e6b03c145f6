use std::sync::Arc;

use crate::client_cert::AcceptedCertificate;
use crate::model::{Application, KeyType, Subscription};
use crate::token::VerifiedCredential;

/// Who a request was admitted as. Shared by the token cache, so cloning it is cheap.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's `sub` (empty when absent); the application tier counts per subject.
    pub subject: Arc<str>,
    pub key_type: KeyType,
    /// Present when the key manager validates subscriptions.
    pub application: Option<Arc<Application>>,
    pub subscription: Option<Arc<Subscription>>,
    /// The name of the key manager that issued the token.
    pub key_manager: Arc<str>,
    /// The verified credential (bearer token or API key) the request was admitted with: its
    /// expiry, and its identity for what is cached per credential (backend JWTs). `None` for a
    /// principal made without one (tests, benches).
    pub credential: Option<VerifiedCredential>,
    /// The client certificate the Api accepted, when one was examined and accepted (client.md,
    /// "Combining schemes"): alone, or alongside a passing token or API key. Its `policy` limits
    /// the request as the certificate tier.
    pub certificate: Option<AcceptedCertificate>,
}

// === impl Principal ===

impl Principal {
    /// This principal with the client certificate the Api also accepted.
    pub fn with_certificate(self, certificate: AcceptedCertificate) -> Self {
        Principal { certificate: Some(certificate), ..self }
    }
}
