//! Gateway replicas sharing counts through a real redis-server (`[rate_limit] backend =
//! "redis"`): the sum over replicas stays within the contract's bound plus 5 %, a Redis outage
//! causes no 5xx, and sharing resumes when Redis comes back on the same port.

use std::time::Duration;

use tokio::time::Instant;

use tollgate_tests::redis::RedisServer;
use tollgate_tests::{GatewayProcess, eventually};

use super::bound::contract_bound;
use super::fixture::{Fixture, ITEMS, policy};
use super::traffic::{Caller, Tally, Traffic, sum};
use crate::support::gateway;

/// Where replicas heartbeat (crates/enforcer/src/ratelimit/redis_sync.rs).
const REPLICAS_KEY: &str = "tollgate:rl:replicas";
const ERRORS: &str = "tollgate_rate_limit_redis_errors_total";

#[tokio::test]
async fn replicas_sharing_redis_admit_within_the_contract_bound_plus_5_percent() {
    // 50 per 10 s: long enough for the documented error bound with two replicas and d = 100 ms.
    const N: u32 = 50;
    const W: Duration = Duration::from_secs(10);
    let (fx, redis) = (Fixture::start().await, RedisServer::start().await);
    let yaml = fx.shop().app("app-1", "Unlimited", "Fifty").policy(policy("subscription", "Fifty", N, 10)).yaml();
    let replicas = start_replicas(&redis, &yaml, 2).await;
    wait_until_replicas_see_each_other(&redis, 2).await;

    let token = fx.token("app-1");
    let callers =
        replicas.iter().flat_map(|gw| [0, 1].map(|_| Caller::new(gw.client(), ITEMS, Some(&token)))).collect();
    let (tallies, elapsed) = Traffic::start(callers, Duration::from_millis(10), W).finish(false).await;
    let per_replica: Vec<Tally> = tallies.chunks(2).map(sum).collect();
    let tally = sum(&tallies);
    let (lower, upper) = contract_bound(N, W, elapsed);
    let (admitted, upper) = (tally.admitted() as f64, upper * 1.05);
    let shares: Vec<u64> = per_replica.iter().map(Tally::admitted).collect();
    eprintln!("replicas: {N} per {W:?} over {elapsed:?}: admitted {admitted} {shares:?} in [{lower:.1}, {upper:.1}]");
    assert_eq!(tally.unexpected(), 0, "only 200 and well-formed 429: {tally:?}");
    for gw in &replicas {
        assert_eq!(gw.metric(ERRORS).await, Some(0.0), "the sync failed during the measurement");
    }
    assert!(per_replica.iter().all(|t| t.admitted() > 0 && t.status(429) > 0), "traffic to every replica: {tally:?}");
    assert!(admitted <= upper, "sum over replicas {admitted} > 1.05·(k+1)·N = {upper:.1}: {shares:?}");
    assert!(admitted >= lower, "sum over replicas {admitted} < 0.95·k·N = {lower:.1}: {shares:?}");
}

