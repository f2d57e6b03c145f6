//! Which tiers apply to one request, in contract order, with their policies and keys.

use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::net::IpAddr;

use crate::client_cert::AcceptedCertificate;
use crate::enforcement::Enforcement;
use crate::enforcer::Access;
use crate::model::{Policy, PolicyKind, Quota};
use crate::principal::Principal;

use super::gcra::Rate;
use super::throttled::ThrottleLevel;

/// At most one api-level tier, certificate burst, certificate, burst, subscription and
/// application.
pub(super) const MAX_TIERS: usize = 6;

/// The levels of a subscription's burst and limit, and of a client certificate's.
const SUBSCRIPTION_LEVELS: (ThrottleLevel, ThrottleLevel) = (ThrottleLevel::Burst, ThrottleLevel::Subscription);
const CERTIFICATE_LEVELS: (ThrottleLevel, ThrottleLevel) =
    (ThrottleLevel::CertificateBurst, ThrottleLevel::Certificate);

/// The tiers that apply to one request, in contract order; `Unlimited` ones are left out.
#[derive(Debug)]
pub(super) struct Plan<'a> {
    tiers: [Option<Tier<'a>>; MAX_TIERS],
}

/// One limited tier of one request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tier<'a> {
    pub(super) level: ThrottleLevel,
    pub(super) policy: &'a Policy,
    pub(super) quota: Quota,
    pub(super) rate: Rate,
    /// `stopOnQuotaReach` of the policy (it covers the policy's burst too).
    pub(super) stop: bool,
    pub(super) key: TierKey<'a>,
}

/// Whose counter a tier uses. The level is part of the key too, so the burst and the
/// subscription counters of one subscription are distinct.
#[derive(Debug, Clone, Copy, Hash)]
pub(super) enum TierKey<'a> {
    Api {
        api: &'a str,
    },
    Resource {
        api: &'a str,
        resource: &'a str,
    },
    /// An accepted client certificate: per Api and accepting entry.
    Certificate {
        api: &'a str,
        alias: &'a str,
    },
    Subscription {
        subscription: &'a str,
    },
    /// `secured: false` operations: the caller is its client IP, per API.
    Anonymous {
        api: &'a str,
        ip: IpAddr,
    },
    Application {
        application: &'a str,
        subject: &'a str,
    },
}

// === impl Plan ===

impl<'a> Plan<'a> {
    /// Resolves the tiers in order: api-level (the API's policy, else the operation's), the
    /// accepted client certificate's burst and `policy`, subscription burst, subscription,
    /// application (client.md's order, with the certificate right after the api-level tier: it
    /// is checked first when authenticating and is shared by every credential sent with it).
    /// Without a certificate, subscription or application (key managers that skip subscription
    /// validation), those tiers do not apply.
    pub(super) fn new(data: &'a Enforcement, access: &Access<'a>, principal: Option<&'a Principal>) -> Self {
        let policies = Policies(data);
        let (certificate_burst, certificate) = match principal.and_then(|principal| principal.certificate.as_ref()) {
            Some(accepted) => policies.certificate(accepted),
            None => (None, None),
        };
        let (burst, subscription) = match caller(access, principal) {
            Some((name, key)) => policies.subscription(name, key, SUBSCRIPTION_LEVELS),
            None => (None, None),
        };
        let application = principal.and_then(|principal| {
            let app = principal.application.as_deref()?;
            let key = TierKey::Application { application: &app.id, subject: &principal.subject };
            policies.tier(ThrottleLevel::Application, PolicyKind::Application, &app.policy, key)
        });
        Plan { tiers: [api_level(&policies, access), certificate_burst, certificate, burst, subscription, application] }
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Tier<'a>> {
        self.tiers.iter().flatten()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.tiers.iter().all(Option::is_none)
    }
}

// === impl TierKey ===

