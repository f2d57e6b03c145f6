use std::collections::HashMap;
use std::sync::Arc;

use super::verification_key::VerificationKey;

/// The usable keys of one key manager, by `kid`. Immutable: a refresh builds a new set.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    by_kid: HashMap<Box<str>, Arc<VerificationKey>>,
    all: Box<[Arc<VerificationKey>]>,
}

/// The answer to "which key verifies this token".
#[derive(Debug)]
pub(crate) enum KeyLookup {
    Found(Arc<VerificationKey>),
    /// The token names a `kid` this set does not have.
    Missing,
    /// The token names no `kid` and the set has several keys (or none).
    Ambiguous,
}

// === impl KeySet ===

impl KeySet {
    /// A set of `keys`. A key identical to one of `previous` keeps the previous instance, so
    /// that tokens cached against it survive the refresh. For duplicate kids the first wins.
    pub(crate) fn new(keys: Vec<VerificationKey>, previous: Option<&KeySet>) -> Self {
        let mut set = KeySet::default();
        let mut all = Vec::with_capacity(keys.len());
        for key in keys {
            let key = previous.and_then(|p| p.identical(&key)).unwrap_or_else(|| Arc::new(key));
            if let Some(kid) = key.kid() {
                if set.by_kid.contains_key(kid) {
                    tracing::debug!(kid, "JWKS: duplicate kid skipped");
                    continue;
                }
                set.by_kid.insert(kid.into(), key.clone());
            }
            all.push(key);
        }
        set.all = all.into_boxed_slice();
        set
    }

    /// The key for a token's `kid`. Without a `kid`, the set's only key, if it has one key.
    pub(crate) fn find(&self, kid: Option<&str>) -> KeyLookup {
        match (kid, &*self.all) {
            (Some(kid), _) => self.by_kid.get(kid).cloned().map_or(KeyLookup::Missing, KeyLookup::Found),
            (None, [only]) => KeyLookup::Found(only.clone()),
            (None, _) => KeyLookup::Ambiguous,
        }
    }

    /// Whether `key` (this very instance) is still in the set; a pointer scan over a few keys.
    pub(crate) fn holds(&self, key: &Arc<VerificationKey>) -> bool {
        self.all.iter().any(|k| Arc::ptr_eq(k, key))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.all.len()
    }

    fn identical(&self, key: &VerificationKey) -> Option<Arc<VerificationKey>> {
        self.all.iter().find(|k| k.same_as(key)).cloned()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "tests: a broken fixture must fail loudly")]
mod tests {
    use super::*;

    fn key(kid: Option<&str>, byte: u8) -> VerificationKey {
        VerificationKey::ed25519(kid.map(Into::into), None, &[byte; 32]).expect("ed25519")
    }

    #[test]
    fn finds_by_kid_and_the_only_key_without_kid() {
        let one = KeySet::new(vec![key(Some("a"), 1)], None);
        assert!(matches!(one.find(Some("a")), KeyLookup::Found(_)));
        assert!(matches!(one.find(Some("b")), KeyLookup::Missing));
        assert!(matches!(one.find(None), KeyLookup::Found(_)));
        let two = KeySet::new(vec![key(Some("a"), 1), key(Some("b"), 2)], None);
        assert!(matches!(two.find(None), KeyLookup::Ambiguous));
        assert!(matches!(KeySet::default().find(None), KeyLookup::Ambiguous));
    }

    #[test]
    fn refresh_keeps_identical_keys_and_drops_removed_ones() {
        let old = KeySet::new(vec![key(Some("a"), 1), key(Some("b"), 2)], None);
        let KeyLookup::Found(a) = old.find(Some("a")) else { panic!("a is published") };
        let KeyLookup::Found(b) = old.find(Some("b")) else { panic!("b is published") };
        let new = KeySet::new(vec![key(Some("a"), 1), key(Some("b"), 3)], Some(&old));
        assert!(new.holds(&a));
        assert!(!new.holds(&b), "b's material changed");
        assert_eq!(new.len(), 2);
    }
}
