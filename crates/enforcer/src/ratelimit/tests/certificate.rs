//! The certificate tiers: an accepted client certificate's `policy` (and its burst), per Api
//! and alias, alone or alongside a subscription; their place in the order; `Unlimited` free.

use super::*;
use crate::client_cert::{AcceptedCertificate, Fingerprint};

fn accepted(api: &str, alias: &str, policy: &str) -> AcceptedCertificate {
    AcceptedCertificate {
        api: api.into(),
        alias: alias.into(),
        policy: policy.into(),
        fingerprint: Fingerprint([7; 32]),
        not_after: u64::MAX,
    }
}

/// A principal admitted with a token of subscription policy `subscription` and a certificate
/// accepted as `alias` with `policy`.
fn with_certificate(subscription: &str, alias: &str, policy: &str) -> Principal {
    principal(subscription, Policy::UNLIMITED, "alice").with_certificate(accepted("api-1", alias, policy))
}

/// A principal admitted by its certificate alone.
fn certificate_only(alias: &str, policy: &str) -> Principal {
    Principal { subscription: None, application: None, ..with_certificate(Policy::UNLIMITED, alias, policy) }
}

#[test]
fn a_certificates_policy_limits_requests_admitted_with_a_token_too() {
    let mut world = World::new([policy(PolicyKind::Subscription, "ThreePerMin", 3, MINUTE)]);
    world.principal = with_certificate(Policy::UNLIMITED, "partner", "ThreePerMin");
    assert_eq!(world.burst(5), 3);
    assert_eq!(refused_level(world.check()), (ThrottleLevel::Certificate, "900804"));
    let other = with_certificate(Policy::UNLIMITED, "other", "ThreePerMin");
    assert!(world.check_as(&other).is_ok(), "another alias has its own counter");
    world.api.id = "api-2".into();
    let elsewhere = principal(Policy::UNLIMITED, Policy::UNLIMITED, "alice").with_certificate(accepted(
        "api-2",
        "partner",
        "ThreePerMin",
    ));
    assert!(world.check_as(&elsewhere).is_ok(), "the same alias on another Api has its own counter");
}

#[test]
fn a_certificate_alone_is_limited_by_the_certificate_tier() {
    let mut world = World::new([policy(PolicyKind::Subscription, "TwoPerMin", 2, MINUTE)]);
    world.principal = certificate_only("partner", "TwoPerMin");
    assert_eq!(world.burst(3), 2);
    let throttled = refused(world.check());
    assert_eq!((throttled.level, throttled.level.code()), (ThrottleLevel::Certificate, "900804"));
    let [_, (_, policy), (_, current)] = throttled.headers();
    assert_eq!(policy, "\"certificate\";q=2;w=60", "RateLimit-Policy names the certificate tier");
    assert!(current.to_str().is_ok_and(|value| value.starts_with("\"certificate\";r=0;")));
}

#[test]
fn the_certificate_tiers_come_after_the_api_tier_and_before_the_subscription() {
    let tight = with_burst(policy(PolicyKind::Subscription, "Tight", 100, MINUTE), 1, Duration::from_secs(1));
    let mut world =
        World::new([policy(PolicyKind::Api, "A", 1, MINUTE), tight, policy(PolicyKind::Subscription, "S", 1, MINUTE)]);
    world.principal = with_certificate("S", "partner", "Tight");
    world.api.throttling_policy = Some("A".into());
    assert!(world.check().is_ok());
    assert_eq!(refused_level(world.check()).0, ThrottleLevel::Api, "every tier is spent: the api tier reports");
    world.api.throttling_policy = None;
    assert_eq!(refused_level(world.check()), (ThrottleLevel::CertificateBurst, "900804"));
    world.advance(Duration::from_secs(1));
    assert_eq!(refused_level(world.check()).0, ThrottleLevel::Subscription, "the burst refilled");
}

#[test]
fn a_certificate_tier_refusal_charges_no_subscription() {
    let mut world = World::new([
        policy(PolicyKind::Subscription, "One", 1, MINUTE),
        policy(PolicyKind::Subscription, "S", 2, MINUTE),
    ]);
    world.principal = with_certificate("S", "partner", "One");
    assert!(world.check().is_ok());
    assert_eq!(refused_level(world.check()).0, ThrottleLevel::Certificate);
    let without = principal("S", Policy::UNLIMITED, "alice");
    assert!(world.check_as(&without).is_ok(), "the refused request left the subscription's second request");
    assert_eq!(refused_level(world.check_as(&without)).0, ThrottleLevel::Subscription);
}

#[test]
fn an_unlimited_certificate_policy_costs_no_tier_and_no_key() {
    let mut world = World::new([]);
    world.principal = with_certificate(Policy::UNLIMITED, "partner", Policy::UNLIMITED);
    assert_eq!(world.burst(1_000), 1_000);
    assert_eq!(world.limiter.tracked_keys(), 0, "no counter was made for an Unlimited certificate");
    world.principal = certificate_only("partner", Policy::UNLIMITED);
    assert_eq!(world.burst(1_000), 1_000);
    assert_eq!(world.limiter.tracked_keys(), 0);
}

#[test]
fn with_redis_the_certificate_tier_is_shared_under_its_own_name() {
    let backend = RateLimitBackend::Redis { url: "redis://127.0.0.1:1/".into() };
    let mut world = World::with_settings(
        [policy(PolicyKind::Subscription, "S", 1000, MINUTE)],
        RateLimitSettings { backend, ..RateLimitSettings::default() },
    );
    world.principal = certificate_only("partner", "S");
    assert_eq!(world.burst(10), 10);
    let shared = world.limiter.shared();
    let replication = shared.replication.as_ref().unwrap_or_else(|| panic!("Redis backend"));
    let receiver = replication.take_receiver().unwrap_or_else(|| panic!("receiver"));
    let pushed = replication.collect(&shared.table, &receiver);
    let names: Vec<_> = pushed.iter().map(|push| push.name.to_string()).collect();
    assert_eq!(names, ["tollgate:rl:certificate:5.api-1:7.partner"]);
    assert_eq!(pushed[0].pending, 10, "the sync pushes what this replica admitted");
}
