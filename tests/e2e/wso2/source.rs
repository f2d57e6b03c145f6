//! The `wso2-apim` source's REST side end to end: what a startup pull serves and refuses,
//! a change without an event after `resync_seconds`, REST faults, the last-known-good state,
//! deployed-revision acknowledgements, the password from the environment, both version forms.

use std::time::Duration;

use serde_json::json;
use tollgate_tests::apim::Form;
use tollgate_tests::eventually;

use super::{PIZZA_SHACK, SOON, TEST_API, World, answers, call, config, ready};

#[tokio::test]
async fn the_startup_pull_routes_and_enforces_the_recorded_api_in_both_version_forms() {
    for form in [Form::Legacy, Form::Current] {
        let world = World::start(form).await;
        let gw = world.setup("").start().await;
        let client = gw.client();
        assert!(
            answers(&client, &world, "ck-1", 200).await,
            "{form:?}: subscribed: {:?}",
            call(&client, &world, "ck-1").await
        );
        assert!(world.upstream.requests() > 0, "{form:?}: reached the TestAPI's upstream (env_properties.json)");
        assert_eq!(call(&client, &world, "ck-2").await, (403, "900908".to_owned()), "{form:?}: not subscribed");

        let pulled = async || config(&gw).await["source"]["lastPull"]["outcome"] == "served";
        assert!(eventually(SOON, pulled).await, "{form:?}: {}", config(&gw).await);
        let shown = config(&gw).await;
        assert_eq!(shown["source"]["kind"], "wso2-apim", "{form:?}");
        let rejected = shown["sync"]["rejected"].as_array().cloned().unwrap_or_default();
        let pizza =
            rejected.iter().find(|r| r["id"] == PIZZA_SHACK).map(|r| r["error"].to_string()).unwrap_or_default();
        assert!(
            pizza.contains("operation policy jsonValidator"),
            "{form:?}: refused with the feature named: {rejected:?}"
        );
        let served: Vec<String> = shown["apis"].as_array().into_iter().flatten().map(|a| a["id"].to_string()).collect();
        assert_eq!(served, [format!("\"{TEST_API}\"")], "{form:?}: the other API serves");
        let counted = gw.metric_sum("tollgate_config_rejected_total", &[("entity", "api")]).await;
        assert!(counted >= 1.0, "{form:?}");

        let patched = eventually(SOON, async || !world.apim.patches().is_empty()).await;
        assert!(patched, "{form:?}: the served revision is acknowledged to API-M");
        let expected =
            json!([{"apiId": TEST_API, "revisionId": 1, "envInfo": [{"name": "Default", "vhost": "localhost"}]}]);
        assert_eq!(world.apim.patches()[0], expected, "{form:?}");
    }
}

#[tokio::test]
async fn a_change_without_an_event_appears_after_resync_seconds_and_rest_faults_only_back_off() {
    let world = World::start(Form::Current).await;
    let gw = world.setup("resync_seconds = 1\nrequest_timeout_seconds = 1\n").start().await;
    let client = gw.client();
    assert!(answers(&client, &world, "ck-1", 200).await);

    world.apim.with(|state| state.add_subscription("sub-2", 2, super::TEST_API, "app-2", "Gold", "UNBLOCKED"));
    assert!(answers(&client, &world, "ck-2", 200).await, "the re-pull found the new subscription");

    world.apim.fail_with(Some(503));
    let server = async || gw.metric_sum("tollgate_config_sync_failures_total", &[("reason", "server")]).await > 0.0;
    assert!(eventually(SOON, server).await, "5xx counted");
    world.apim.fail_with(Some(401));
    let unauthorized =
        async || gw.metric_sum("tollgate_config_sync_failures_total", &[("reason", "unauthorized")]).await > 0.0;
    assert!(eventually(SOON, unauthorized).await, "401 counted");
    world.apim.fail_with(None);
    world.apim.slow(Some(Duration::from_secs(3)));
    world.apim.down().await;
    let network = async || gw.metric_sum("tollgate_config_sync_failures_total", &[("reason", "network")]).await > 0.0;
    assert!(eventually(SOON, network).await, "refused connections counted");
    assert_eq!(call(&client, &world, "ck-1").await.0, 200, "serving continues while API-M fails");
    let failed = async || config(&gw).await["source"]["lastPull"]["outcome"] == "failed";
    assert!(eventually(SOON, failed).await, "{}", config(&gw).await);

    world.apim.with(|state| state.remove_subscription("sub-2"));
    world.apim.up().await;
    let timeouts = async || gw.metric_sum("tollgate_config_sync_failures_total", &[("reason", "network")]).await > 1.0;
    assert!(eventually(SOON, timeouts).await, "slow answers time out");
    world.apim.slow(None);
    assert!(answers(&client, &world, "ck-2", 403).await, "back with API-M: the removed subscription is gone");
}

#[tokio::test]
async fn a_restart_with_api_manager_down_serves_the_last_known_good_state() {
    let world = World::start(Form::Current).await;
    let setup = crate::support::gateway();
    let state_dir = setup.dir().join("state");
    let setup = setup.config(&world.apim.source_config(&format!("state_dir = {state_dir:?}\n")));
    let mut first = setup.start_again().await;
    assert!(answers(&first.client(), &world, "ck-1", 200).await);
    assert!(eventually(SOON, async || state_dir.join("snapshot.json").exists()).await, "the state is written");
    first.stop().await;

    world.apim.down().await;
    let second = setup.start_again().await;
    assert!(ready(&second).await, "ready at once, from the state directory");
    assert_eq!(call(&second.client(), &world, "ck-1").await.0, 200);
    assert_eq!(call(&second.client(), &world, "ck-2").await, (403, "900908".to_owned()));
    let shown = config(&second).await;
    assert!(shown["sync"]["rejected"].to_string().contains(super::PIZZA_SHACK), "the refusal in force is still shown");
}

#[tokio::test]
async fn the_password_comes_from_the_environment_and_a_wrong_one_is_never_shown() {
    let world = World::start(Form::Legacy).await;
    let gw = world.setup("").env("TOLLGATE_SOURCE__PASSWORD", "wrong-secret").start().await;
    let unauthorized =
        async || gw.metric_sum("tollgate_config_sync_failures_total", &[("reason", "unauthorized")]).await > 0.0;
    assert!(eventually(SOON, unauthorized).await, "API-M refused the password");
    assert!(!ready(&gw).await, "nothing to serve yet");
    let shown = config(&gw).await.to_string();
    assert!(!shown.contains("wrong-secret") && !shown.contains("admin-secret"), "{shown}");
}
