use std::collections::HashMap as StdHashMap;
use std::sync::Arc;

use crate::model::{
    Application, KeyManager, KeyMapping, Policy, PolicyKind, PolicyName, RevokedId, RevokedToken, Subscription,
};

/// Hash maps with a fast, randomly seeded hasher: the keys (issuers, ids, consumer keys)
/// come partly from tokens, so the seed matters, but SipHash was a tenth of a cached check.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

/// The enforcement half of a snapshot: immutable indexes that the request path reads.
///
/// Each index sits behind its own `Arc`, so a change to one entity kind rebuilds only that
/// index and the new snapshot shares the others with the old one.
#[derive(Debug, Clone, Default)]
pub struct Enforcement {
    pub key_managers: Arc<KeyManagers>,
    pub applications: Arc<Applications>,
    pub key_mappings: Arc<KeyMappings>,
    pub subscriptions: Arc<Subscriptions>,
    pub policies: Arc<Policies>,
    pub revocations: Arc<Revocations>,
}

/// Key managers by issuer (the request path) and by name.
#[derive(Debug, Default)]
pub struct KeyManagers {
    by_issuer: HashMap<Arc<str>, Arc<KeyManager>>,
    by_name: HashMap<Arc<str>, Arc<KeyManager>>,
}

/// Applications by id.
#[derive(Debug, Default)]
pub struct Applications {
    by_id: HashMap<Arc<str>, Arc<Application>>,
}

/// Key mappings by key manager name, then consumer key.
#[derive(Debug, Default)]
pub struct KeyMappings {
    by_key_manager: HashMap<Arc<str>, HashMap<Arc<str>, Arc<KeyMapping>>>,
    len: usize,
}

/// Subscriptions by API id, then application id.
#[derive(Debug, Default)]
pub struct Subscriptions {
    by_api: HashMap<Arc<str>, HashMap<Arc<str>, Arc<Subscription>>>,
    len: usize,
}

/// Rate-limit policies by kind and name, built-ins included.
#[derive(Debug)]
pub struct Policies {
    by_kind: [HashMap<Arc<str>, Arc<Policy>>; 3],
}

/// Revoked tokens by `jti` or canonical signature ([`RevokedId::canonical`], computed here
/// once per entry when the snapshot is built), with their expiry (Unix seconds).
#[derive(Debug, Default)]
pub struct Revocations {
    by_id: HashMap<RevokedId, u64>,
}

// === impl KeyManagers ===

impl KeyManagers {
    /// Indexes validated key managers; names and issuers are unique (the adapter checked).
    pub fn new(key_managers: impl IntoIterator<Item = Arc<KeyManager>>) -> Self {
        let mut index = KeyManagers::default();
        for km in key_managers {
            index.by_issuer.insert(km.issuer.clone(), km.clone());
            index.by_name.insert(km.name.clone(), km);
        }
        index
    }

    pub fn by_issuer(&self, issuer: &str) -> Option<&Arc<KeyManager>> {
        self.by_issuer.get(issuer)
    }