#[tokio::test]
async fn a_redis_outage_causes_no_5xx_and_sharing_resumes_when_redis_returns() {
    const N: u32 = 40;
    let (fx, mut redis) = (Fixture::start().await, RedisServer::start().await);
    let yaml = fx
        .shop()
        .app("app-1", "Unlimited", "Forty")
        .app("app-2", "Unlimited", "Forty")
        .policy(policy("subscription", "Forty", N, 60))
        .yaml();
    let replicas = start_replicas(&redis, &yaml, 2).await;
    wait_until_replicas_see_each_other(&redis, 2).await;

    // Traffic to both replicas before, during and after the outage.
    let token = fx.token("app-1");
    let callers = replicas.iter().map(|gw| Caller::new(gw.client(), ITEMS, Some(&token))).collect();
    let traffic = Traffic::start(callers, Duration::from_millis(10), Duration::from_secs(60));
    assert!(eventually(Duration::from_secs(5), async || traffic.sent() >= 20).await);
    redis.stop();
    for gw in &replicas {
        let failing = eventually(Duration::from_secs(5), async || gw.metric(ERRORS).await.unwrap_or(0.0) > 0.0).await;
        assert!(failing, "the sync never noticed that Redis is gone");
    }
    let during = traffic.sent();
    assert!(eventually(Duration::from_secs(5), async || traffic.sent() >= during + 20).await);
    redis.restart().await;
    wait_until_replicas_see_each_other(&redis, 2).await;
    let (tallies, elapsed) = traffic.finish(true).await;
    let tally = sum(&tallies);
    eprintln!("outage: {elapsed:?} of traffic, {tally:?}");
    assert_eq!(tally.unexpected(), 0, "no 5xx or transport error while Redis was away: {tally:?}");
    assert!(tally.admitted() > 0 && tally.status(429) > 0, "{tally:?}");
    // Without Redis each replica still enforces the whole policy by itself.
    let (_, local) = contract_bound(N, Duration::from_secs(60), elapsed);
    for (replica, tally) in tallies.iter().enumerate() {
        assert!(tally.admitted() as f64 <= local, "replica {replica} admitted {} > {local:.1}", tally.admitted());
    }

    // The sync runs again: rounds succeed and the error counts stop growing.
    let errors = error_counts(&replicas).await;
    wait_until_replicas_see_each_other(&redis, 2).await;
    assert_eq!(error_counts(&replicas).await, errors, "sync rounds still failing after Redis returned");

    // Shared limiting works again, on a fresh key: what one replica spends, the other sees.
    // Both together stay within the bound plus the documented error (N / 10 here); without
    // sharing, replica 1 would admit another N.
    let started = Instant::now();
    let (spent, other) = spend_then_probe(&replicas, &fx.token("app-2"), N).await;
    let (_, upper) = contract_bound(N, Duration::from_secs(60), started.elapsed());
    let limit = upper.floor() + f64::from(N / 10);
    eprintln!("after the outage: replica 0 admitted {spent}, then replica 1 {other}; at most {limit} in all");
    assert!((spent + other) as f64 <= limit, "replica 1 did not see replica 0's {spent}: it admitted {other}");
}

async fn start_replicas(redis: &RedisServer, yaml: &str, count: usize) -> Vec<GatewayProcess> {
    let config = format!("[rate_limit]\nbackend = \"redis\"\nredis_url = \"{}\"\n", redis.url());
    let mut replicas = Vec::new();
    for _ in 0..count {
        replicas.push(gateway().api_file("shop.yaml", yaml).config(&config).start().await);
    }
    replicas
}

/// Waits until `count` replicas heartbeat in Redis and each has since finished a sync round
/// (so each knows the others are live and holds back to its share). A round's heartbeat score
/// is Redis's clock when the round ran; a score after every replica was seen is such a round.
async fn wait_until_replicas_see_each_other(redis: &RedisServer, count: i64) {
    let zcard = async || redis.integer(&["ZCARD", REPLICAS_KEY]).await == Ok(count);
    let live = eventually(Duration::from_secs(10), zcard).await;
    assert!(live, "{count} replicas never heartbeat in Redis");
    let seen_at = redis.time_micros().await.unwrap();
    let synced = eventually(Duration::from_secs(5), async || {
        let Ok(answer) = redis.command(&["ZRANGE", REPLICAS_KEY, "0", "-1", "WITHSCORES"]).await else { return false };
        let scores: Vec<f64> = answer.strings().iter().skip(1).step_by(2).filter_map(|s| s.parse().ok()).collect();
        scores.len() == usize::try_from(count).unwrap_or(0) && scores.iter().all(|&score| score > seen_at as f64)
    })
    .await;
    assert!(synced, "the replicas did not sync after seeing each other");
}

async fn error_counts(replicas: &[GatewayProcess]) -> Vec<f64> {
    let mut counts = Vec::new();
    for gw in replicas {
        counts.push(gw.metric(ERRORS).await.unwrap_or(-1.0));
    }
    counts
}

/// Replica 0 spends `n` admissions of `token`'s subscription (held to its share per round, so
/// this takes a few rounds), then replica 1 asks for a second; returns both admission counts.
async fn spend_then_probe(replicas: &[GatewayProcess], token: &str, n: u32) -> (u64, u64) {
    let mut first = Caller::new(replicas[0].client(), ITEMS, Some(token));
    let mut spent = 0;
    let done = eventually(Duration::from_secs(15), async || {
        spent += u64::from(first.send().await.unwrap().status == 200);
        spent >= u64::from(n)
    })
    .await;
    assert!(done, "replica 0 admitted only {spent} of {n}");
    let probe = vec![Caller::new(replicas[1].client(), ITEMS, Some(token))];
    let (tallies, _) = Traffic::start(probe, Duration::from_millis(10), Duration::from_secs(1)).finish(false).await;
    let tally = sum(&tallies);
    assert_eq!(tally.unexpected(), 0, "{tally:?}");
    (spent, tally.admitted())
}
