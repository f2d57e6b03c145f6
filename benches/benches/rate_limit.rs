//! The rate-limit check with all four tiers active (api, burst, subscription, application),
//! beside a naive baseline: a `Mutex<HashMap<String, _>>` fixed-window counter per tier with
//! a formatted key, the way a first version often looks.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tollgate_enforcer::Presented;
use tollgate_enforcer::clock::SystemClock;
use tollgate_enforcer::model::{Application, KeyType, Policy, PolicyKind, Quota, Subscription, SubscriptionStatus};
use tollgate_enforcer::ratelimit::{RateLimitBackend, RateLimitSettings, RateLimiter};
use tollgate_enforcer::{
    Access, ApiGuard, Enforcement, EnforcerMetrics, KeyTypes, OperationGuard, Policies, Principal,
};

/// Callers in the "many callers" case: distinct subscriptions, applications and subjects.
const CALLERS: usize = 1_000;
/// Quotas no bench run can exhaust: every check admits and charges every tier.
const HUGE: u32 = 4_000_000_000;

struct Fixture {
    data: Enforcement,
    api: ApiGuard,
    operation: OperationGuard,
    callers: Vec<Principal>,
}

fn checks(c: &mut Criterion) {
    let fixture = Fixture::new("A", "S", "P");
    let local = limiter(RateLimitBackend::Local);
    // The Redis hot path without a Redis: the sync task is not started, so this measures only
    // what the backend adds to a check (the per-key pending count).
    let redis = limiter(RateLimitBackend::Redis { url: "redis://127.0.0.1:1/".into() });
    assert!(fixture.check(&local, 0), "the fixture must admit");

    c.bench_function("rate_limit/check_4_tiers/one_caller", |b| b.iter(|| fixture.check(&local, black_box(0))));
    let mut next = 0;
    c.bench_function("rate_limit/check_4_tiers/1k_callers", |b| {
        b.iter(|| {
            next = (next + 1) % CALLERS;
            fixture.check(&local, black_box(next))
        });
    });
    c.bench_function("rate_limit/check_4_tiers/redis_backend", |b| b.iter(|| fixture.check(&redis, black_box(0))));

    let unlimited = Fixture::new(Policy::UNLIMITED, Policy::UNLIMITED, Policy::UNLIMITED);
    c.bench_function("rate_limit/check_unlimited", |b| b.iter(|| unlimited.check(&local, black_box(0))));

    let baseline = NaiveLimiter::default();
    c.bench_function("naive_mutex_hashmap/check_4_tiers/one_caller", |b| {
        b.iter(|| baseline.check(&fixture, black_box(0)));
    });
    c.bench_function("naive_mutex_hashmap/check_4_tiers/1k_callers", |b| {
        b.iter(|| {
            next = (next + 1) % CALLERS;
            baseline.check(&fixture, black_box(next))
        });
    });
}

/// Both cores checking at once, each over its half of the callers (they share the api tier):
/// time per check, from wall time over all checks.
fn contended(c: &mut Criterion) {
    let fixture = Fixture::new("A", "S", "P");
    let local = limiter(RateLimitBackend::Local);
    let baseline = NaiveLimiter::default();
    c.bench_function("rate_limit/check_4_tiers/2_threads", |b| {
        b.iter_custom(|iters| on_two_threads(iters, |caller| fixture.check(&local, caller)));
    });
    c.bench_function("naive_mutex_hashmap/check_4_tiers/2_threads", |b| {
        b.iter_custom(|iters| on_two_threads(iters, |caller| baseline.check(&fixture, caller)));
    });
}

fn on_two_threads(iters: u64, check: impl Fn(usize) -> bool + Sync) -> Duration {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for half in 0..2 {
            let check = &check;
            scope.spawn(move || {
                for i in 0..iters.div_ceil(2) {
                    black_box(check(half * CALLERS / 2 + i as usize % (CALLERS / 2)));
                }
            });
        }
    });
    started.elapsed()
}

