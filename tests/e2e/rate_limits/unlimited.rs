//! Policies that do not refuse: `Unlimited` skips its tier altogether; `stopOnQuotaReach: false`
//! counts (the headers show the quota spent) but never rejects, its burst included.

use std::time::Duration;

use super::fixture::{
    API, Fixture, ITEMS, VERSION, admitted, assert_throttled, burst, extended, get, parse_ratelimit, policy,
};
use super::traffic::{Caller, Traffic, sum};
use crate::support::gateway;

#[tokio::test]
async fn unlimited_policies_skip_their_tiers() {
    let fx = Fixture::start().await;
    // The Api's policy is `Unlimited`, so the operation's policy is not used either.
    let yaml = fx
        .shop()
        .api_policy("Unlimited")
        .resource_policy("/items", "ResThree")
        .app("app-1", "Unlimited", "Unlimited")
        .app("app-2", "Unlimited", "SubThree")
        .policy(policy("api", "ResThree", 3, 60))
        .policy(policy("subscription", "SubThree", 3, 60))
        .yaml();
    let gw = gateway().api_file("shop.yaml", &yaml).config("[rate_limit]\nheaders = true\n").start().await;
    let token = fx.token("app-1");
    let mut caller = Caller::new(gw.client(), ITEMS, Some(&token));
    for _ in 0..40 {
        let reply = admitted(caller.send().await.unwrap());
        assert!(reply.header("ratelimit").is_none() && reply.header("ratelimit-policy").is_none(), "{reply:?}");
    }
    // Limits are enforced in this very gateway: a limited subscription meets its quota.
    let (client, limited) = (gw.client(), fx.token("app-2"));
    for _ in 0..3 {
        admitted(get(&client, ITEMS, &limited).await);
    }
    assert_throttled(&get(&client, ITEMS, &limited).await, "subscription", "900804", 3, 60);
    assert_eq!(gw.metric_sum("tollgate_throttled_total", &[("api", API), ("version", VERSION)]).await, 1.0);
}

#[tokio::test]
async fn stop_on_quota_reach_false_counts_but_never_rejects() {
    let fx = Fixture::start().await;
    let soft = extended(&policy("subscription", "Soft", 3, 60), "stopOnQuotaReach: false");
    let soft_burst = extended(&policy("subscription", "SoftBurst", 50, 60), "stopOnQuotaReach: false");
    let soft_burst = extended(&soft_burst, &burst(2, 60));
    let yaml = fx
        .shop()
        .app("app-1", "Unlimited", "Soft")
        .app("app-2", "Unlimited", "SoftBurst")
        .policy(soft)
        .policy(soft_burst)
        .yaml();
    let gw = gateway().api_file("shop.yaml", &yaml).config("[rate_limit]\nheaders = true\n").start().await;
    for (app, level, quota) in [("app-1", "subscription", 3), ("app-2", "burst", 2)] {
        let token = fx.token(app);
        let mut caller = Caller::new(gw.client(), ITEMS, Some(&token));
        let mut shown = Vec::new();
        for _ in 0..12 {
            let reply = admitted(caller.send().await.unwrap());
            let policy = reply.header("ratelimit-policy").unwrap_or_default().to_owned();
            assert_eq!(policy, format!("\"{level}\";q={quota};w=60"), "{app}: {reply:?}");
            let current = reply.header("ratelimit").and_then(parse_ratelimit);
            shown.push(current.unwrap_or_else(|| panic!("{app}: RateLimit {reply:?}")).1);
        }
        // Counted: the quota runs down to nothing and stays there, yet every request passes.
        let mut expected: Vec<u32> = (0..quota).rev().collect();
        expected.resize(12, 0);
        assert_eq!(shown, expected, "{app}: remaining quota per response");
    }
    // Continuous traffic far over both quotas: still nothing refused.
    let callers = ["app-1", "app-2"].map(|app| Caller::new(gw.client(), ITEMS, Some(&fx.token(app)))).into();
    let (tallies, _) =
        Traffic::start(callers, Duration::from_millis(5), Duration::from_millis(700)).finish(false).await;
    let tally = sum(&tallies);
    assert!(tally.admitted() > 20 && tally.admitted() == tally.total(), "{tally:?}");
    assert_eq!(gw.metric_sum("tollgate_throttled_total", &[("api", API)]).await, 0.0);
}