    pub fn by_name(&self, name: &str) -> Option<&Arc<KeyManager>> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<KeyManager>> {
        self.by_name.values()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

// === impl Applications ===

impl Applications {
    pub fn new(applications: impl IntoIterator<Item = Arc<Application>>) -> Self {
        let by_id = applications.into_iter().map(|app| (app.id.clone(), app)).collect();
        Applications { by_id }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Application>> {
        self.by_id.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Application>> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

// === impl KeyMappings ===

impl KeyMappings {
    pub fn new(mappings: impl IntoIterator<Item = Arc<KeyMapping>>) -> Self {
        let mut index = KeyMappings::default();
        for mapping in mappings {
            let by_key = index.by_key_manager.entry(mapping.key_manager.clone()).or_default();
            if by_key.insert(mapping.consumer_key.clone(), mapping).is_none() {
                index.len += 1;
            }
        }
        index
    }

    pub fn get(&self, key_manager: &str, consumer_key: &str) -> Option<&Arc<KeyMapping>> {
        self.by_key_manager.get(key_manager)?.get(consumer_key)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<KeyMapping>> {
        self.by_key_manager.values().flat_map(|m| m.values())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

// === impl Subscriptions ===

impl Subscriptions {
    pub fn new(subscriptions: impl IntoIterator<Item = Arc<Subscription>>) -> Self {
        let mut index = Subscriptions::default();
        for sub in subscriptions {
            let by_app = index.by_api.entry(sub.api_id.clone()).or_default();
            if by_app.insert(sub.application_id.clone(), sub).is_none() {
                index.len += 1;
            }
        }
        index
    }

    pub fn get(&self, api_id: &str, application_id: &str) -> Option<&Arc<Subscription>> {
        self.by_api.get(api_id)?.get(application_id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Subscription>> {
        self.by_api.values().flat_map(|m| m.values())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

// === impl Policies ===

impl Policies {
    /// The built-in policies, overridden by `policies` with the same kind and name.
    pub fn new(policies: impl IntoIterator<Item = Arc<Policy>>) -> Self {
        let mut index = Policies { by_kind: Default::default() };
        let builtins = crate::model::builtin_policies().into_iter().map(Arc::new);
        for policy in builtins.chain(policies) {
            index.by_kind[kind_slot(policy.id.kind)].insert(policy.id.name.clone(), policy);
        }
        index
    }

    pub fn get(&self, kind: PolicyKind, name: &str) -> Option<&Arc<Policy>> {
        self.by_kind[kind_slot(kind)].get(name)
    }

    pub fn contains(&self, id: &PolicyName) -> bool {
        self.get(id.kind, &id.name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Policy>> {
        self.by_kind.iter().flat_map(|m| m.values())
    }

    pub fn len(&self) -> usize {
        self.by_kind.iter().map(|m| m.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Policies {
    fn default() -> Self {
        Policies::new([])
    }
}

fn kind_slot(kind: PolicyKind) -> usize {
    match kind {
        PolicyKind::Subscription => 0,
        PolicyKind::Application => 1,
        PolicyKind::Api => 2,
    }
}

// === impl Revocations ===

impl Revocations {
    /// Keeps the revocations that have not expired by `now` (Unix seconds), signatures in
    /// canonical form. Spellings of one signature become one entry, with the latest expiry.
    pub fn new(revoked: impl IntoIterator<Item = RevokedToken>, now: u64) -> Self {
        let mut by_id = HashMap::default();
        for RevokedToken { id, expires_at } in revoked.into_iter().filter(|r| r.expires_at > now) {
            let latest = by_id.entry(id.canonical()).or_insert(expires_at);
            *latest = (*latest).max(expires_at);
        }
        Revocations { by_id }
    }

    /// Whether `id`, in any spelling, is revoked. Canonicalises `id` on each call: the request
    /// path uses [`Revocations::contains`] with an id made canonical once.
    pub fn is_revoked(&self, id: &RevokedId) -> bool {
        self.contains(&id.clone().canonical())
    }

    /// Whether `id`, already in canonical form, is revoked.
    pub(crate) fn contains(&self, id: &RevokedId) -> bool {
        self.by_id.contains_key(id)
    }

    /// The revocations, signatures in canonical form.
    pub fn iter(&self) -> impl Iterator<Item = RevokedToken> + '_ {
        self.by_id.iter().map(|(id, expires_at)| RevokedToken { id: id.clone(), expires_at: *expires_at })
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SubscriptionStatus;

    #[test]
    fn snapshot_policies_override_builtins_by_kind_and_name() {
        let gold = Policy::limited(PolicyKind::Subscription, "Gold", 7, std::time::Duration::from_secs(1));
        let policies = Policies::new([Arc::new(gold.clone())]);
        assert_eq!(policies.get(PolicyKind::Subscription, "Gold").map(|p| &**p), Some(&gold));
        assert!(policies.get(PolicyKind::Application, "Gold").is_none());
        assert!(policies.get(PolicyKind::Api, "Unlimited").is_some());
    }

    #[test]
    fn subscriptions_are_found_by_api_then_application() {
        let sub = Arc::new(Subscription {
            id: "s1".into(),
            api_id: "api".into(),
            application_id: "app".into(),
            policy: "Gold".into(),
            status: SubscriptionStatus::Unblocked,
        });
        let index = Subscriptions::new([sub]);
        assert!(index.get("api", "app").is_some());
        assert!(index.get("app", "api").is_none());
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn expired_revocations_are_dropped_at_build() {
        let old = RevokedToken { id: RevokedId::Jti("old".into()), expires_at: 10 };
        let live = RevokedToken { id: RevokedId::Jti("live".into()), expires_at: 100 };
        let index = Revocations::new([old, live], 50);
        assert!(index.is_revoked(&RevokedId::Jti("live".into())));
        assert!(!index.is_revoked(&RevokedId::Jti("old".into())));
    }

    #[test]
    fn spellings_of_one_signature_are_one_revocation_with_the_latest_expiry() {
        let signature =
            |spelling: &str, expires_at| RevokedToken { id: RevokedId::Signature(spelling.into()), expires_at };
        let index = Revocations::new([signature("c2lnbg", 100), signature("c2lnbh==", 200)], 50);
        assert_eq!(index.len(), 1);
        assert!(index.is_revoked(&RevokedId::Signature("c2lnbg==".into())), "padded");
        assert!(index.contains(&RevokedId::Signature("c2lnbg".into())), "canonical");
        assert!(!index.contains(&RevokedId::Signature("c2lnbh".into())), "contains takes canonical ids only");
        assert_eq!(index.iter().map(|r| r.expires_at).collect::<Vec<_>>(), [200]);
    }
}
