//! Tier tests with a manual clock: which tier refuses first, keys, codes, headers, bounds,
//! policy changes, and the key cap under a million keys.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::clock::ManualClock;
use crate::enforcement::{Enforcement, Policies};
use crate::enforcer::{Access, KeyTypes};
use crate::guard::{ApiGuard, OperationGuard};
use crate::metrics::EnforcerMetrics;
use crate::model::{Application, KeyType, Policy, PolicyKind, Quota, Subscription, SubscriptionStatus};
use crate::presented::Presented;
use crate::principal::Principal;
use crate::rejection::Rejection;

mod certificate;

const MINUTE: Duration = Duration::from_secs(60);

/// One API with one operation, a caller, and a limiter on a manual clock.
struct World {
    clock: Arc<ManualClock>,
    limiter: RateLimiter,
    data: Enforcement,
    api: ApiGuard,
    operation: OperationGuard,
    principal: Principal,
    ip: IpAddr,
}

type Outcome = Result<Option<QuotaStatus>, Rejection>;

fn policy(kind: PolicyKind, name: &str, count: u32, period: Duration) -> Policy {
    Policy::limited(kind, name, count, period)
}

fn with_burst(mut policy: Policy, count: u32, period: Duration) -> Policy {
    policy.burst = NonZeroU32::new(count).map(|count| Quota { count, period });
    policy
}

fn principal(subscription_policy: &str, application_policy: &str, subject: &str) -> Principal {
    let application = Application {
        id: "app-1".into(),
        name: "App".into(),
        owner: "alice".into(),
        policy: application_policy.into(),
        attributes: BTreeMap::new(),
        id_header: None,
        name_header: None,
    };
    let subscription = Subscription {
        id: "sub-1".into(),
        api_id: "api-1".into(),
        application_id: "app-1".into(),
        policy: subscription_policy.into(),
        status: SubscriptionStatus::Unblocked,
    };
    Principal {
        subject: subject.into(),
        key_type: KeyType::Production,
        application: Some(Arc::new(application)),
        subscription: Some(Arc::new(subscription)),
        key_manager: "km".into(),
        credential: None,
        certificate: None,
    }
}

impl World {
    fn new(policies: impl IntoIterator<Item = Policy>) -> Self {
        Self::with_settings(policies, RateLimitSettings::default())
    }

    fn with_settings(policies: impl IntoIterator<Item = Policy>, settings: RateLimitSettings) -> Self {
        let clock = ManualClock::at(1_700_000_000);
        let metrics = EnforcerMetrics::unregistered().unwrap_or_else(|e| panic!("metrics: {e}"));
        World {
            limiter: RateLimiter::new(settings, clock.clone(), metrics),
            clock,
            data: enforcement(policies),
            api: ApiGuard {
                id: "api-1".into(),
                name: "Pets".into(),
                version: "1.0.0".into(),
                blocked: false,
                throttling_policy: None,
                schemes: Default::default(),
                base_paths: Box::new([]),
                client_certificates: Default::default(),
            },
            operation: OperationGuard {
                secured: true,
                scopes: Box::new([]),
                throttling_policy: None,
                resource: "GET /pets".into(),
            },
            principal: principal(Policy::UNLIMITED, Policy::UNLIMITED, "alice"),
            ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        }
    }

    fn check(&self) -> Outcome {
        self.check_as(&self.principal)
    }

    fn check_as(&self, principal: &Principal) -> Outcome {
        let principal = self.operation.secured.then_some(principal);
        self.limiter.check(&self.data, &self.access(), principal)
    }