impl TierKey<'_> {
    /// The key's slot in the limiter's table: a seeded 64-bit hash of the level and the key.
    /// Two keys merge only on a full 64-bit collision under a per-process random seed.
    pub(super) fn hash(self, level: ThrottleLevel, hasher: &impl BuildHasher) -> u64 {
        hasher.hash_one((level, self))
    }

    /// The Redis key shared by all replicas: `tollgate:rl:<level>:<parts>`. Free-form parts are
    /// length-prefixed (`<len>.<text>`), so two different keys never share a name.
    pub(super) fn redis_name(self, level: ThrottleLevel) -> String {
        let mut name = format!("tollgate:rl:{}", level.as_str());
        let mut part = |text: &str| {
            let _ = write!(name, ":{}.{text}", text.len());
        };
        match self {
            TierKey::Api { api } => part(api),
            TierKey::Resource { api, resource } => [api, resource].into_iter().for_each(part),
            TierKey::Certificate { api, alias } => [api, alias].into_iter().for_each(part),
            TierKey::Subscription { subscription } => part(subscription),
            TierKey::Anonymous { api, ip } => [api, &ip.to_string()].into_iter().for_each(part),
            TierKey::Application { application, subject } => [application, subject].into_iter().for_each(part),
        }
        name
    }
}

/// The caller's subscription policy name and key: `Unauthenticated` per client IP for
/// `secured: false` operations, else the principal's subscription.
fn caller<'a>(access: &Access<'a>, principal: Option<&'a Principal>) -> Option<(&'a str, TierKey<'a>)> {
    if !access.operation.secured {
        return Some((Policy::UNAUTHENTICATED, TierKey::Anonymous { api: &access.api.id, ip: access.client_ip }));
    }
    let subscription = principal?.subscription.as_deref()?;
    Some((&subscription.policy, TierKey::Subscription { subscription: &subscription.id }))
}

fn api_level<'a>(policies: &Policies<'a>, access: &Access<'a>) -> Option<Tier<'a>> {
    let (api, operation) = (access.api, access.operation);
    if let Some(name) = &api.throttling_policy {
        return policies.tier(ThrottleLevel::Api, PolicyKind::Api, name, TierKey::Api { api: &api.id });
    }
    let name = operation.throttling_policy.as_deref()?;
    let key = TierKey::Resource { api: &api.id, resource: &operation.resource };
    policies.tier(ThrottleLevel::Resource, PolicyKind::Api, name, key)
}

/// Policy look-ups of one snapshot.
struct Policies<'a>(&'a Enforcement);

impl<'a> Policies<'a> {
    fn get(&self, kind: PolicyKind, name: &str) -> Option<&'a Policy> {
        let policy = self.0.policies.get(kind, name).map(|policy| &**policy);
        if policy.is_none() {
            // The adapter rejects unknown references; treat a stray one as Unlimited.
            tracing::debug!(kind = kind.as_str(), name, "unknown rate-limit policy, treated as Unlimited");
        }
        policy
    }

    fn tier(&self, level: ThrottleLevel, kind: PolicyKind, name: &str, key: TierKey<'a>) -> Option<Tier<'a>> {
        let policy = self.get(kind, name)?;
        Some(Tier::new(level, policy, policy.limit?, key))
    }

    /// The burst and the limit tiers of one subscription policy, at `(burst, limit)` levels.
    /// `Unlimited` (no limit, no burst) gives neither: no key is hashed or tracked for it.
    fn subscription(
        &self,
        name: &str,
        key: TierKey<'a>,
        (burst_level, limit_level): (ThrottleLevel, ThrottleLevel),
    ) -> (Option<Tier<'a>>, Option<Tier<'a>>) {
        let Some(policy) = self.get(PolicyKind::Subscription, name) else { return (None, None) };
        let burst = policy.burst.map(|quota| Tier::new(burst_level, policy, quota, key));
        let limit = policy.limit.map(|quota| Tier::new(limit_level, policy, quota, key));
        (burst, limit)
    }

    /// The tiers of an accepted client certificate's `policy` (a subscription policy), counted
    /// per Api and alias.
    fn certificate(&self, accepted: &'a AcceptedCertificate) -> (Option<Tier<'a>>, Option<Tier<'a>>) {
        let key = TierKey::Certificate { api: &accepted.api, alias: &accepted.alias };
        self.subscription(&accepted.policy, key, CERTIFICATE_LEVELS)
    }
}

impl<'a> Tier<'a> {
    fn new(level: ThrottleLevel, policy: &'a Policy, quota: Quota, key: TierKey<'a>) -> Self {
        Tier { level, policy, quota, rate: Rate::new(quota), stop: policy.stop_on_quota_reach, key }
    }
}
