//! Subscription statuses with production and sandbox keys (and which endpoint each reaches),
//! and operation scopes in both claim forms.

use serde_json::{Value, json};
use tollgate_tests::{Issuer, SigningKey, Upstream};

use super::catalog::{ApiSpec, Catalog, KeyType};
use super::{assert_rejected, get, token};
use crate::support::gateway;

/// What a key of one type on a subscription in one status gets: the upstream it reaches,
/// or the gateway's rejection.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Reaches(&'static str),
    Rejected(u16, &'static str),
}

const STATUSES: [(&str, Outcome, Outcome); 6] = [
    // (status, with a PRODUCTION key, with a SANDBOX key)
    ("UNBLOCKED", Outcome::Reaches("production"), Outcome::Reaches("sandbox")),
    ("TIER_UPDATE_PENDING", Outcome::Reaches("production"), Outcome::Reaches("sandbox")),
    ("BLOCKED", Outcome::Rejected(401, "900907"), Outcome::Rejected(401, "900907")),
    ("PROD_ONLY_BLOCKED", Outcome::Rejected(401, "900907"), Outcome::Reaches("sandbox")),
    ("ON_HOLD", Outcome::Rejected(403, "900909"), Outcome::Rejected(403, "900909")),
    ("REJECTED", Outcome::Rejected(403, "900909"), Outcome::Rejected(403, "900909")),
];

/// The application of a status and key type, e.g. `prod_only_blocked-sandbox`; its
/// consumer key is the same with `ck-` in front.
fn application(status: &str, key_type: KeyType) -> String {
    let kind = match key_type {
        KeyType::Production => "production",
        KeyType::Sandbox => "sandbox",
    };
    format!("{}-{kind}", status.to_lowercase())
}

#[tokio::test]
async fn every_subscription_status_with_production_and_sandbox_keys() {
    let key = SigningKey::ec256("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let (production, sandbox) = (Upstream::start("production").await, Upstream::start("sandbox").await);
    let mut catalog = Catalog::new()
        .key_manager(&issuer, "")
        .api(ApiSpec::new("shop", &production).sandbox(&sandbox).get("/cart", &[]));
    for (status, _, _) in STATUSES {
        for key_type in [KeyType::Production, KeyType::Sandbox] {
            let app = application(status, key_type);
            catalog = catalog.application(&app, &format!("ck-{app}"), key_type).subscription("shop", &app, status);
        }
    }
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).start().await;
    let client = gw.client();
    for (status, with_production, with_sandbox) in STATUSES {
        for (key_type, outcome) in [(KeyType::Production, with_production), (KeyType::Sandbox, with_sandbox)] {
            let app = application(status, key_type);
            let reply =
                get(&client, "/shop/1/cart", Some(&token(&issuer, &key, json!({"azp": format!("ck-{app}")})))).await;
            match outcome {
                Outcome::Rejected(status, code) => assert_rejected(&reply, (status, code), &app),
                Outcome::Reaches(upstream) => {
                    assert_eq!(reply.status, 200, "{app}: {}", reply.text());
                    let echo = reply.echo();
                    assert_eq!(echo.upstream, upstream, "{app}");
                    let key_type = format!("{key_type:?}").to_uppercase();
                    assert_eq!(echo.headers["x-tollgate-key-type"], [key_type], "{app}");
                    assert_eq!(echo.headers["x-tollgate-application-id"], [app.as_str()], "{app}");
                    assert_eq!(echo.headers["x-tollgate-application-name"], [app.as_str()], "{app}");
                }
            }
        }
    }
    assert_eq!((production.requests(), sandbox.requests()), (2, 3), "2 production and 3 sandbox keys admitted");
}

#[tokio::test]
async fn an_operation_with_scopes_needs_any_one_of_them_in_the_string_or_array_claim() {
    let key = SigningKey::ed25519("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let api = ApiSpec::new("docs", &up).get("/read", &["read"]).get("/edit", &["admin", "write"]).get("/open", &[]);
    let catalog = Catalog::new()
        .key_manager(&issuer, "")
        .api(api)
        .application("app", "ck-app", KeyType::Production)
        .subscription("docs", "app", "UNBLOCKED");
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).start().await;
    let client = gw.client();
    // (scope claim, admitted on /read, on /edit); /open admits every token.
    let cases: [(Option<Value>, bool, bool); 9] = [
        (Some(json!("read write")), true, true),
        (Some(json!("  write   read ")), true, true),
        (Some(json!(["admin"])), false, true),
        (Some(json!(["other", "read"])), true, false),
        (Some(json!("reader")), false, false),
        (Some(json!("READ")), false, false),
        (Some(json!(["read write"])), false, false),
        (Some(json!("")), false, false),
        (None, false, false),
    ];
    let mut refused = 0.0;
    for (scope, read, edit) in cases {
        let claims = match &scope {
            Some(scope) => json!({"azp": "ck-app", "scope": scope}),
            None => json!({"azp": "ck-app"}),
        };
        let token = token(&issuer, &key, claims);
        for (path, admitted) in [("/docs/1/read", read), ("/docs/1/edit", edit), ("/docs/1/open", true)] {
            let reply = get(&client, path, Some(&token)).await;
            match admitted {
                true => assert_eq!(reply.status, 200, "scope {scope:?} on {path}: {}", reply.text()),
                false => assert_rejected(&reply, (403, "900910"), &format!("scope {scope:?} on {path}")),
            }
            refused += f64::from(u8::from(!admitted));
        }
    }
    let missing = gw.metric_sum("tollgate_auth_failures_total", &[("api", "docs"), ("code", "900910")]).await;
    assert_eq!(missing, refused, "every missing-scope rejection is counted");
}