    fn access(&self) -> Access<'_> {
        Access {
            api: &self.api,
            operation: &self.operation,
            presented: Presented::default(),
            client_ip: self.ip,
            endpoints: KeyTypes::BOTH,
        }
    }

    /// Checks `n` times at the same instant; returns how many were admitted.
    fn burst(&self, n: usize) -> usize {
        (0..n).filter(|_| self.check().is_ok()).count()
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

fn enforcement(policies: impl IntoIterator<Item = Policy>) -> Enforcement {
    Enforcement { policies: Arc::new(Policies::new(policies.into_iter().map(Arc::new))), ..Enforcement::default() }
}

fn refused(outcome: Outcome) -> Throttled {
    match outcome {
        Err(Rejection::RateLimited(throttled)) => *throttled,
        other => panic!("expected a 429, got {other:?}"),
    }
}

fn refused_level(outcome: Outcome) -> (ThrottleLevel, &'static str) {
    let throttled = refused(outcome);
    (throttled.level, throttled.level.code())
}

#[test]
fn the_api_tier_refuses_first_with_900800() {
    let mut world = World::new([
        policy(PolicyKind::Api, "A", 1, MINUTE),
        policy(PolicyKind::Subscription, "S", 1, MINUTE),
        policy(PolicyKind::Application, "P", 1, MINUTE),
    ]);
    world.api.throttling_policy = Some("A".into());
    world.operation.throttling_policy = Some("10KPerMin".into());
    world.principal = principal("S", "P", "alice");
    assert!(world.check().is_ok());
    assert_eq!(refused_level(world.check()), (ThrottleLevel::Api, "900800"));
}

#[test]
fn the_operation_policy_applies_per_resource_only_without_an_api_policy() {
    let mut world = World::new([policy(PolicyKind::Api, "R", 2, MINUTE)]);
    world.operation.throttling_policy = Some("R".into());
    assert_eq!(world.burst(3), 2);
    assert_eq!(refused_level(world.check()), (ThrottleLevel::Resource, "900802"));
    world.operation.resource = "POST /pets".into();
    assert_eq!(world.burst(3), 2, "another resource has its own counter");
    world.api.throttling_policy = Some(Policy::UNLIMITED.into());
    assert_eq!(world.burst(100), 100, "an API policy replaces the operation's");
}

#[test]
fn the_burst_tier_refuses_before_the_subscription_tier() {
    let gold = with_burst(policy(PolicyKind::Subscription, "Gold", 100, MINUTE), 5, Duration::from_secs(1));
    let mut world = World::new([gold]);
    world.principal = principal("Gold", Policy::UNLIMITED, "alice");
    assert_eq!(world.burst(10), 5);
    assert_eq!(refused_level(world.check()), (ThrottleLevel::Burst, "900804"));
    world.advance(Duration::from_secs(1));
    assert_eq!(world.burst(10), 5, "spike arrest refills per second");
}

#[test]
fn the_subscription_tier_counts_per_subscription() {
    let mut world = World::new([policy(PolicyKind::Subscription, "S", 3, MINUTE)]);
    world.principal = principal("S", Policy::UNLIMITED, "alice");
    assert_eq!(world.burst(5), 3);
    assert_eq!(refused_level(world.check()), (ThrottleLevel::Subscription, "900804"));
    let other = principal("S", Policy::UNLIMITED, "bob");
    assert!(world.check_as(&other).is_err(), "another subject of the same subscription shares it");
    let mut second = principal("S", Policy::UNLIMITED, "alice");
    if let Some(subscription) = &mut second.subscription {
        Arc::make_mut(subscription).id = "sub-2".into();
    }
    assert!(world.check_as(&second).is_ok(), "another subscription has its own counter");
}

#[test]
fn the_application_tier_counts_per_application_and_subject() {
    let mut world = World::new([policy(PolicyKind::Application, "P", 2, MINUTE)]);
    world.principal = principal(Policy::UNLIMITED, "P", "alice");
    assert_eq!(world.burst(3), 2);
    assert_eq!(refused_level(world.check()), (ThrottleLevel::Application, "900803"));
    let bob = principal(Policy::UNLIMITED, "P", "bob");
    assert!(world.check_as(&bob).is_ok(), "each subject has its own counter");
    world.api.id = "api-2".into();
    assert!(world.check().is_err(), "the application tier spans APIs");
}

#[test]
fn unlimited_and_unknown_policies_skip_their_tier() {
    let mut world = World::new([]);
    world.api.throttling_policy = Some(Policy::UNLIMITED.into());
    world.principal = principal("NoSuchPolicy", Policy::UNLIMITED, "alice");
    assert_eq!(world.burst(10_000), 10_000);
    assert_eq!(world.limiter.tracked_keys(), 0, "skipped tiers keep no state");
}

#[test]
fn stop_on_quota_reach_false_counts_but_never_refuses() {
    let mut soft = policy(PolicyKind::Subscription, "Soft", 2, MINUTE);
    soft.stop_on_quota_reach = false;
    let settings = RateLimitSettings { headers: true, ..RateLimitSettings::default() };
    let mut world = World::with_settings([soft], settings);
    world.principal = principal("Soft", Policy::UNLIMITED, "alice");
    let remaining: Vec<u32> = (0..4).filter_map(|_| world.check().ok().flatten()).map(|s| s.remaining).collect();
    assert_eq!(remaining, [1, 0, 0, 0]);
}

#[test]
fn unauthenticated_operations_are_limited_per_client_ip() {
    let mut world = World::new([]);
    world.operation.secured = false;
    assert_eq!(world.burst(600), 500, "the built-in Unauthenticated policy: 500/min");
    assert_eq!(refused_level(world.check()), (ThrottleLevel::Subscription, "900804"));
    world.ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert_eq!(world.burst(1), 1, "another client IP has its own counter");
    world.ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    world.api.id = "api-2".into();
    assert_eq!(world.burst(1), 1, "and so has the same IP on another API");
}

#[test]
fn a_request_refused_by_a_later_tier_costs_the_earlier_tiers_nothing() {
    let mut world =
        World::new([policy(PolicyKind::Api, "A", 3, MINUTE), policy(PolicyKind::Application, "P", 1, MINUTE)]);
    world.api.throttling_policy = Some("A".into());
    world.principal = principal(Policy::UNLIMITED, "P", "alice");
    assert_eq!(world.burst(10), 1, "alice: one, then the application tier refuses");
    let bob = principal(Policy::UNLIMITED, "P", "bob");
    let carol = principal(Policy::UNLIMITED, "P", "carol");
    assert!(world.check_as(&bob).is_ok() && world.check_as(&carol).is_ok(), "the api tier was not charged");
    let dave = principal(Policy::UNLIMITED, "P", "dave");
    assert_eq!(refused_level(world.check_as(&dave)).0, ThrottleLevel::Api);
}

#[test]
fn a_policy_change_keeps_the_counters() {
    let mut world = World::new([
        policy(PolicyKind::Subscription, "Gold", 2, MINUTE),
        policy(PolicyKind::Application, "P", 10, MINUTE),
    ]);
    world.principal = principal("Gold", "P", "alice");
    assert_eq!(world.burst(3), 2);
    // A new snapshot doubles Gold: the spent window stays spent (2 of 2 = 4 of 4).
    world.data = enforcement([
        policy(PolicyKind::Subscription, "Gold", 4, MINUTE),
        policy(PolicyKind::Application, "P", 10, MINUTE),
    ]);
    assert_eq!(refused_level(world.check()).0, ThrottleLevel::Subscription);
    // Other counters were not reset either: 2 of the application's 10 are spent.
    let unsubscribed = principal(Policy::UNLIMITED, "P", "alice");
    assert_eq!((0..10).filter(|_| world.check_as(&unsubscribed).is_ok()).count(), 8);
    world.advance(Duration::from_secs(15));
    assert_eq!(world.burst(3), 1, "the new rate refills one per 15 s");
}

#[test]
fn k_windows_from_idle_admit_between_095_kn_and_k_plus_one_n() {
    for k in 1..=4u32 {
        let mut world = World::new([policy(PolicyKind::Subscription, "S", 120, MINUTE)]);
        world.principal = principal("S", Policy::UNLIMITED, "alice");
        let step = Duration::from_millis(50);
        let mut admitted = 0;
        for _ in 0..(k * 60_000 / 50) {
            admitted += world.burst(5);
            world.advance(step);
        }
        let n = 120 * k as usize;
        assert!(admitted <= n + 120 && admitted * 100 >= 95 * n, "k={k}: {admitted} admitted");
    }
}

#[test]
fn headers_show_the_most_constrained_tier_when_enabled() {
    let policies = [policy(PolicyKind::Api, "A", 10, MINUTE), policy(PolicyKind::Application, "P", 3, MINUTE)];
    let settings = RateLimitSettings { headers: true, ..RateLimitSettings::default() };
    let mut world = World::with_settings(policies.clone(), settings);
    world.api.throttling_policy = Some("A".into());
    world.principal = principal(Policy::UNLIMITED, "P", "alice");
    let status = world.check().ok().flatten().unwrap_or_else(|| panic!("no status"));
    assert_eq!((status.level, status.remaining, status.limit), (ThrottleLevel::Application, 2, 3));
    let [(_, policy), (_, current)] = status.headers();
    assert_eq!(
        (policy.to_str().ok(), current.to_str().ok()),
        (Some("\"application\";q=3;w=60"), Some("\"application\";r=2;t=20"))
    );

    let mut quiet = World::new(policies);
    quiet.api.throttling_policy = Some("A".into());
    quiet.principal = principal(Policy::UNLIMITED, "P", "alice");
    assert_eq!(quiet.check(), Ok(None), "headers off: nothing to report");
}

#[test]
fn a_refusal_reports_its_tier_and_a_whole_second_retry_after() {
    let mut world =
        World::new([with_burst(policy(PolicyKind::Subscription, "S", 100, MINUTE), 10, Duration::from_secs(1))]);
    world.principal = principal("S", Policy::UNLIMITED, "alice");
    assert_eq!(world.burst(10), 10);
    let throttled = refused(world.check());
    assert_eq!(throttled.retry_after, Duration::from_millis(100));
    assert_eq!(throttled.retry_after_secs(), 1);
    assert_eq!((throttled.status.remaining, throttled.status.limit, &*throttled.status.policy), (0, 10, "S"));
    let [_, (_, policy), (_, current)] = throttled.headers();
    assert_eq!((policy.to_str().ok(), current.to_str().ok()), (Some("\"burst\";q=10;w=1"), Some("\"burst\";r=0;t=1")));
}

#[test]
fn secured_calls_without_subscription_data_meet_only_the_api_tier() {
    let mut world = World::new([policy(PolicyKind::Api, "A", 2, MINUTE)]);
    world.api.throttling_policy = Some("A".into());
    world.principal.application = None;
    world.principal.subscription = None;
    assert_eq!(world.burst(5), 2);
}

#[test]
fn a_million_distinct_keys_never_grow_the_table_past_its_cap() {
    const CAP: usize = 10_000;
    let settings = RateLimitSettings { max_keys: CAP, ..RateLimitSettings::default() };
    let mut world = World::with_settings([], settings);
    world.operation.secured = false;
    let first = IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96));
    world.ip = first;
    assert!(world.check().is_ok());

    // A flood of new client IPs at one instant (Unauthenticated: one key per IP).
    let mut admitted = 1;
    for i in 1..1_000_000u128 {
        world.ip = IpAddr::V6(Ipv6Addr::from((0x2001_0db8_u128 << 96) | i));
        admitted += usize::from(world.check().is_ok());
        if i % 50_000 == 0 {
            assert!(world.limiter.tracked_keys() <= CAP, "{} keys after {i}", world.limiter.tracked_keys());
        }
    }
    assert_eq!(admitted, 1_000_000, "keys beyond the cap pass untracked");
    let tracked = world.limiter.tracked_keys();
    assert!(tracked <= CAP && tracked > CAP * 9 / 10, "{tracked} keys tracked");
    let untracked = world.limiter.shared().metrics.untracked.get();
    assert_eq!(untracked as usize, 1_000_000 - tracked, "every untracked check is counted");

    // Tracked callers stay limited (the built-in Unauthenticated policy: 500/min).
    world.ip = first;
    assert_eq!(world.burst(600), 499);

    // Once their quota is whole again, keys hold nothing and go.
    world.advance(MINUTE);
    assert_eq!(world.limiter.prune(), 0);
    world.ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
    assert!(world.check().is_ok());
    assert_eq!(world.limiter.tracked_keys(), 1);
}

