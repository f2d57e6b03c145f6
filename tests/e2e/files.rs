//! The file source: partial snapshots merged, a broken document rejected while the others
//! serve, edits applied without a restart.

use std::time::Duration;

use tollgate_tests::{Upstream, eventually};

use crate::support::{api, gateway};

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
