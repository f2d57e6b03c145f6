//! Picks the certificate for a handshake by SNI, from a set swapped whole on reload.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::server_name::{SniName, parent};

/// The certificates handshakes choose from. Immutable: a reload builds a new one.
#[derive(Debug)]
pub(crate) struct CertSet {
    default: Arc<CertifiedKey>,
    exact: HashMap<Box<str>, Arc<CertifiedKey>>,
    /// Keyed by the suffix after `*.`.
    wildcard: HashMap<Box<str>, Arc<CertifiedKey>>,
}

/// The rustls certificate resolver: one atomic load per handshake, no lock.
#[derive(Debug)]
pub(crate) struct CertResolver {
    current: ArcSwap<CertSet>,
}

// === impl CertSet ===

impl CertSet {
    pub(crate) fn new(default: Arc<CertifiedKey>) -> CertSet {
        CertSet { default, exact: HashMap::new(), wildcard: HashMap::new() }
    }

    /// Serves `key` to clients asking for `name`; a later insert of the same name wins
    /// (the catalog rejects duplicates before it gets here).
    pub(crate) fn insert(&mut self, name: &SniName, key: Arc<CertifiedKey>) {
        match name {
            SniName::Exact(name) => self.exact.insert(name.clone(), key),
            SniName::Wildcard(suffix) => self.wildcard.insert(suffix.clone(), key),
        };
    }

    /// Exact name first, then a wildcard for its parent domain, then the default. No SNI (or an
    /// IP address, which rustls drops) gets the default.
    pub(crate) fn select(&self, server_name: Option<&str>) -> &Arc<CertifiedKey> {
        server_name.and_then(|name| self.by_name(&lowercase(name))).unwrap_or(&self.default)
    }

    fn by_name(&self, name: &str) -> Option<&Arc<CertifiedKey>> {
        self.exact.get(name).or_else(|| parent(name).and_then(|suffix| self.wildcard.get(suffix)))
    }
}

/// rustls already lowercases the SNI it hands to resolvers, so this only allocates if that changes.
fn lowercase(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

// === impl CertResolver ===

impl CertResolver {
    pub(crate) fn new(certs: CertSet) -> CertResolver {
        CertResolver { current: ArcSwap::from_pointee(certs) }
    }

    /// New handshakes use `certs` from now on; handshakes in progress finish with what they chose.
    pub(crate) fn store(&self, certs: CertSet) {
        self.current.store(Arc::new(certs));
    }

    pub(crate) fn select(&self, server_name: Option<&str>) -> Arc<CertifiedKey> {
        Arc::clone(self.current.load().select(server_name))
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.select(client_hello.server_name()))
    }
}

#[cfg(test)]
mod tests {
    use rustls::crypto::aws_lc_rs;
    use rustls_pki_types::PrivatePkcs8KeyDer;

    use super::*;

    type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

    fn certified_key() -> TestResult<Arc<CertifiedKey>> {
        let key = rcgen::KeyPair::generate()?;
        let cert = rcgen::CertificateParams::new(vec!["x.test".to_owned()])?.self_signed(&key)?;
        let der = PrivatePkcs8KeyDer::from(key.serialize_der()).into();
        let signing_key = aws_lc_rs::default_provider().key_provider.load_private_key(der)?;
        Ok(Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing_key)))
    }

    #[test]
    fn exact_names_then_wildcards_then_the_default() -> TestResult {
        let (default, exact, wildcard) = (certified_key()?, certified_key()?, certified_key()?);
        let mut certs = CertSet::new(Arc::clone(&default));
        certs.insert(&SniName::parse("api.example.com")?, Arc::clone(&exact));
        certs.insert(&SniName::parse("*.example.com")?, Arc::clone(&wildcard));
        for (sni, expected) in [
            (Some("api.example.com"), &exact),
            (Some("API.Example.COM"), &exact),
            (Some("web.example.com"), &wildcard),
            (Some("a.web.example.com"), &default),
            (Some("example.com"), &default),
            (Some("other.test"), &default),
            (None, &default),
        ] {
            assert!(Arc::ptr_eq(certs.select(sni), expected), "{sni:?}");
        }
        Ok(())
    }

    #[test]
    fn a_stored_set_serves_the_next_selection() -> TestResult {
        let (before, after) = (certified_key()?, certified_key()?);
        let resolver = CertResolver::new(CertSet::new(Arc::clone(&before)));
        let held = resolver.select(None);
        resolver.store(CertSet::new(Arc::clone(&after)));
        assert!(Arc::ptr_eq(&resolver.select(None), &after));
        assert!(Arc::ptr_eq(&held, &before), "what was chosen before stays valid");
        Ok(())
    }
}