#[test]
fn full_shards_make_room_from_idle_keys_as_time_moves() {
    const CAP: usize = 2_048;
    let settings = RateLimitSettings { max_keys: CAP, ..RateLimitSettings::default() };
    let mut world = World::with_settings([], settings);
    world.operation.secured = false;
    // 10 new IPs per ms; each key is live for one interval (120 ms): ~1 200 live at a time.
    for i in 0..200_000u32 {
        world.ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i));
        assert!(world.check().is_ok());
        if i % 10 == 9 {
            world.advance(Duration::from_millis(1));
        }
    }
    assert!(world.limiter.tracked_keys() <= CAP);
    let untracked = world.limiter.shared().metrics.untracked.get();
    assert!(untracked < 200_000 / 100, "{untracked} of 200 000 checks untracked");
}

#[test]
fn with_redis_a_replica_spends_only_its_share_between_syncs() {
    let backend = RateLimitBackend::Redis { url: "redis://127.0.0.1:1/".into() };
    let mut world = World::with_settings(
        [policy(PolicyKind::Subscription, "S", 1000, MINUTE)],
        RateLimitSettings { backend, ..RateLimitSettings::default() },
    );
    world.principal = principal("S", Policy::UNLIMITED, "alice");
    assert_eq!(world.burst(100), 100, "no sync yet: local limits only");
    let shared = world.limiter.shared();
    let replication = shared.replication.as_ref().unwrap_or_else(|| panic!("Redis backend"));
    replication.mark_fresh(2, shared.now());
    let receiver = replication.take_receiver().unwrap_or_else(|| panic!("receiver"));
    replication.collect(&shared.table, &receiver);
    assert_eq!(world.burst(100), 50, "two replicas: 1000 / 20 per sync");
    let throttled = refused(world.check());
    assert_eq!(
        (throttled.level, throttled.retry_after_secs(), throttled.status.remaining),
        (ThrottleLevel::Subscription, 1, 0)
    );
    assert_eq!(replication.collect(&shared.table, &receiver)[0].pending, 50, "the sync pushes them");
    assert_eq!(world.burst(100), 50, "and the next share opens");
}