fn limiter(backend: RateLimitBackend) -> RateLimiter {
    let settings = RateLimitSettings { backend, ..RateLimitSettings::default() };
    let metrics = EnforcerMetrics::unregistered().unwrap_or_else(|e| panic!("metrics: {e}"));
    RateLimiter::new(settings, SystemClock::shared(), metrics)
}

// === impl Fixture ===

impl Fixture {
    /// One API with an api policy, a subscription policy with a burst, an application policy.
    fn new(api: &str, subscription: &str, application: &str) -> Self {
        let per_second = |count| Quota { count, period: Duration::from_secs(1) };
        let huge = NonZeroU32::new(HUGE).unwrap_or(NonZeroU32::MAX);
        let mut gold = Policy::limited(PolicyKind::Subscription, "S", HUGE, Duration::from_secs(60));
        gold.burst = Some(per_second(huge));
        let policies = [
            Policy::limited(PolicyKind::Api, "A", HUGE, Duration::from_secs(60)),
            gold,
            Policy::limited(PolicyKind::Application, "P", HUGE, Duration::from_secs(60)),
        ];
        Fixture {
            data: Enforcement { policies: Arc::new(Policies::new(policies.map(Arc::new))), ..Enforcement::default() },
            api: ApiGuard {
                id: "api-bench".into(),
                name: "Bench".into(),
                version: "1.0.0".into(),
                blocked: false,
                throttling_policy: Some(api.into()),
                schemes: Default::default(),
                base_paths: Box::new([]),
                client_certificates: Default::default(),
            },
            operation: OperationGuard {
                secured: true,
                scopes: Box::new([]),
                throttling_policy: None,
                resource: "GET /items/{id}".into(),
            },
            callers: (0..CALLERS).map(|i| caller(i, subscription, application)).collect(),
        }
    }

    fn access(&self) -> Access<'_> {
        Access {
            api: &self.api,
            operation: &self.operation,
            presented: Presented::default(),
            client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            endpoints: KeyTypes::BOTH,
        }
    }

    fn check(&self, limiter: &RateLimiter, caller: usize) -> bool {
        limiter.check(&self.data, &self.access(), Some(&self.callers[caller])).is_ok()
    }
}

fn caller(i: usize, subscription: &str, application: &str) -> Principal {
    let app = Application {
        id: format!("app-{i}").into(),
        name: "App".into(),
        owner: "owner".into(),
        policy: application.into(),
        attributes: BTreeMap::new(),
        id_header: None,
        name_header: None,
    };
    let sub = Subscription {
        id: format!("sub-{i}").into(),
        api_id: "api-bench".into(),
        application_id: app.id.clone(),
        policy: subscription.into(),
        status: SubscriptionStatus::Unblocked,
    };
    Principal {
        subject: format!("user-{i}@example.com").into(),
        key_type: KeyType::Production,
        application: Some(Arc::new(app)),
        subscription: Some(Arc::new(sub)),
        key_manager: "km".into(),
        credential: None,
        certificate: None,
    }
}

/// The baseline: fixed one-second windows counted in one `Mutex<HashMap>` per tier, keyed by
/// a formatted string.
#[derive(Default)]
struct NaiveLimiter {
    tiers: [Mutex<HashMap<String, (Instant, u64)>>; 4],
}

impl NaiveLimiter {
    fn check(&self, fixture: &Fixture, caller: usize) -> bool {
        let principal = &fixture.callers[caller];
        let (Some(sub), Some(app)) = (&principal.subscription, &principal.application) else { return false };
        let keys = [
            format!("api:{}", fixture.api.id),
            format!("burst:{}", sub.id),
            format!("sub:{}", sub.id),
            format!("app:{}:{}", app.id, principal.subject),
        ];
        let now = Instant::now();
        self.tiers.iter().zip(keys).all(|(tier, key)| {
            let mut counters = tier.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let (start, count) = counters.entry(key).or_insert((now, 0));
            if now.duration_since(*start) >= Duration::from_secs(1) {
                (*start, *count) = (now, 0);
            }
            *count += 1;
            *count <= u64::from(HUGE)
        })
    }
}

criterion_group!(benches, checks, contended);
criterion_main!(benches);
