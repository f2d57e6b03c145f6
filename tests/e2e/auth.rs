//! client.md, "Credentials" and the credential rows of "Error responses", through the real
//! gateway with a real JWKS server.

use serde_json::json;
use tollgate_tests::{Issuer, SigningKey, Upstream, empty};

use crate::support::gateway;

/// An API with one secured operation, and an application subscribed to it.
fn secured_setup(issuer: &Issuer, upstream: &Upstream) -> String {
    format!(
        "apis:\n  - id: pets\n    name: Pets\n    version: \"1\"\n    context: /pets\n    endpoints:\n      production:\n        urls: [\"{}\"]\n    operations:\n      - {{target: /items, verb: GET}}\n{}applications:\n  - {{id: app-1, name: App1}}\nkeyMappings:\n  - {{applicationId: app-1, consumerKey: ck-1, keyType: PRODUCTION, keyManager: km}}\nsubscriptions:\n  - {{id: s1, apiId: pets, applicationId: app-1, status: UNBLOCKED}}\n",
        upstream.url(),
        issuer.key_manager_yaml("km", "")
    )
}

#[tokio::test]
async fn a_valid_token_reaches_the_upstream_and_a_missing_one_is_401() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &secured_setup(&issuer, &up)).start().await;
    let client = gw.client();
    let missing = client.get("/pets/1/items").await;
    assert_eq!((missing.status.as_u16(), missing.code()), (401, "900902".into()));
    assert_eq!(missing.header("www-authenticate"), Some("Bearer realm=\"tollgate\""));
    let token = key.sign(&issuer.claims(json!({"azp": "ck-1"})));
    let request = client.request("GET", "/pets/1/items").header("authorization", format!("Bearer {token}")).body(empty()).unwrap();
    let reply = client.send(request).await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.echo();
    assert!(!echo.headers.contains_key("authorization"), "the credential is not forwarded");
    assert_eq!(echo.headers["x-tollgate-application-id"], ["app-1"]);
}
