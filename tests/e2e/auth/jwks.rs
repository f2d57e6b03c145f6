//! The JWKS cache seen from outside: rotation to a new `kid`, a flood of unknown `kid`s, and
//! an issuer that goes away; with `tollgate_jwks_fetches_total`.

use std::hash::{BuildHasher, RandomState};

use futures_util::future::join_all;
use serde_json::json;
use tollgate_tests::{GatewayProcess, Issuer, SigningKey, Upstream};

use super::catalog::{ApiSpec, Catalog, KM, KeyType};
use super::{assert_rejected, get, token};
use crate::support::gateway;

/// A gateway with `pets` (`GET /items`) for application `app` (consumer key `ck-app`) whose
/// tokens `issuer` signs.
async fn pets_gateway(issuer: &Issuer, up: &Upstream) -> GatewayProcess {
    let catalog = Catalog::new()
        .key_manager(issuer, "")
        .api(ApiSpec::new("pets", up).get("/items", &[]))
        .application("app", "ck-app", KeyType::Production)
        .subscription("pets", "app", "UNBLOCKED");
    gateway().api_file("a.yaml", &catalog.yaml()).start().await
}

async fn fetches(gw: &GatewayProcess, result: &str) -> f64 {
    gw.metric_sum("tollgate_jwks_fetches_total", &[("key_manager", KM), ("result", result)]).await
}

#[tokio::test]
async fn a_token_with_a_new_kid_passes_once_the_jwks_publishes_its_key() {
    let old = SigningKey::rsa("2024-old");
    let issuer = Issuer::start(vec![old.clone()]).await;
    let up = Upstream::start("up").await;
    let gw = pets_gateway(&issuer, &up).await;
    let client = gw.client();
    let claims = issuer.claims(json!({"azp": "ck-app"}));
    assert_eq!(get(&client, "/pets/1/items", Some(&old.sign(&claims))).await.status, 200);
    assert_eq!(issuer.fetches(), 1);

    let new = SigningKey::ec256("2025-new");
    issuer.publish(vec![old.clone(), new.clone()]);
    let reply = get(&client, "/pets/1/items", Some(&new.sign(&claims))).await;
    assert_eq!(reply.status, 200, "unknown kid → one refresh → found: {}", reply.text());
    assert_eq!(issuer.fetches(), 2, "exactly one refresh");
    assert_eq!(get(&client, "/pets/1/items", Some(&old.sign(&claims))).await.status, 200, "the old key still verifies");
    assert_eq!(
        get(&client, "/pets/1/items", Some(&new.sign(&issuer.claims(json!({"azp": "ck-app"}))))).await.status,
        200
    );
    assert_eq!((issuer.fetches(), fetches(&gw, "ok").await), (2, 2.0), "known keys cause no fetch");
}

#[tokio::test]
async fn a_flood_of_1000_random_kids_causes_at_most_two_jwks_fetches() {
    let key = SigningKey::ec256("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let gw = pets_gateway(&issuer, &up).await;
    let client = gw.client().http2();
    assert_eq!(get(&client, "/pets/1/items", Some(&token(&issuer, &key, json!({"azp": "ck-app"})))).await.status, 200);

    let claims = issuer.claims(json!({"azp": "ck-app"}));
    let random = RandomState::new();
    let tokens: Vec<String> =
        (0..1_000u32).map(|i| key.sign_as(Some(&format!("kid-{:016x}", random.hash_one(i))), &claims)).collect();
    // Ten HTTP/2 connections, each sending its share back to back, all at once.
    let rejected = join_all(tokens.chunks(100).map(|chunk| {
        let client = client.clone();
        async move {
            let mut conn = client.connect().await.unwrap();
            let mut statuses = Vec::new();
            for token in chunk {
                let request = client.request("GET", "/pets/1/items").header("authorization", format!("Bearer {token}"));
                let reply = conn.send(request.body(tollgate_tests::empty()).unwrap()).await.unwrap();
                statuses.push((reply.status.as_u16(), reply.code()));
            }
            statuses
        }
    }))
    .await;
    let rejected: Vec<_> = rejected.into_iter().flatten().collect();
    assert_eq!(rejected.len(), 1_000);
    assert!(rejected.iter().all(|answer| *answer == (401, "900901".into())), "every unknown kid is 401 900901");
    assert!(issuer.fetches() <= 2, "{} JWKS fetches for 1,000 unknown kids", issuer.fetches());
    assert_eq!(fetches(&gw, "ok").await, issuer.fetches() as f64, "every fetch is counted");
    let failures = gw.metric_sum("tollgate_auth_failures_total", &[("api", "pets"), ("code", "900901")]).await;
    assert_eq!(failures, 1_000.0);
    let reply = get(&client, "/pets/1/items", Some(&token(&issuer, &key, json!({"azp": "ck-app"})))).await;
    assert_eq!(reply.status, 200, "the genuine key still verifies: {}", reply.text());
}

#[tokio::test]
async fn cached_keys_keep_verifying_new_tokens_while_the_jwks_server_is_down() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let gw = pets_gateway(&issuer, &up).await;
    let client = gw.client();
    assert_eq!(get(&client, "/pets/1/items", Some(&token(&issuer, &key, json!({"azp": "ck-app"})))).await.status, 200);
    issuer.stop();
    issuer.fail(true); // a connection the gateway still keeps open now answers 500

    let unknown = key.sign_as(Some("k-unknown"), &issuer.claims(json!({"azp": "ck-app"})));
    assert_rejected(&get(&client, "/pets/1/items", Some(&unknown)).await, (401, "900901"), "unknown kid, JWKS down");
    assert_eq!(fetches(&gw, "error").await, 1.0, "the refresh failed and was counted");
    for sub in ["user-2", "user-3"] {
        let fresh = token(&issuer, &key, json!({"azp": "ck-app", "sub": sub}));
        let reply = get(&client, "/pets/1/items", Some(&fresh)).await;
        assert_eq!(reply.status, 200, "a new token signed by a cached key: {}", reply.text());
    }
    assert_eq!(fetches(&gw, "ok").await, 1.0);
}
