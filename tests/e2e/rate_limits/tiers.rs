//! Each tier rejects with its own code and headers, in client.md's order, and is counted in
//! `tollgate_throttled_total{level}`. Windows of a minute: nothing refills while a test runs.

use tollgate_tests::eventually;

use super::fixture::{
    API, Fixture, ITEMS, OTHER, VERSION, admitted, assert_throttled, burst, extended, get, parse_ratelimit, policy,
    quota_headers, throttled_total,
};
use crate::support::gateway;

#[tokio::test]
async fn the_api_tier_is_shared_by_all_callers_and_rejects_with_900800() {
    let fx = Fixture::start().await;
    let yaml = fx
        .shop()
        .api_policy("ApiFour")
        .app("app-1", "Unlimited", "SubTwo")
        .app("app-2", "Unlimited", "Unlimited")
        .policy(policy("api", "ApiFour", 4, 60))
        .policy(policy("subscription", "SubTwo", 2, 60))
        .yaml();
    let gw = gateway().api_file("shop.yaml", &yaml).start().await;
    let (client, one, two) = (gw.client(), fx.token("app-1"), fx.token("app-2"));
    for _ in 0..2 {
        let reply = admitted(get(&client, ITEMS, &one).await);
        assert_eq!(quota_headers(&reply), (None, None), "headers are off: only 429s carry them");
    }
    // app-1's subscription refuses its third request: the api tier's charge is given back...
    assert_throttled(&get(&client, ITEMS, &one).await, "subscription", "900804", 2, 60);
    // ...so another application still finds two of the API's four requests, then 900800.
    for _ in 0..2 {
        admitted(get(&client, OTHER, &two).await);
    }
    assert_throttled(&get(&client, ITEMS, &two).await, "api", "900800", 4, 60);
    // The api tier comes first in the order.
    assert_throttled(&get(&client, ITEMS, &one).await, "api", "900800", 4, 60);
    assert_counted(&gw, &[("api", 2.0), ("subscription", 1.0), ("resource", 0.0), ("application", 0.0)]).await;
}

#[tokio::test]
async fn an_operation_policy_limits_its_resource_only_when_the_api_has_none() {
    let fx = Fixture::start().await;
    let yaml = fx
        .shop()
        .resource_policy("/items", "ResThree")
        .resource_policy("/other", "ResThree")
        .app("app-1", "Unlimited", "Unlimited")
        .policy(policy("api", "ResThree", 3, 60))
        .policy(policy("api", "ApiHundred", 100, 60))
        .yaml();
    // Mall has both: its own policy applies, the operation's is not used.
    let mall = concat!(
        "apis:\n  - id: mall\n    name: Mall\n    version: \"1\"\n    context: /mall\n",
        "    throttlingPolicy: ApiHundred\n    endpoints:\n      production:\n        urls: [\"URL\"]\n",
        "    operations:\n      - {target: /items, verb: GET, secured: false, throttlingPolicy: ResThree}\n",
    )
    .replace("URL", &fx.upstream.url());
    let gw = gateway().api_file("shop.yaml", &yaml).api_file("mall.yaml", &mall).start().await;
    let (client, token) = (gw.client(), fx.token("app-1"));
    for _ in 0..3 {
        admitted(get(&client, ITEMS, &token).await);
    }
    assert_throttled(&get(&client, ITEMS, &token).await, "resource", "900802", 3, 60);
    // Each resource has its own counter under the same policy.
    for _ in 0..3 {
        admitted(get(&client, OTHER, &token).await);
    }
    assert_throttled(&get(&client, OTHER, &token).await, "resource", "900802", 3, 60);
    for _ in 0..5 {
        assert_eq!(client.get("/mall/1/items").await.status, 200, "Mall's operation policy must not apply");
    }
    assert_counted(&gw, &[("resource", 2.0), ("api", 0.0), ("subscription", 0.0)]).await;
    assert_eq!(gw.metric_sum("tollgate_throttled_total", &[("api", "Mall")]).await, 0.0);
}

#[tokio::test]
async fn subscription_burst_and_quota_reject_with_900804_naming_their_tier() {
    let fx = Fixture::start().await;
    let spiky = extended(&policy("subscription", "Spiky", 5, 60), &burst(2, 60));
    let steady = extended(&policy("subscription", "Steady", 3, 60), &burst(10, 60));
    let yaml = fx
        .shop()
        .app("app-1", "Unlimited", "Spiky")
        .app("app-2", "Unlimited", "Steady")
        .policy(spiky)
        .policy(steady)
        .yaml();
    let gw = gateway().api_file("shop.yaml", &yaml).start().await;
    let (client, spiky, steady) = (gw.client(), fx.token("app-1"), fx.token("app-2"));
    for _ in 0..2 {
        admitted(get(&client, ITEMS, &spiky).await);
    }
    assert_throttled(&get(&client, ITEMS, &spiky).await, "burst", "900804", 2, 60);
    for _ in 0..3 {
        admitted(get(&client, ITEMS, &steady).await);
    }
    assert_throttled(&get(&client, OTHER, &steady).await, "subscription", "900804", 3, 60);
    assert_throttled(&get(&client, ITEMS, &steady).await, "subscription", "900804", 3, 60);
    assert_counted(&gw, &[("burst", 1.0), ("subscription", 2.0), ("api", 0.0), ("application", 0.0)]).await;
}

