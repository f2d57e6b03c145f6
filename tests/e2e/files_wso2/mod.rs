//! WSO2 definitions in the file source (contract/wso2.md, last section; GitHub issue 12).
//!
//! Files: `fixtures.rs` (every fixture under fixtures/wso2/{openapi,apiyaml,apictl,
//! runtime-artifacts}, unchanged, either serves as the Api it describes or is refused with a
//! reason naming the feature, in `/config`, the metrics and `tollgate check`; scopes and CORS
//! of fixtures). `hand_written.rs`: `x-wso2-*` definitions pointing at harness upstreams show
//! proxying, scopes, CORS, API keys and limits; a changed `Definitions/swagger.yaml` re-maps
//! its project in a running gateway.

mod fixtures;
mod hand_written;

use std::path::Path;

use serde_json::Value;
use tollgate_tests::{Client, Issuer, Reply, empty};

// === layout ===

fn fixture(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wso2").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Writes `dir/name` (creating its directories) with the fixture `path`'s text.
fn copy(dir: &Path, name: &str, path: &str) {
    write(dir, name, &fixture(path));
}

fn write(dir: &Path, name: &str, text: &str) {
    let target = dir.join(name);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(target, text).unwrap();
}

/// The model.md documents the served fixtures need: the key manager of `issuer`, application
/// `app` (consumer key `ck-app`) subscribed to each of `apis`, and `app-unsubscribed`.
fn subscribers(issuer: &Issuer, apis: &[&str]) -> String {
    let mut yaml = issuer.key_manager_yaml("km", "");
    yaml.push_str("applications:\n  - {id: app, name: app}\n  - {id: lonely, name: lonely}\n");
    yaml.push_str("keyMappings:\n");
    for (app, key) in [("app", "ck-app"), ("lonely", "ck-lonely")] {
        yaml.push_str(&format!(
            "  - {{applicationId: {app}, consumerKey: {key}, keyType: PRODUCTION, keyManager: km}}\n"
        ));
    }
    yaml.push_str("subscriptions:\n");
    for api in apis {
        yaml.push_str(&format!("  - {{id: \"sub-{api}\", apiId: \"{api}\", applicationId: app, status: UNBLOCKED}}\n"));
    }
    yaml
}

// === requests ===

async fn get(client: &Client, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = client.request("GET", path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    client.send(request.body(empty()).unwrap()).await.unwrap()
}

async fn get_with_token(client: &Client, path: &str, token: &str) -> Reply {
    get(client, path, &[("authorization", &format!("Bearer {token}"))]).await
}

#[track_caller]
fn assert_code(reply: &Reply, status: u16, code: &str, case: &str) {
    assert_eq!((reply.status.as_u16(), reply.code()), (status, code.to_owned()), "{case}: {}", reply.text());
}

fn rejected(config: &Value) -> Vec<(String, String, String)> {
    let rejected = config["sync"]["rejected"].as_array().cloned().unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    rejected.iter().map(|r| (text(&r["entity"]), text(&r["id"]), text(&r["error"]))).collect()
}
