//! The broker restarted while API-M publishes (contract/wso2.md, "Never lose a change"): the
//! queues are auto-delete, so what they held goes with the broker; the full re-pull after the
//! reconnect serves every change anyway, and the events after it take effect by their own
//! re-fetch. The gateway serves throughout, and `/config` shows the connection go and come.

use std::time::Duration;

use tollgate_tests::apim::events::{self, HubEvent};
use tollgate_tests::apim::{FakeApi, Form};
use tollgate_tests::rabbitmq::{PASSWORD, Publisher, RabbitMq};
use tollgate_tests::{Client, eventually};

use super::{TEST_API, World, answers, call, config, get, hub_connected};

/// Generous: a broker restart (and the hub's backoff after it) on a loaded machine.
const RECONNECTED: Duration = Duration::from_secs(90);
/// The vhost of this test's own broker.
const VHOST: &str = "t0";

/// An API deployed by an event, `/<context>/1.0.0`.
fn api(n: u64, context: &str) -> FakeApi {
    FakeApi::test_api_as(&format!("00000000-0000-4000-8000-{n:012}"), context, n)
}

/// Deploys `api` in API-M; the event API-M would publish for it.
fn deploy(world: &World, api: &FakeApi) -> HubEvent {
    let upstream = world.upstream.url();
    world.apim.with(|state| {
        state.deploy(api.clone());
        state.set_endpoint(&api.uuid, &upstream);
    });
    events::api_deployed(api)
}

/// Whether `api` routes (a token of `ck-1`, not subscribed to it: 403 rather than 404).
async fn routes(client: &Client, world: &World, api: &FakeApi) -> bool {
    let path = format!("{}/menu", api.metadata["context"].as_str().unwrap());
    eventually(RECONNECTED, async || get(client, &path, &world.token("ck-1")).await.0 == 403).await
}

async fn publish(publisher: &Publisher, event: &HubEvent) -> bool {
    publisher.publish(event.topic, &event.body).await
}

#[tokio::test]
async fn a_broker_restarted_while_events_are_published_loses_no_change() {
    let mut rabbit = RabbitMq::start().await; // its own: this test stops it
    let world = World::start(Form::Current).await;
    world.unlimited_applications();
    let gw = world.following(&rabbit.url(VHOST)).start().await;
    let client = gw.client();
    assert!(answers(&client, &world, "ck-1", 200).await);
    assert!(eventually(RECONNECTED, async || hub_connected(&gw).await).await);

    // API-M answers slowly: the source is still re-fetching the first event when the broker
    // stops, with the others delivered and unacknowledged.
    let before: Vec<FakeApi> = (1..=4).map(|n| api(n, &format!("before{n}"))).collect();
    world.apim.slow(Some(Duration::from_secs(4)));
    let publisher = rabbit.publisher(VHOST).await;
    for api in &before {
        assert!(publish(&publisher, &deploy(&world, api)).await, "bound while connected");
    }
    assert!(eventually(RECONNECTED, async || rabbit.unacked(VHOST).await > 0).await, "held unacked");
    world.apim.slow(None);
    publisher.close().await;
    rabbit.stop_in_background().await;

    assert!(eventually(RECONNECTED, async || !hub_connected(&gw).await).await, "{}", config(&gw).await);
    let error = config(&gw).await["source"]["eventHub"]["error"].to_string();
    assert!(error.contains(&format!("127.0.0.1:{}", rabbit.port())) && !error.contains(PASSWORD), "{error}");
    assert_eq!(call(&client, &world, "ck-1").await.0, 200, "serving during the outage");
    // Changed in API-M while the broker is down: no event will ever say so.
    world.apim.with(|state| state.add_subscription("sub-2", 2, TEST_API, "app-2", "Gold", "UNBLOCKED"));
    assert_eq!(call(&client, &world, "ck-2").await.0, 403, "not seen before the reconnect");

    rabbit.start_again().await;
    // Right after the broker is back, before or after the hub binds again: an event
    // published before the binding has no queue and is lost, as it would be with API-M.
    let publisher = rabbit.publisher(VHOST).await;
    let right_after = api(5, "rightafter");
    publish(&publisher, &deploy(&world, &right_after)).await;

    assert!(eventually(RECONNECTED, async || hub_connected(&gw).await).await, "{}", config(&gw).await);
    assert!(answers(&client, &world, "ck-2", 200).await, "the re-pull after the reconnect found the change");
    for api in before.iter().chain([&right_after]) {
        assert!(routes(&client, &world, api).await, "{} is served", api.uuid);
    }
    // The re-pull is done and the next is an hour away: this one comes by its event alone.
    let after = api(6, "after");
    assert!(publish(&publisher, &deploy(&world, &after)).await, "bound again");
    assert!(routes(&client, &world, &after).await, "an event after the reconnect takes effect");
    publisher.close().await;
}
