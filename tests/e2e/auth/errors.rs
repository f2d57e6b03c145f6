//! Every credential row of client.md's error table, each with its status, JSON body and
//! challenge, from one gateway serving applications in every situation; and the
//! `tollgate_auth_failures_total` counts they leave.

use serde_json::json;
use tollgate_tests::{Issuer, SigningKey, Upstream};

use super::catalog::{ApiSpec, Catalog, KeyType};
use super::{assert_rejected, get, get_with, token};
use crate::support::gateway;

#[tokio::test]
async fn a_valid_token_reaches_the_upstream_and_a_missing_one_is_401() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let catalog = Catalog::one_subscriber(&issuer, &up, "app-1", "ck-1");
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).start().await;
    let client = gw.client();
    assert_rejected(&get(&client, "/pets/1/items", None).await, (401, "900902"), "no credential");
    let reply = get(&client, "/pets/1/items", Some(&token(&issuer, &key, json!({"azp": "ck-1"})))).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.echo();
    assert!(!echo.headers.contains_key("authorization"), "the credential is not forwarded");
    assert_eq!(echo.headers["x-tollgate-application-id"], ["app-1"]);
}

/// One application per situation of the error table, on `pets` (production endpoint only,
/// `/admin` needs a scope), `frozen` (lifecycle BLOCKED) and `plain` (production only, for the
/// sandbox key).
fn error_table_catalog(issuer: &Issuer, up: &Upstream) -> Catalog {
    let mut catalog = Catalog::new()
        .key_manager(issuer, "")
        .api(ApiSpec::new("pets", up).get("/items", &[]).get("/admin", &["pets:admin"]))
        .api(ApiSpec::new("frozen", up).blocked().get("/items", &[]))
        .api(ApiSpec::new("plain", up).get("/items", &[]))
        .application("lonely", "ck-lonely", KeyType::Production)
        .application("sandboxed", "ck-sandboxed", KeyType::Sandbox)
        .subscription("plain", "sandboxed", "UNBLOCKED");
    for (app, status) in [
        ("ok", "UNBLOCKED"),
        ("blocked", "BLOCKED"),
        ("pob", "PROD_ONLY_BLOCKED"),
        ("hold", "ON_HOLD"),
        ("no", "REJECTED"),
    ] {
        catalog = catalog.application(app, &format!("ck-{app}"), KeyType::Production).subscription("pets", app, status);
    }
    catalog.subscription("frozen", "ok", "UNBLOCKED")
}

/// (situation, path, token, expected status and code)
type Case<'a> = (&'a str, &'a str, Option<String>, (u16, &'a str));

#[tokio::test]
async fn every_credential_row_of_the_error_table_has_its_status_code_body_and_challenge() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &error_table_catalog(&issuer, &up).yaml()).start().await;
    let client = gw.client();
    let of = |consumer_key: &str| token(&issuer, &key, json!({"azp": consumer_key}));
    let cases: [Case<'_>; 12] = [
        ("no credential", "/pets/1/items", None, (401, "900902")),
        ("bad token", "/pets/1/items", Some("not.a.jwt".into()), (401, "900901")),
        ("subscription BLOCKED", "/pets/1/items", Some(of("ck-blocked")), (401, "900907")),
        ("PROD_ONLY_BLOCKED, production key", "/pets/1/items", Some(of("ck-pob")), (401, "900907")),
        ("no subscription", "/pets/1/items", Some(of("ck-lonely")), (403, "900908")),
        ("no key mapping", "/pets/1/items", Some(of("ck-nobody")), (403, "900908")),
        ("no consumer key claim", "/pets/1/items", Some(token(&issuer, &key, json!({}))), (403, "900908")),
        ("subscription ON_HOLD", "/pets/1/items", Some(of("ck-hold")), (403, "900909")),
        ("subscription REJECTED", "/pets/1/items", Some(of("ck-no")), (403, "900909")),
        ("missing scope", "/pets/1/admin", Some(of("ck-ok")), (403, "900910")),
        ("API lifecycleState BLOCKED", "/frozen/1/items", Some(of("ck-ok")), (503, "700700")),
        ("sandbox key, production endpoint only", "/plain/1/items", Some(of("ck-sandboxed")), (401, "900901")),
    ];
    for (case, path, token, expected) in &cases {
        assert_rejected(&get(&client, path, token.as_deref()).await, *expected, case);
    }
    let empty_header = get_with(&client, "/pets/1/items", &[("authorization", "")]).await;
    assert_rejected(&empty_header, (401, "900902"), "an empty credential header is no credential");
    let basic = get_with(&client, "/pets/1/items", &[("authorization", "Basic dXNlcjpwYXNz")]).await;
    assert_rejected(&basic, (401, "900901"), "another scheme is a bad token");
    assert_eq!(up.requests(), 0, "no rejected request reaches the upstream");
    assert_eq!(get(&client, "/pets/1/items", Some(&of("ck-ok"))).await.echo().upstream, "up");

    let failures = async |api: &str, code: &str| {
        gw.metric_sum("tollgate_auth_failures_total", &[("api", api), ("version", "1"), ("code", code)]).await
    };
    let counted =
        [("900902", 2.0), ("900901", 2.0), ("900907", 2.0), ("900908", 3.0), ("900909", 2.0), ("900910", 1.0)];
    for (code, count) in counted {
        assert_eq!(failures("pets", code).await, count, "tollgate_auth_failures_total code {code}");
    }
    assert_eq!(gw.metric_sum("tollgate_auth_failures_total", &[("api", "frozen")]).await, 0.0, "503 is not auth");
    assert_eq!(failures("plain", "900901").await, 1.0, "a key type without an endpoint is counted too");
}
