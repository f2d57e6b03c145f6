//! Tokens whose signature did not verify, remembered per key.
//!
//! A token refused by a key is refused by that key every time, so as long as the token's key
//! manager is the same one and still publishes that key, sending the same bad token again
//! costs a lookup instead of a signature verification. This keeps the reject path no more
//! expensive than the accept path (whose tokens are cached once verified). A new key
//! manager or a changed key set means the refusal no longer applies and the token is
//! verified again. Keyed, like the verified cache, by the whole token.

use std::sync::Arc;
use std::time::Duration;

use super::keys::VerificationKey;
use crate::model::KeyManager;
use crate::rejection::TokenError;

/// A refused token: the key manager and key that refused it, and why.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) key_manager: Arc<KeyManager>,
    pub(crate) key: Arc<VerificationKey>,
    pub(crate) error: TokenError,
}

/// Full token → [`Refusal`], bounded in entries and age.
#[derive(Debug)]
pub(crate) struct RefusedCache {
    cache: Option<moka::sync::Cache<Box<str>, Arc<Refusal>, foldhash::fast::RandomState>>,
}

/// A refusal is forgotten after this long even if it was used all the time.
const REFUSAL_TTL: Duration = Duration::from_secs(10 * 60);

// === impl RefusedCache ===

impl RefusedCache {
    /// Holds at most `capacity` refusals; 0 disables the cache.
    pub(crate) fn new(capacity: u64) -> Self {
        let cache = (capacity > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(REFUSAL_TTL)
                .build_with_hasher(foldhash::fast::RandomState::default())
        });
        RefusedCache { cache }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Refusal>> {
        self.cache.as_ref()?.get(token)
    }

    pub(crate) fn insert(&self, token: &str, refusal: Refusal) {
        if let Some(cache) = &self.cache {
            cache.insert(token.into(), Arc::new(refusal));
        }
    }
}
