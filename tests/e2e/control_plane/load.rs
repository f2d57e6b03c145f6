//! Atomic swaps under load: requests keep succeeding while deployments stream in.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tollgate_tests::control_plane::ControlPlane;
use tollgate_tests::{Upstream, empty};

use super::{answers, api, start, status};

const CONNECTIONS: usize = 4;
const REQUESTS_PER_CONNECTION: usize = 1_250;
const DEPLOYMENTS: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_request_fails_while_100_apis_are_deployed() {
    let up = Upstream::start("up").await;
    let plane = Arc::new(ControlPlane::start().await);
    // Unsecured requests share the `Unauthenticated` tier per client IP (500/min built in).
    let unlimited = serde_json::json!({"kind": "subscription", "name": "Unauthenticated",
        "limit": {"requestCount": 1_000_000, "unitTime": 1, "timeUnit": "sec"}});
    plane.publish("POLICY_UPSERTED", unlimited);
    plane.deploy(api("steady", &up));
    let gw = start(&plane, "").await;
    let client = gw.client();
    assert!(answers(&client, "/steady/v1/", 200).await);

    let deploying = Arc::new(AtomicBool::new(true));
    let deployer = {
        let (plane, deploying, url) = (plane.clone(), deploying.clone(), up.url());
        tokio::spawn(async move {
            for i in 0..DEPLOYMENTS {
                plane.deploy(
                    serde_json::json!({"id": format!("other-{i}"), "name": format!("other-{i}"), "version": "v1",
                    "context": format!("/other-{i}"), "endpoints": {"production": {"urls": [url]}},
                    "operations": [{"target": "/*", "verb": "*", "secured": false}]}),
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            deploying.store(false, Ordering::SeqCst);
        })
    };
    let loads: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, deploying) = (client.clone(), deploying.clone());
            tokio::spawn(async move {
                let mut conn = client.connect().await.unwrap();
                let (mut failures, mut sent) = (Vec::new(), 0);
                // At least the bound, and on until every deployment is out, so the load
                // spans all of them.
                while sent < REQUESTS_PER_CONNECTION
                    || (deploying.load(Ordering::SeqCst) && sent < 10 * REQUESTS_PER_CONNECTION)
                {
                    sent += 1;
                    let request = client.request("GET", "/steady/v1/items").body(empty()).unwrap();
                    match conn.send(request).await {
                        Ok(reply) if reply.status == 200 => {}
                        Ok(reply) => failures.push(format!("{} {}", reply.status, reply.text())),
                        Err(error) => failures.push(error),
                    }
                }
                (sent, failures)
            })
        })
        .collect();
    let (mut failures, mut sent) = (Vec::new(), 0);
    for load in loads {
        let (count, failed) = load.await.unwrap();
        sent += count;
        failures.extend(failed);
    }
    assert!(!deploying.load(Ordering::SeqCst), "the load ended before the deployments");
    deployer.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    eprintln!("{sent} requests on {CONNECTIONS} connections, none failed, while {DEPLOYMENTS} APIs were deployed");
    let last = format!("/other-{}/v1/", DEPLOYMENTS - 1);
    assert!(answers(&client, &last, 200).await, "every deployment applied");
    for i in (0..DEPLOYMENTS).step_by(9) {
        assert_eq!(status(&client, &format!("/other-{i}/v1/")).await, 200, "other-{i}");
    }
}
