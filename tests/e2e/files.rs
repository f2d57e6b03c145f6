//! The file source: partial snapshots merged, a broken document rejected while the others
//! serve, edits applied without a restart, and a key the model does not have rejecting its
//! file (model.md) in a running gateway and in `tollgate check`.

use std::process::Command;
use std::time::Duration;

use tollgate_tests::{Upstream, eventually};

use crate::support::{api, binary, gateway};

#[tokio::test]
async fn a_broken_api_is_rejected_by_name_and_the_others_serve() {
    let up = Upstream::start("up").await;
    let broken = api("broken-v1", "no-leading-slash", &[up.url()], &["GET /x"], "");
    let gw = gateway()
        .api_file("good.yaml", &api("good", "/good", &[up.url()], &["GET /x"], ""))
        .api_file("broken.yaml", &broken)
        .api_file("garbage.json", "{ this is not json")
        .start()
        .await;
    assert_eq!(gw.client().get("/good/1.0.0/x").await.status, 200);
    let config = gw.admin().get("/config").await.json();
    let text = config.to_string();
    assert!(text.contains("broken-v1") && text.contains("context"), "{text}");
    assert!(text.contains("garbage.json"), "{text}");
    assert!(gw.metric_sum("tollgate_config_rejected_total", &[("entity", "api")]).await >= 1.0);
    assert_eq!(gw.metric("tollgate_config_entities{kind=\"api\"}").await, Some(1.0));
    assert!(gw.logs().stderr_text().contains("broken-v1"));
}

#[tokio::test]
async fn edits_apply_without_a_restart() {
    let (one, two) = (Upstream::start("one").await, Upstream::start("two").await);
    let gw = gateway().api_file("pets.yaml", &api("pets", "/pets", &[one.url()], &["GET /x"], "")).start().await;
    let apis = gw.dir.join("apis");
    let client = gw.client();
    assert_eq!(client.get("/pets/1.0.0/x").await.echo().upstream, "one");
    std::fs::write(apis.join("pets.yaml"), api("pets", "/pets", &[two.url()], &["GET /x"], "")).unwrap();
    assert!(
        eventually(Duration::from_secs(10), async || client.get("/pets/1.0.0/x").await.echo().upstream == "two").await
    );
    std::fs::write(apis.join("shop.json"), r#"{"apis":[{"id":"shop","name":"Shop","version":"2","context":"/shop","endpoints":{"production":{"urls":["URL"]}},"operations":[{"target":"/*","verb":"*","secured":false}]}]}"#.replace("URL", &one.url())).unwrap();
    assert!(eventually(Duration::from_secs(10), async || client.get("/shop/2/anything").await.status == 200).await);
    std::fs::remove_file(apis.join("pets.yaml")).unwrap();
    assert!(eventually(Duration::from_secs(10), async || client.get("/pets/1.0.0/x").await.status == 404).await);
    assert!(gw.metric("tollgate_config_revision").await.unwrap_or(0.0) >= 4.0);
}

/// Four files, each with one misspelt key: on an operation (a security setting), on the Api,
/// in an endpoint, in a policy's limit; and one good file.
fn misspelt_files(upstream: &str) -> [(&'static str, String); 5] {
    let operation = format!(
        "apis:\n  - id: scoped\n    name: Scoped\n    version: \"1\"\n    context: /scoped\n    endpoints: {{production: {{urls: [\"{upstream}\"]}}}}\n    operations:\n      - {{target: /admin, verb: GET, scope: [admin]}}\n"
    );
    let endpoint = format!(
        "apis:\n  - id: slow\n    name: Slow\n    version: \"1\"\n    context: /slow\n    endpoints: {{production: {{urls: [\"{upstream}\"], timeoutMS: 100}}}}\n    operations:\n      - {{target: /x, verb: GET, secured: false}}\n"
    );
    let policy = "policies:\n  - {kind: subscription, name: Tiny, limit: {requestCont: 5, timeUnit: min}}\n";
    [
        ("good.yaml", api("good", "/good", &[upstream.to_owned()], &["GET /x"], "")),
        ("operation.yaml", operation),
        ("api.yaml", api("default", "/default", &[upstream.to_owned()], &["GET /x"], "isDefaultVerison: true")),
        ("endpoint.yaml", endpoint),
        ("policy.yaml", policy.to_owned()),
    ]
}

/// What each misspelt file is rejected with: the entity, the key's path and the suggestion.
const MISSPELT: [(&str, &str); 4] = [
    ("operation.yaml", "api \"scoped\": operations[0].scope: unknown key; did you mean `scopes`?"),
    ("api.yaml", "api \"default\": isDefaultVerison: unknown key; did you mean `isDefaultVersion`?"),
    ("endpoint.yaml", "api \"slow\": endpoints.production.timeoutMS: unknown key; did you mean `timeoutMs`?"),
    ("policy.yaml", "limit.requestCont: unknown key; did you mean `requestCount`?"),
];

#[tokio::test]
async fn a_misspelt_key_rejects_its_file_naming_the_key_and_the_nearest_known_one() {
    let up = Upstream::start("up").await;
    let mut setup = gateway();
    for (name, text) in misspelt_files(&up.url()) {
        setup = setup.api_file(name, &text);
    }
    let gw = setup.start().await;
    let client = gw.client();
    assert_eq!(client.get("/good/1.0.0/x").await.status, 200, "the other files serve");
    assert_eq!(client.get("/scoped/1/admin").await.status, 404, "never served without its scope check");
    assert_eq!(client.get("/slow/1/x").await.status, 404);
    let rejected = gw.admin().get("/config").await.json()["sync"]["rejected"].clone();
    let logs = gw.logs().stderr_text();
    for (file, message) in MISSPELT {
        let shown = rejected.as_array().unwrap().iter().find(|r| r["id"] == file);
        let shown = shown.unwrap_or_else(|| panic!("{file} not rejected: {rejected}"));
        assert_eq!(shown["entity"], "document");
        assert!(shown["error"].as_str().unwrap().contains(message), "{file}: {shown}");
        assert!(logs.contains(message), "{message} not logged:\n{logs}");
    }
    assert_eq!(gw.metric("tollgate_config_rejected_entities{entity=\"document\"}").await, Some(4.0));

    let fixed = misspelt_files(&up.url())[1].1.replace("scope:", "scopes:");
    std::fs::write(gw.dir.join("apis/operation.yaml"), fixed).unwrap();
    let checked = eventually(Duration::from_secs(10), async || client.get("/scoped/1/admin").await.status == 401);
    assert!(checked.await, "the fixed file serves its operation, with a credential check");
    assert_eq!(gw.metric("tollgate_config_rejected_entities{entity=\"document\"}").await, Some(3.0));
}

#[tokio::test]
async fn check_names_each_misspelt_key_with_its_suggestion_and_exits_1() {
    let up = Upstream::start("up").await;
    let mut setup = gateway();
    for (name, text) in misspelt_files(&up.url()) {
        setup = setup.api_file(name, &text);
    }
    let out = Command::new(binary()).args(["check", "--config"]).arg(setup.write_config()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for (file, message) in MISSPELT {
        assert!(stdout.contains(&format!("{file}: ")) && stdout.contains(message), "{file}: {stdout}");
    }
    assert!(stdout.contains("good 1.0.0 at /good/1.0.0"), "the good file would serve: {stdout}");
}
