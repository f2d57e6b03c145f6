//! A policy edited in the file source while traffic runs applies without a restart, and keeps
//! every counter: the edited policy's own (the caller keeps the part of a window it spent) and
//! the other tiers' and callers'.

use std::time::Duration;

use tokio::time::Instant;
use tollgate_tests::eventually;

use super::fixture::{Fixture, ITEMS, admitted, assert_throttled, get, policy};
use super::traffic::{Caller, Traffic, sum};
use crate::support::gateway;

#[tokio::test]
async fn a_policy_change_applies_during_traffic_without_resetting_counters() {
    let fx = Fixture::start().await;
    let shop = |flex: u32| {
        fx.shop()
            .app("app-1", "AppTen", "Flex")
            .app("app-2", "Unlimited", "Other")
            .policy(policy("subscription", "Flex", flex, 60))
            .policy(policy("subscription", "Other", 3, 60))
            .policy(policy("application", "AppTen", 10, 60))
            .yaml()
    };
    let gw = gateway().api_file("shop.yaml", &shop(3)).start().await;
    let (client, one, two) = (gw.client(), fx.token("app-1"), fx.token("app-2"));
    let started = Instant::now();
    // Both subscriptions spend their 3 per minute; app-1's application tier has 7 of 10 left.
    for token in [&one, &two] {
        for _ in 0..3 {
            admitted(get(&client, ITEMS, token).await);
        }
        assert_throttled(&get(&client, ITEMS, token).await, "subscription", "900804", 3, 60);
    }
    // app-2 keeps calling while the file changes under the gateway.
    let background = Traffic::start(
        vec![Caller::new(gw.client(), ITEMS, Some(&two))],
        Duration::from_millis(20),
        Duration::from_secs(30),
    );
    replace(&gw.dir.join("apis"), "shop.yaml", &shop(600));

    // Flex now allows 600 per minute (one per 100 ms): app-1 is admitted again, no restart.
    let mut caller = Caller::new(gw.client(), ITEMS, Some(&one));
    let mut admitted_after = 0;
    let resumed = eventually(Duration::from_secs(10), async || {
        let reply = caller.send().await.unwrap();
        admitted_after += u32::from(reply.status == 200);
        admitted_after > 0
    })
    .await;
    assert!(resumed, "the raised policy did not apply");
    // Its application counter was kept: 7 more at most (plus one per 6 s of refill), not 10.
    let refused = loop {
        let reply = caller.send().await.unwrap();
        match reply.status.as_u16() {
            200 => admitted_after += 1,
            429 if reply.code() == "900804" => tokio::time::sleep(Duration::from_millis(20)).await,
            _ => break reply,
        }
        assert!(started.elapsed() < Duration::from_secs(20), "app-1 never met its application quota");
    };
    assert_throttled(&refused, "application", "900803", 10, 60);
    let refill = (started.elapsed().as_secs_f64() / 6.0).floor() as u32;
    eprintln!("policy change: app-1 admitted {admitted_after} after the change (7 left, refill {refill})");
    assert!((7..=7 + refill).contains(&admitted_after), "application counter reset? {admitted_after} admitted");

    // app-2's subscription counter was kept too: nothing but its 429 while the policy changed.
    let (tallies, _) = background.finish(true).await;
    let tally = sum(&tallies);
    let other = (String::from("900804"), String::from("\"subscription\";q=3;w=60"));
    assert!(tally.total() > 0 && tally.status(429) == tally.total(), "{tally:?}");
    assert_eq!(tally.throttles.keys().collect::<Vec<_>>(), [&other], "{tally:?}");
}

/// Replaces `dir/name` at once (write a dotfile, which the source ignores, then rename), so
/// the source never reads a half-written file.
fn replace(dir: &std::path::Path, name: &str, text: &str) {
    let temporary = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, dir.join(name)).unwrap();
}
