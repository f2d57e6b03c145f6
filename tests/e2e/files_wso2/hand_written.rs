//! Hand-written `x-wso2-*` definitions pointing at harness upstreams: proxying, scopes,
//! CORS, API keys and limits; a changed `Definitions/swagger.yaml` re-maps its project in a
//! running gateway.

use std::time::Duration;

use serde_json::json;
use tollgate_tests::{ApiManager, Issuer, SigningKey, Upstream, empty, eventually};

use super::{assert_code, get, get_with_token, rejected, subscribers, write};
use crate::support::gateway;

/// An OpenAPI document as a WSO2 user writes one, pointed at a harness upstream.
fn shop_document(upstream: &str) -> String {
    format!(
        r#"openapi: 3.0.1
info: {{title: Shop, version: 2.0.0}}
x-wso2-basePath: /shop/2.0.0
x-wso2-production-endpoints:
  urls: ["{upstream}"]
  type: http
x-wso2-cors:
  corsConfigurationEnabled: true
  accessControlAllowOrigins: ["https://app.example.com"]
  accessControlAllowMethods: [GET]
  accessControlAllowHeaders: [authorization]
security: [{{default: []}}]
components:
  securitySchemes:
    default: {{type: oauth2, flows: {{implicit: {{authorizationUrl: "https://idp.example/authorize", scopes: {{admin: admin}}}}}}}}
paths:
  /items:
    get: {{}}
  /admin:
    get:
      security: [{{default: [admin]}}]
  /health:
    get:
      x-wso2-disable-security: true
"#
    )
}

/// Takes WSO2 API keys in `x-api-key`, limited to three requests a minute.
fn keys_document(upstream: &str) -> String {
    format!(
        r#"swagger: "2.0"
info: {{title: Keys, version: 1.0.0}}
x-wso2-basePath: /keys/1.0.0
x-wso2-production-endpoints: {{urls: ["{upstream}"]}}
x-throttling-tier: ThreePerMin
securityDefinitions:
  key: {{type: apiKey, name: x-api-key, in: header}}
security: [{{key: []}}]
paths:
  /menu:
    get: {{}}
"#
    )
}

#[tokio::test]
async fn hand_written_wso2_documents_proxy_with_their_security_scopes_cors_api_keys_and_limits() {
    let key = SigningKey::rsa("k1");
    let (issuer, apim) = (Issuer::start(vec![key.clone()]).await, ApiManager::new());
    let up = Upstream::start("shop-upstream").await;
    let policy =
        "policies:\n  - {kind: api, name: ThreePerMin, limit: {requestCount: 3, unitTime: 1, timeUnit: min}}\n";
    let gw = gateway()
        .api_file("shop.yaml", &shop_document(&up.url()))
        .api_file("keys.yaml", &keys_document(&up.url()))
        .api_file("subscribers.yaml", &subscribers(&issuer, &["Shop:2.0.0"]))
        .api_file("apim.yaml", &apim.key_manager_yaml("apim"))
        .api_file("policies.yaml", policy)
        .start()
        .await;
    let refused = rejected(&gw.admin().get("/config").await.json());
    assert!(refused.is_empty(), "{refused:?}");
    let client = gw.client();

    let health = get(&client, "/shop/2.0.0/health", &[]).await;
    assert_eq!((health.status.as_u16(), health.echo().target), (200, "/health".to_owned()), "security disabled");
    assert_code(&get(&client, "/shop/2.0.0/items", &[]).await, 401, "900902", "secured by default");
    let token = |scope: &str| key.sign(&issuer.claims(json!({"azp": "ck-app", "scope": scope})));
    assert_eq!(get_with_token(&client, "/shop/2.0.0/items", &token("")).await.echo().upstream, "shop-upstream");
    assert_code(&get_with_token(&client, "/shop/2.0.0/admin", &token("read")).await, 403, "900910", "scope");
    assert_eq!(get_with_token(&client, "/shop/2.0.0/admin", &token("admin")).await.status, 200);
    let preflight = client
        .request("OPTIONS", "/shop/2.0.0/items")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .body(empty())
        .unwrap();
    let reply = client.send(preflight).await.unwrap();
    assert_eq!(
        (reply.status.as_u16(), reply.header("access-control-allow-origin")),
        (204, Some("https://app.example.com"))
    );

    let api_key = apim.sign(&apim.claims("app", &[("Keys", "1.0.0", "/keys/1.0.0", "Unlimited")]));
    for _ in 0..3 {
        let reply = get(&client, "/keys/1.0.0/menu", &[("x-api-key", &api_key)]).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(!reply.echo().headers.contains_key("x-api-key"), "the key is not forwarded");
    }
    let limited = get(&client, "/keys/1.0.0/menu", &[("x-api-key", &api_key)]).await;
    assert_code(&limited, 429, "900800", "x-throttling-tier ThreePerMin is the Api's limit");
}

fn orders_definition(upstream: &str, paths: &[&str]) -> String {
    let mut yaml = format!(
        "openapi: 3.0.1\ninfo: {{title: Orders, version: 1.0.0}}\nx-wso2-disable-security: true\nx-wso2-production-endpoints: {{urls: [\"{upstream}\"]}}\npaths:\n"
    );
    for path in paths {
        yaml.push_str(&format!("  {path}:\n    get: {{}}\n"));
    }
    yaml
}

#[tokio::test]
async fn a_changed_definition_re_maps_its_project_in_a_running_gateway() {
    let up = Upstream::start("orders").await;
    let setup = gateway();
    let apis = setup.dir().join("apis");
    write(
        &apis,
        "orders/api.yaml",
        "type: api\nversion: v4.3.0\ndata:\n  name: Orders\n  version: 1.0.0\n  context: /orders\n",
    );
    write(&apis, "orders/Definitions/swagger.yaml", &orders_definition(&up.url(), &["/a"]));
    let gw = setup.start().await;
    let client = gw.client();
    assert_eq!(client.get("/orders/1.0.0/a").await.echo().upstream, "orders");
    assert_eq!(client.get("/orders/1.0.0/b").await.status, 404);
    write(&apis, "orders/Definitions/swagger.yaml", &orders_definition(&up.url(), &["/a", "/b"]));
    assert!(eventually(Duration::from_secs(10), async || client.get("/orders/1.0.0/b").await.status == 200).await);
    write(&apis, "orders/Definitions/swagger.yaml", "openapi: 3.0.1\npaths: [unclosed");
    let refused = eventually(Duration::from_secs(10), async || {
        rejected(&gw.admin().get("/config").await.json()).iter().any(|(_, id, _)| id == "orders/")
    });
    assert!(refused.await, "a broken definition is reported");
    assert_eq!(client.get("/orders/1.0.0/b").await.status, 200, "the last good version stays served");
}
