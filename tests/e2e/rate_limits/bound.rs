//! The contract's bound (client.md, "Rate limits"): a policy of N per W, from idle, admits at
//! least 0.95·k·N and at most (k+1)·N in k·W. Callers keep asking for k windows; admissions
//! are checked against the bound computed from the interval actually measured.

use std::time::Duration;

use super::fixture::{API, Fixture, ITEMS, VERSION, throttled_total};
use super::traffic::{Caller, Traffic, sum};
use crate::support::gateway;

/// N requests per W.
const N: u32 = 10;
const W: Duration = Duration::from_secs(2);
const K: u32 = 3;

#[tokio::test]
async fn from_idle_a_policy_admits_within_the_contract_bound_over_k_windows() {
    let fx = Fixture::start().await;
    let yaml = fx
        .shop()
        .app("app-1", "Unlimited", "TenPerTwo")
        .policy(super::fixture::policy("subscription", "TenPerTwo", N, 2))
        .yaml();
    let gw = gateway().api_file("shop.yaml", &yaml).start().await;
    let token = fx.token("app-1");
    let callers = (0..2).map(|_| Caller::new(gw.client(), ITEMS, Some(&token))).collect();
    let (tallies, elapsed) = Traffic::start(callers, Duration::from_millis(5), W * K).finish(false).await;
    let tally = sum(&tallies);
    let (lower, upper) = contract_bound(N, W, elapsed);
    let admitted = tally.admitted() as f64;
    eprintln!(
        "bound: {N} per {W:?}, {:.3} windows ({elapsed:?}): admitted {admitted} of {} in [{lower:.1}, {upper:.1}]",
        elapsed.as_secs_f64() / W.as_secs_f64(),
        tally.total()
    );
    assert_eq!(tally.unexpected(), 0, "only 200 and well-formed 429: {tally:?}");
    assert!(admitted <= upper, "over the contract: {admitted} > (k+1)·N = {upper:.1}: {tally:?}");
    assert!(admitted >= lower, "under the contract: {admitted} < 0.95·k·N = {lower:.1}: {tally:?}");
    let policy = (String::from("900804"), format!("\"subscription\";q={N};w=2"));
    assert_eq!(tally.throttles.keys().collect::<Vec<_>>(), [&policy], "{tally:?}");
    let refused = tally.status(429) as f64;
    assert!(refused > 0.0, "the callers must ask faster than the policy allows: {tally:?}");
    assert_eq!(throttled_total(&gw, API, VERSION, "subscription").await, refused);
}

/// The contract's `(0.95·k·N, (k+1)·N)` for `k = elapsed / W`. Every decision of the gateway
/// falls inside the measured interval, so the upper bound holds as it is; the lower one is
/// computed over the whole interval too (stricter than the gateway's own decision span).
pub(super) fn contract_bound(n: u32, window: Duration, elapsed: Duration) -> (f64, f64) {
    let k = elapsed.as_secs_f64() / window.as_secs_f64();
    (0.95 * k * f64::from(n), (k + 1.0) * f64::from(n))
}
