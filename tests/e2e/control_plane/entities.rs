//! Every entity event takes effect on the request path, and bad entities are rejected alone.

use serde_json::{Value, json};
use tollgate_tests::control_plane::ControlPlane;
use tollgate_tests::{Client, Issuer, SigningKey, Upstream, empty, eventually};

use super::{SOON, answers, api, broken_api, config, start};

/// `GET path` with a bearer token: (status, error code).
async fn call(client: &Client, path: &str, token: &str) -> (u16, String) {
    let request = client.request("GET", path).header("authorization", format!("Bearer {token}")).body(empty()).unwrap();
    let reply = client.send(request).await.unwrap();
    (reply.status.as_u16(), if reply.status == 200 { String::new() } else { reply.code() })
}

async fn becomes(client: &Client, token: &str, expected: (u16, &str)) -> bool {
    eventually(SOON, async || {
        let (status, code) = call(client, "/pets/v1/items", token).await;
        (status, code.as_str()) == expected
    })
    .await
}

fn secured_api(upstream: &Upstream) -> Value {
    json!({"id": "pets", "name": "Pets", "version": "v1", "context": "/pets",
        "endpoints": {"production": {"urls": [upstream.url()]}},
        "operations": [{"target": "/items", "verb": "GET"}]})
}

#[tokio::test]
async fn application_key_mapping_subscription_policy_key_manager_and_revocation_events_take_effect() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let plane = ControlPlane::start().await;
    plane.deploy(secured_api(&up));
    let gw = start(&plane, "").await;
    let client = gw.client();
    let token = |jti: &str| key.sign(&issuer.claims(json!({"azp": "ck-1", "jti": jti})));
    let (first, second) = (token("jti-1"), token("jti-2"));
    assert!(becomes(&client, &first, (401, "900901")).await, "no key manager knows the issuer yet");

    plane.publish(
        "KEY_MANAGER_UPSERTED",
        json!({"name": "km", "issuer": issuer.issuer(), "jwksUrl": issuer.jwks_url()}),
    );
    assert!(becomes(&client, &first, (403, "900908")).await, "a known issuer, but no key mapping");
    plane.publish("APPLICATION_UPSERTED", json!({"id": "app-1", "name": "App"}));
    let mapping = json!({"applicationId": "app-1", "consumerKey": "ck-1", "keyType": "PRODUCTION", "keyManager": "km"});
    plane.publish("KEY_MAPPING_UPSERTED", mapping);
    let subscription = json!({"id": "s-1", "apiId": "pets", "applicationId": "app-1", "status": "UNBLOCKED"});
    plane.publish("SUBSCRIPTION_UPSERTED", subscription.clone());
    assert!(becomes(&client, &first, (200, "")).await, "application, key mapping and subscription apply");

    plane.publish("TOKEN_REVOKED", json!({"jti": "jti-1", "expiresAt": tollgate_tests::now() + 3600}));
    assert!(becomes(&client, &first, (401, "900901")).await, "the revoked token is refused");
    assert_eq!(call(&client, "/pets/v1/items", &second).await.0, 200, "another token of the application passes");

    let tiny = json!({"kind": "subscription", "name": "OnePerMinute", "limit": {"requestCount": 1, "unitTime": 1, "timeUnit": "min"}});
    plane.publish("POLICY_UPSERTED", tiny);
    plane.publish("SUBSCRIPTION_UPSERTED", with(&subscription, "policy", "OnePerMinute"));
    assert!(becomes(&client, &second, (429, "900804")).await, "the new policy limits the subscription");

    plane.publish("SUBSCRIPTION_UPSERTED", with(&subscription, "status", "BLOCKED"));
    assert!(becomes(&client, &second, (401, "900907")).await, "the blocked subscription is refused");
    plane.publish("SUBSCRIPTION_DELETED", json!({"id": "s-1"}));
    assert!(becomes(&client, &second, (403, "900908")).await, "no subscription any more");
    plane.publish("KEY_MANAGER_DELETED", json!({"name": "km"}));
    assert!(becomes(&client, &second, (401, "900901")).await, "the issuer is unknown again");
    assert!(config(&gw).await["sync"]["rejected"].as_array().is_some_and(Vec::is_empty));
}

/// `entity` with `field` set to `value`.
fn with(entity: &Value, field: &str, value: &str) -> Value {
    let mut changed = entity.clone();
    changed[field] = json!(value);
    changed
}

#[tokio::test]
async fn a_broken_api_is_rejected_alone_in_a_snapshot_and_in_an_event() {
    let up = Upstream::start("up").await;
    let plane = ControlPlane::start().await;
    plane.deploy(api("good", &up));
    plane.deploy(broken_api("broken-v1"));
    let gw = start(&plane, "").await;
    let client = gw.client();
    assert!(answers(&client, "/good/v1/", 200).await, "the rest of the snapshot applies");
    assert_eq!(gw.metric("tollgate_config_revision").await, Some(plane.revision() as f64), "the revision advances");

    plane.deploy(broken_api("broken-v2"));
    let revision = plane.deploy(api("later", &up));
    assert!(answers(&client, "/later/v1/", 200).await, "the event after the broken one applies");
    let shown = config(&gw).await;
    assert_eq!(shown["revision"], json!(revision));
    let rejected: Vec<&str> =
        shown["sync"]["rejected"].as_array().unwrap().iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(rejected, ["broken-v1", "broken-v2"], "{shown}");
    assert!(shown["sync"]["rejected"][0]["error"].as_str().unwrap().contains("context"), "{shown}");
    assert_eq!(gw.metric_sum("tollgate_config_rejected_total", &[("entity", "api")]).await, 2.0);
    let logs = gw.logs().stderr_text();
    assert!(logs.contains("configuration rejected") && logs.contains("broken-v2"), "{logs}");
    let report = plane.status_matching(SOON, |report| report["revision"] == json!(revision)).await.unwrap();
    let reported: Vec<&str> = report["rejected"].as_array().unwrap().iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(reported, ["broken-v1", "broken-v2"], "{report}");
    assert_eq!(report["rejected"][0]["entity"], "api");
}
