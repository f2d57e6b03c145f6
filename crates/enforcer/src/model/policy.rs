use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Which tier a policy belongs to; the same name may exist once per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyKind {
    Subscription,
    Application,
    Api,
}

/// A policy is identified by its kind and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyName {
    pub kind: PolicyKind,
    pub name: Arc<str>,
}

/// `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    pub count: NonZeroU32,
    pub period: Duration,
}

/// A rate-limit policy. `limit: None` is `Unlimited`: the tier is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: PolicyName,
    pub limit: Option<Quota>,
    /// Spike arrest; only subscription policies have one.
    pub burst: Option<Quota>,
    /// `false`: requests are counted but never rejected.
    pub stop_on_quota_reach: bool,
}

// === impl PolicyKind ===

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Subscription => "subscription",
            PolicyKind::Application => "application",
            PolicyKind::Api => "api",
        }
    }
}

// === impl Policy ===

impl Policy {
    pub const UNLIMITED: &'static str = "Unlimited";
    pub const UNAUTHENTICATED: &'static str = "Unauthenticated";

    /// A policy that admits `count` requests per `period`, stopping on quota, no burst.
    pub fn limited(kind: PolicyKind, name: &str, count: u32, period: Duration) -> Self {
        Policy {
            id: PolicyName { kind, name: name.into() },
            limit: NonZeroU32::new(count).map(|count| Quota { count, period }),
            burst: None,
            stop_on_quota_reach: true,
        }
    }

    pub fn unlimited(kind: PolicyKind) -> Self {
        Policy {
            id: PolicyName { kind, name: Self::UNLIMITED.into() },
            limit: None,
            burst: None,
            stop_on_quota_reach: true,
        }
    }
}

/// The built-in policies of `model.md`; the snapshot may override any of them by (kind, name).
pub fn builtin_policies() -> Vec<Policy> {
    use PolicyKind::{Api, Application, Subscription};
    const MINUTE: Duration = Duration::from_secs(60);
    let mut policies: Vec<Policy> = [Subscription, Application, Api].into_iter().map(Policy::unlimited).collect();
    let limited = [
        (Subscription, "Bronze", 1000),
        (Subscription, "Silver", 2000),
        (Subscription, "Gold", 5000),
        (Subscription, Policy::UNAUTHENTICATED, 500),
        (Application, "10PerMin", 10),
        (Application, "20PerMin", 20),
        (Application, "50PerMin", 50),
        (Api, "10KPerMin", 10_000),
        (Api, "20KPerMin", 20_000),
        (Api, "50KPerMin", 50_000),
    ];
    policies.extend(limited.into_iter().map(|(kind, name, count)| Policy::limited(kind, name, count, MINUTE)));
    policies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_cover_the_contract_list() {
        let builtins = builtin_policies();
        let find = |kind, name: &str| builtins.iter().find(|p| p.id.kind == kind && &*p.id.name == name);
        assert!(find(PolicyKind::Api, "Unlimited").is_some_and(|p| p.limit.is_none()));
        let gold = find(PolicyKind::Subscription, "Gold").and_then(|p| p.limit);
        assert_eq!(gold.map(|q| (q.count.get(), q.period)), Some((5000, Duration::from_secs(60))));
        assert!(find(PolicyKind::Application, "50PerMin").is_some());
        assert!(find(PolicyKind::Api, "Gold").is_none());
        assert_eq!(builtins.len(), 13);
    }
}