#[tokio::test]
async fn the_application_tier_counts_per_application_and_subject_with_900803() {
    let fx = Fixture::start().await;
    let yaml = fx.shop().app("app-1", "AppThree", "Unlimited").policy(policy("application", "AppThree", 3, 60)).yaml();
    let gw = gateway().api_file("shop.yaml", &yaml).start().await;
    let client = gw.client();
    let (alice, bob) = (fx.token_for("app-1", "alice"), fx.token_for("app-1", "bob"));
    for _ in 0..3 {
        admitted(get(&client, ITEMS, &alice).await);
    }
    let (retry_after, reset) = assert_throttled(&get(&client, OTHER, &alice).await, "application", "900803", 3, 60);
    assert!(retry_after <= 20 && reset >= 59, "one request per 20 s, whole quota in 60 s: {retry_after}, {reset}");
    // Another subject of the same application has its own counter.
    for _ in 0..3 {
        admitted(get(&client, ITEMS, &bob).await);
    }
    assert_throttled(&get(&client, ITEMS, &bob).await, "application", "900803", 3, 60);
    assert_counted(&gw, &[("application", 2.0), ("subscription", 0.0), ("api", 0.0)]).await;
}

#[tokio::test]
async fn with_headers_on_admitted_responses_show_the_most_constrained_tier() {
    let fx = Fixture::start().await;
    let yaml = fx
        .shop()
        .app("app-1", "AppFive", "SubThree")
        .app("app-2", "AppTwo", "SubThree")
        .app("app-3", "Unlimited", "Unlimited")
        .policy(policy("application", "AppFive", 5, 60))
        .policy(policy("application", "AppTwo", 2, 60))
        .policy(policy("subscription", "SubThree", 3, 60))
        .yaml();
    let gw = gateway().api_file("shop.yaml", &yaml).config("[rate_limit]\nheaders = true\n").start().await;
    let client = gw.client();
    // app-1: the subscription (3) is tighter than the application (5).
    let one = fx.token("app-1");
    for (spent, remaining) in [(1, 2), (2, 1), (3, 0)] {
        let reply = admitted(get(&client, ITEMS, &one).await);
        assert_quota(&reply, "subscription", 3, remaining, 20 * spent);
    }
    assert_throttled(&get(&client, ITEMS, &one).await, "subscription", "900804", 3, 60);
    // app-2: the application (2 per minute, 30 s each) runs out first.
    let two = fx.token("app-2");
    for (spent, remaining) in [(1, 1), (2, 0)] {
        let reply = admitted(get(&client, ITEMS, &two).await);
        assert_quota(&reply, "application", 2, remaining, 30 * spent);
    }
    assert_throttled(&get(&client, ITEMS, &two).await, "application", "900803", 2, 60);
    // No limited tier: no headers.
    let reply = admitted(get(&client, ITEMS, &fx.token("app-3")).await);
    assert_eq!(quota_headers(&reply), (None, None));
}

/// `RateLimit-Policy: "<level>";q=<quota>;w=60` and `RateLimit: "<level>";r=<remaining>;t=<t>`
/// with `t` the whole quota's refill time (`reset`, less the seconds the test took).
fn assert_quota(reply: &tollgate_tests::Reply, level: &str, quota: u32, remaining: u32, reset: u64) {
    let (policy, current) = quota_headers(reply);
    assert_eq!(policy, Some(format!("\"{level}\";q={quota};w=60").as_str()), "{:?}", reply.headers);
    let parsed = current.and_then(parse_ratelimit);
    let Some((shown, left, t)) = parsed else { panic!("RateLimit: {:?}", reply.headers) };
    assert_eq!((shown.as_str(), left), (level, remaining), "{:?}", reply.headers);
    assert!((reset.saturating_sub(2)..=reset).contains(&t), "t={t}, expected about {reset}: {:?}", reply.headers);
}

/// `tollgate_throttled_total{api="Shop",version="1",level}` equals each expected count.
async fn assert_counted(gw: &tollgate_tests::GatewayProcess, expected: &[(&str, f64)]) {
    let mut seen = Vec::new();
    let counted = eventually(std::time::Duration::from_secs(5), async || {
        seen.clear();
        for (level, _) in expected {
            seen.push(throttled_total(gw, API, VERSION, level).await);
        }
        seen.iter().zip(expected).all(|(seen, (_, want))| seen == want)
    })
    .await;
    assert!(counted, "tollgate_throttled_total: expected {expected:?}, saw {seen:?}");
}
