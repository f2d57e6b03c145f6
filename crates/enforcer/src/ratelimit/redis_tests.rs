//! The Redis backend against a real `redis-server` that each test starts on a free port.
//! These run on real time (Redis has its own clock); sleeps only pace requests and wait for
//! background rounds, and every bound asserted holds with margin.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::clock::SystemClock;
use crate::enforcement::{Enforcement, Policies};
use crate::enforcer::{Access, KeyTypes};
use crate::guard::{ApiGuard, OperationGuard};
use crate::metrics::EnforcerMetrics;
use crate::model::{Application, KeyType, Policy, PolicyKind, Subscription, SubscriptionStatus};
use crate::presented::Presented;
use crate::principal::Principal;

const REDIS_SERVER: &str = "/usr/bin/redis-server";
const SYNC: Duration = Duration::from_millis(20);

/// A `redis-server` child process, killed on drop.
struct RedisServer {
    child: Option<Child>,
    port: u16,
}

/// A subscription policy and the enforcement data around it.
struct Fixture {
    data: Enforcement,
    api: ApiGuard,
    operation: OperationGuard,
}

// === impl RedisServer ===

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
        Self::start_on(port.unwrap_or_else(|e| panic!("no free port: {e}")))
    }

    /// Starts on `port` and waits until it answers PING. Fails (never skips) without Redis.
    fn start_on(port: u16) -> Self {
        assert!(
            std::path::Path::new(REDIS_SERVER).exists(),
            "{REDIS_SERVER} is missing: install the `redis-server` package to run the Redis rate-limit tests"
        );
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {REDIS_SERVER}: {e}"));
        let server = RedisServer { child: Some(child), port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.answers_ping() {
            assert!(Instant::now() < deadline, "redis-server on port {port} did not answer PING within 10 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut answer = [0; 7];
        stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().map(Child::id).unwrap_or_else(|| panic!("redis-server not running"));
        let status = Command::new("kill").args([signal, &pid.to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill {signal} {pid} failed");
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

// === impl Fixture ===

impl Fixture {
    fn new(count: u32, period: Duration) -> Self {
        let policy = Policy::limited(PolicyKind::Subscription, "S", count, period);
        Fixture {
            data: Enforcement { policies: Arc::new(Policies::new([Arc::new(policy)])), ..Enforcement::default() },
            api: ApiGuard {
                id: "api-1".into(),
                name: "Pets".into(),
                version: "1".into(),
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
                resource: "GET /".into(),
            },
        }
    }

    fn check(&self, limiter: &RateLimiter, principal: &Principal) -> bool {
        let access = Access {
            api: &self.api,
            operation: &self.operation,
            presented: Presented::default(),
            client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            endpoints: KeyTypes::BOTH,
        };
        limiter.check(&self.data, &access, Some(principal)).is_ok()
    }

    /// Asks 1 000 times at once (the worst case from idle: every replica bursts before any
    /// sync), then every millisecond until `duration` is over; returns how many were admitted.
    async fn hammer(&self, limiter: &RateLimiter, principal: &Principal, duration: Duration) -> usize {
        let deadline = Instant::now() + duration;
        let mut admitted = (0..1_000).filter(|_| self.check(limiter, principal)).count();
        while Instant::now() < deadline {
            admitted += usize::from(self.check(limiter, principal));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        admitted
    }
}

impl Fixture {
    /// Hammers for 600 ms as `subscription`; returns how many were admitted.
    async fn spend(&self, limiter: &RateLimiter, subscription: &str) -> usize {
        self.hammer(limiter, &subscriber(subscription), Duration::from_millis(600)).await
    }
}

fn subscriber(subscription: &str) -> Principal {
    let subscription = Subscription {
        id: subscription.into(),
        api_id: "api-1".into(),
        application_id: "app-1".into(),
        policy: "S".into(),
        status: SubscriptionStatus::Unblocked,
    };
    let application = Application {
        id: "app-1".into(),
        name: "App".into(),
        owner: "o".into(),
        policy: Policy::UNLIMITED.into(),
        attributes: BTreeMap::new(),
        id_header: None,
        name_header: None,
    };
    Principal {
        subject: "alice".into(),
        key_type: KeyType::Production,
        application: Some(Arc::new(application)),
        subscription: Some(Arc::new(subscription)),
        key_manager: "km".into(),
        credential: None,
        certificate: None,
    }
}

fn replica(server: &RedisServer) -> RateLimiter {
    let settings = RateLimitSettings {
        backend: RateLimitBackend::Redis { url: server.url() },
        sync_interval: SYNC,
        redis_timeout: Duration::from_millis(100),
        ..RateLimitSettings::default()
    };
    let metrics = EnforcerMetrics::unregistered().unwrap_or_else(|e| panic!("metrics: {e}"));
    let limiter = RateLimiter::new(settings, SystemClock::shared(), metrics);
    assert_eq!(limiter.start().len(), 2, "pruning and sync tasks");
    limiter
}

fn is_synced(limiter: &RateLimiter) -> bool {
    let shared = limiter.shared();
    shared.replication.as_ref().is_some_and(|replication| replication.is_fresh(shared.now()))
}

fn redis_errors(limiter: &RateLimiter) -> u64 {
    limiter.shared().metrics.redis_errors.get()
}

async fn until(what: &str, within: Duration, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_sharing_redis_stay_within_the_bound_for_the_sum() {
    let server = RedisServer::start();
    let (a, b) = (replica(&server), replica(&server));
    until("both replicas sync", Duration::from_secs(5), || is_synced(&a) && is_synced(&b)).await;

    let (n, k) = (200u32, 3u32);
    let fixture = Arc::new(Fixture::new(n, Duration::from_secs(1)));
    let (a, b) = (Arc::new(a), Arc::new(b));
    let window = Duration::from_secs(u64::from(k));
    let run = |limiter: Arc<RateLimiter>| {
        let fixture = fixture.clone();
        tokio::spawn(async move { fixture.hammer(&limiter, &subscriber("sub-shared"), window).await })
    };
    let (from_a, from_b) = (run(a.clone()), run(b.clone()));
    let admitted = from_a.await.unwrap_or(0) + from_b.await.unwrap_or(0);

    let (n, k) = (f64::from(n), f64::from(k));
    let sum = admitted as f64;
    assert!(sum <= 1.05 * (k + 1.0) * n, "{admitted} admitted over two replicas > 1.05·(k+1)·N");
    assert!(sum >= 0.95 * k * n, "{admitted} admitted over two replicas < 0.95·k·N");
    assert_eq!(redis_errors(&a) + redis_errors(&b), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_bursts_on_two_replicas_stay_within_the_bound_for_the_sum() {
    // Without per-replica shares: A spends the quota at 0, the bucket refills, and just before
    // the window ends both replicas spend a full bucket unseen by the other: ~3·N in one W.
    let server = RedisServer::start();
    let (a, b) = (replica(&server), replica(&server));
    until("both replicas sync", Duration::from_secs(5), || is_synced(&a) && is_synced(&b)).await;
    let n = 200;
    let fixture = Arc::new(Fixture::new(n, Duration::from_secs(1)));
    let start = tokio::time::Instant::now();
    let burst = |limiter: Arc<RateLimiter>, at: Duration| {
        let fixture = fixture.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(start + at).await;
            (0..1_000).filter(|_| fixture.check(&limiter, &subscriber("sub-burst"))).count()
        })
    };
    let (a, b) = (Arc::new(a), Arc::new(b));
    let first = burst(a.clone(), Duration::ZERO).await.unwrap_or(0);
    let late = [burst(a.clone(), Duration::from_millis(950)), burst(b.clone(), Duration::from_millis(950))];
    let mut admitted = first;
    for task in late {
        admitted += task.await.unwrap_or(0);
    }
    assert!(start.elapsed() < Duration::from_secs(1), "the bursts ran late; the window is over");
    assert!(admitted as f64 <= 1.05 * 2.0 * f64::from(n), "{admitted} admitted in one window over two replicas");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_keeps_local_limits_and_sync_resumes_when_it_is_back() {
    let mut server = RedisServer::start();
    let (a, b) = (replica(&server), replica(&server));
    until("both replicas sync", Duration::from_secs(5), || is_synced(&a) && is_synced(&b)).await;
    let fixture = Fixture::new(100, Duration::from_secs(3600));
    let spent_by = |limiter, subscription| fixture.spend(limiter, subscription);

    // Shared: what A spends, B cannot spend again (beyond its per-round share).
    assert_eq!(spent_by(&a, "sub-1").await, 100);
    assert!(spent_by(&b, "sub-1").await <= 10, "B saw A's consumption");

    // Redis down: both keep answering at once with local limits, and errors are counted.
    server.stop();
    until("errors are counted", Duration::from_secs(5), || redis_errors(&a) > 0 && redis_errors(&b) > 0).await;
    let started = Instant::now();
    assert_eq!(spent_by(&a, "sub-2").await, 100);
    assert_eq!(spent_by(&b, "sub-2").await, 100, "local limits only: each replica its own quota");
    assert!(started.elapsed() < Duration::from_secs(3), "checks never wait on Redis");

    // Redis back on the same port: the sync resumes.
    let _server = RedisServer::start_on(server.port);
    until("both replicas sync again", Duration::from_secs(10), || is_synced(&a) && is_synced(&b)).await;
    assert_eq!(spent_by(&a, "sub-3").await, 100);
    assert!(spent_by(&b, "sub-3").await <= 10, "B sees A's consumption again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_never_slows_the_checks() {
    let server = RedisServer::start();
    let limiter = replica(&server);
    until("the replica syncs", Duration::from_secs(5), || is_synced(&limiter)).await;
    let fixture = Fixture::new(1_000_000, Duration::from_secs(1));

    server.signal("-STOP");
    let mut slowest = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        let started = Instant::now();
        assert!(fixture.check(&limiter, &subscriber("sub-1")));
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.signal("-CONT");
    assert!(slowest < Duration::from_millis(20), "a check took {slowest:?} while Redis hung");
    assert!(redis_errors(&limiter) > 0, "timeouts are counted");
    until("the replica syncs again", Duration::from_secs(10), || is_synced(&limiter)).await;
}
