//! Tokens stay secret: never in a response, a log line (even at `debug`) or a request to the
//! upstream; and the identity headers upstreams trust come only from the gateway.

use serde_json::json;
use tollgate_tests::{Issuer, Reply, SigningKey, Upstream};

use super::catalog::{ApiSpec, Catalog, KeyType};
use super::{assert_rejected, get, get_with, token};
use crate::support::gateway;

/// `pets` (`GET /items`, `GET /admin` needing scope `admin`, unsecured `GET /open`) and
/// `custom` (credential in `X-Gateway-Token`), both subscribed by application `app`.
fn catalog(issuer: &Issuer, up: &Upstream) -> Catalog {
    Catalog::new()
        .key_manager(issuer, "")
        .api(ApiSpec::new("pets", up).get("/items", &[]).get("/admin", &["admin"]).open_get("/open"))
        .api(ApiSpec::new("custom", up).authorization_header("X-Gateway-Token").get("/items", &[]))
        .application("app", "ck-app", KeyType::Production)
        .application("lonely", "ck-lonely", KeyType::Production)
        .subscription("pets", "app", "UNBLOCKED")
        .subscription("custom", "app", "UNBLOCKED")
}

#[tokio::test]
async fn no_token_appears_in_any_response_or_log_line_even_at_debug_level() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let mut gw = gateway()
        .api_file("a.yaml", &catalog(&issuer, &up).yaml())
        .env("RUST_LOG", "debug,hyper=info,h2=info,rustls=info")
        .start()
        .await;
    let client = gw.client();
    let valid = token(&issuer, &key, json!({"azp": "ck-app"}));
    let tokens = [
        ("valid", "/pets/1/items", valid.clone(), 200),
        ("missing scope", "/pets/1/admin", valid.clone(), 403),
        ("not subscribed", "/pets/1/items", token(&issuer, &key, json!({"azp": "ck-lonely"})), 403),
        ("bad signature", "/pets/1/items", SigningKey::rsa("k1").sign(&issuer.claims(json!({"azp": "ck-app"}))), 401),
        ("expired", "/pets/1/items", token(&issuer, &key, json!({"azp": "ck-app", "exp": 1_000_000})), 401),
        ("tampered", "/pets/1/items", SigningKey::with_claims(&valid, &issuer.claims(json!({"azp": "ck-x"}))), 401),
        ("unknown kid", "/pets/1/items", key.sign_as(Some("k9"), &issuer.claims(json!({"azp": "ck-app"}))), 401),
        ("malformed", "/pets/1/items", "eyJhbGciOi.not-base64!.sig".to_owned(), 401),
    ];
    let mut responses = Vec::new();
    for (case, path, token, status) in &tokens {
        let reply = get(&client, path, Some(token)).await;
        assert_eq!(reply.status.as_u16(), *status, "{case}: {}", reply.text());
        responses.push(wire_text(&reply));
    }
    let custom = get_with(&client, "/custom/1/items", &[("x-gateway-token", &format!("Bearer {valid}"))]).await;
    assert_eq!(custom.status, 200);
    responses.push(wire_text(&custom));

    gw.stop().await;
    let logs = gw.logs();
    logs.closed().await;
    let all = logs.all();
    assert!(all.contains("token rejected"), "debug logging is on: {all}");
    assert!(logs.stdout_lines().len() > tokens.len(), "every request has an access log line");
    for (case, _, token, _) in &tokens {
        let mut parts = token.split('.').skip(1).filter(|part| part.len() >= 8);
        for secret in std::iter::once(token.as_str()).chain(&mut parts) {
            assert!(!all.contains(secret), "{case}: a token part is in the logs: {secret}");
            assert!(!responses.iter().any(|r| r.contains(secret)), "{case}: a token part is in a response");
        }
    }
}

/// Status, headers and body as one text.
fn wire_text(reply: &Reply) -> String {
    let headers: Vec<String> =
        reply.headers.iter().map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v.as_bytes()))).collect();
    format!("{}\n{}\n{}", reply.status, headers.join("\n"), reply.text())
}

#[tokio::test]
async fn the_credential_header_is_not_forwarded_and_identity_headers_cannot_be_spoofed() {
    let key = SigningKey::ec256("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &catalog(&issuer, &up).yaml()).start().await;
    let valid = token(&issuer, &key, json!({"azp": "ck-app"}));
    let bearer = format!("Bearer {valid}");
    let spoofed = [
        ("x-tollgate-application-id", "evil"),
        ("X-Tollgate-Application-Name", "Evil"),
        ("x-tollgate-key-type", "SANDBOX"),
        ("x-tollgate-admin", "yes"),
    ];
    for client in [gw.client(), gw.client().http2()] {
        let headers: Vec<(&str, &str)> = [("authorization", bearer.as_str())].into_iter().chain(spoofed).collect();
        let echo = get_with(&client, "/pets/1/items", &headers).await.echo();
        assert!(!echo.headers.contains_key("authorization"), "the credential is not forwarded");
        let tollgate: Vec<(String, Vec<String>)> =
            echo.headers.into_iter().filter(|(name, _)| name.starts_with("x-tollgate-")).collect();
        let identity = [
            ("x-tollgate-application-id", "app"),
            ("x-tollgate-application-name", "app"),
            ("x-tollgate-key-type", "PRODUCTION"),
        ];
        let expected: Vec<(String, Vec<String>)> =
            identity.map(|(name, value)| (name.into(), vec![value.into()])).into();
        assert_eq!(tollgate, expected, "only the gateway's identity headers, once each");

        let open = get_with(&client, "/pets/1/open", &spoofed).await.echo();
        assert!(!open.headers.keys().any(|name| name.starts_with("x-tollgate-")), "unsecured: none at all");

        let upstream_auth = "Basic dXBzdHJlYW06c2VjcmV0";
        let custom = [("x-gateway-token", bearer.as_str()), ("authorization", upstream_auth)];
        let echo = get_with(&client, "/custom/1/items", &custom).await.echo();
        assert!(!echo.headers.contains_key("x-gateway-token"), "the configured credential header is not forwarded");
        assert_eq!(echo.headers["authorization"], [upstream_auth], "another API's Authorization is the upstream's");
        let wrong_header = get_with(&client, "/custom/1/items", &[("authorization", bearer.as_str())]).await;
        assert_rejected(&wrong_header, (401, "900902"), "the credential is read only from the configured header");
    }
}
