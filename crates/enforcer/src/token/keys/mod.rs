//! Verification keys per key manager: JWKS caches and PEM keys, kept in step with the
//! snapshot's key managers.
//!
//! PEM keys and certificates are read with x509-parser rather than jsonwebtoken's PEM
//! functions: it parses certificates properly and names the EC curve, which the algorithm
//! check (ES256 needs P-256) must know.

mod download;
mod jwk;
mod jwks_cache;
mod key_set;
mod pem;
mod verification_key;

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

pub(crate) use self::download::http_client;
pub(crate) use self::jwks_cache::{FetchContext, JwksCache};
pub(crate) use self::key_set::{KeyLookup, KeySet};
pub(crate) use self::verification_key::VerificationKey;
use crate::enforcement::KeyManagers;
use crate::model::{KeyManager, KeySource};
use crate::rejection::TokenError;

/// The key stores of the enabled key managers, by key manager name. Read lock-free on the
/// request path; rebuilt only when the key managers' names or key sources change.
#[derive(Debug)]
pub(crate) struct KeyStores {
    stores: ArcSwap<StoreMap>,
    context: Arc<FetchContext>,
}

/// Looked up on every request (cache hits included): a fast hasher over config names.
type StoreMap = HashMap<Arc<str>, KeyStore, foldhash::fast::RandomState>;

/// Where one key manager's keys are.
#[derive(Debug, Clone)]
enum KeyStore {
    Jwks(Arc<JwksCache>),
    /// A PEM key, parsed once; empty when the PEM is unusable (logged).
    Pem {
        pem: Arc<str>,
        keys: Arc<KeySet>,
    },
}

// === impl KeyStores ===

impl KeyStores {
    pub(crate) fn new(context: FetchContext) -> Self {
        KeyStores { stores: ArcSwap::default(), context: Arc::new(context) }
    }

    /// Brings the stores in step with `key_managers`: new JWKS caches start fetching, PEM keys
    /// are parsed, stores of removed or disabled key managers are dropped (ending their
    /// refresh). A no-op, without allocation, when nothing changed.
    pub(crate) fn prepare(&self, key_managers: &KeyManagers) {
        let enabled = || key_managers.iter().filter(|km| km.enabled);
        let current = self.stores.load();
        let unchanged = enabled().count() == current.len()
            && enabled().all(|km| current.get(&km.name).is_some_and(|store| store.serves(&km.keys)));
        if unchanged {
            return;
        }
        drop(current);
        self.stores.rcu(|current| {
            let reuse = |km: &KeyManager| current.get(&km.name).filter(|store| store.serves(&km.keys)).cloned();
            let store = |km: &Arc<KeyManager>| reuse(km).unwrap_or_else(|| KeyStore::build(km, &self.context));
            enabled().map(|km| (km.name.clone(), store(km))).collect::<StoreMap>()
        });
        self.stores.load().values().for_each(KeyStore::start);
    }

    /// The key that verifies a token of `key_manager` with this `kid`. A PEM key manager has
    /// exactly one key and ignores the `kid`.
    pub(crate) async fn key(
        &self,
        key_manager: &KeyManager,
        kid: Option<&str>,
    ) -> Result<Arc<VerificationKey>, TokenError> {
        match self.store(key_manager) {
            KeyStore::Pem { keys, .. } => match keys.find(None) {
                KeyLookup::Found(key) => Ok(key),
                KeyLookup::Missing | KeyLookup::Ambiguous => Err(TokenError::KeysUnavailable),
            },
            KeyStore::Jwks(cache) => {
                cache.start();
                cache.key(kid).await
            }
        }
    }

    /// Whether `key_manager` still publishes `key` (this very instance).
    pub(crate) fn holds(&self, key_manager: &KeyManager, key: &Arc<VerificationKey>) -> bool {
        match self.stores.load().get(&key_manager.name) {
            Some(KeyStore::Jwks(cache)) => cache.holds(key),
            Some(KeyStore::Pem { keys, .. }) => keys.holds(key),
            None => false,
        }
    }

    /// The JWKS cache of a key manager, for tests that wait on its fetches.
    #[cfg(test)]
    pub(crate) fn jwks_cache(&self, key_manager: &str) -> Option<Arc<JwksCache>> {
        match self.stores.load().get(key_manager) {
            Some(KeyStore::Jwks(cache)) => Some(cache.clone()),
            Some(KeyStore::Pem { .. }) | None => None,
        }
    }

    /// The store serving `key_manager`, installed on first use when `prepare` has not seen it
    /// yet (a request may race the adapter's `prepare` after a snapshot swap).
    fn store(&self, key_manager: &KeyManager) -> KeyStore {
        let serving =
            |stores: &StoreMap| stores.get(&key_manager.name).filter(|store| store.serves(&key_manager.keys)).cloned();
        if let Some(store) = serving(&self.stores.load()) {
            return store;
        }
        self.stores.rcu(|current| {
            let mut next = StoreMap::clone(current);
            if serving(current).is_none() {
                next.insert(key_manager.name.clone(), KeyStore::build(key_manager, &self.context));
            }
            next
        });
        // A concurrent `prepare` may have dropped it again: then serve this request alone.
        serving(&self.stores.load()).unwrap_or_else(|| KeyStore::build(key_manager, &self.context))
    }
}

// === impl KeyStore ===

impl KeyStore {
    fn build(key_manager: &KeyManager, context: &Arc<FetchContext>) -> Self {
        match &key_manager.keys {
            KeySource::Jwks { url } => {
                KeyStore::Jwks(JwksCache::new(key_manager.name.clone(), url.clone(), context.clone()))
            }
            KeySource::Pem { pem } => {
                let key = self::pem::parse_pem(pem).inspect_err(|error| {
                    tracing::warn!(key_manager = %key_manager.name, %error, "unusable key manager certificate");
                });
                KeyStore::Pem { pem: pem.clone(), keys: Arc::new(KeySet::new(key.into_iter().collect(), None)) }
            }
        }
    }

    fn serves(&self, source: &KeySource) -> bool {
        match (self, source) {
            (KeyStore::Jwks(cache), KeySource::Jwks { url }) => cache.url() == url,
            (KeyStore::Pem { pem, .. }, KeySource::Pem { pem: wanted }) => pem == wanted,
            (KeyStore::Jwks(_), KeySource::Pem { .. }) | (KeyStore::Pem { .. }, KeySource::Jwks { .. }) => false,
        }
    }

    fn start(&self) {
        match self {
            KeyStore::Jwks(cache) => cache.start(),
            KeyStore::Pem { .. } => {}
        }
    }
}
