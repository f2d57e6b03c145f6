//! The real gateway following a real broker end to end (contract/wso2.md, "Events";
//! INTERFACE.md §4.4): API-M's state is changed in the fake, the event API-M would publish
//! goes through RabbitMQ (`amq.topic`, the topic as routing key), and requests show the
//! change. Full pulls run once an hour here, so every change is the event's doing.

use serde_json::{Value, json};
use tollgate_tests::apim::events::{self, HubEvent};
use tollgate_tests::apim::{FakeApi, Form};
use tollgate_tests::rabbitmq::{Publisher, RabbitMq};
use tollgate_tests::{Client, GatewayProcess, Issuer, SigningKey, eventually};

use super::{SOON, TEST_API, World, answers, get, gets, hub_connected};

/// A second API, deployed by an event: `/second/1.0.0`.
const SECOND_API: &str = "7808af84-6b9a-4c86-953a-4f40f157671f";
const SECOND_PATH: &str = "/second/1.0.0/menu";
const TEST_PATH: &str = "/test/1.0.0/menu";

/// A world whose gateway follows the shared broker, on a vhost of its own.
struct Following {
    world: World,
    gateway: GatewayProcess,
    client: Client,
    publisher: Publisher,
}

impl Following {
    /// The world of [`World::start`] with unlimited applications; serving, its hub bound.
    async fn start() -> Following {
        let rabbit = RabbitMq::shared().await;
        let vhost = rabbit.vhost();
        let world = World::start(Form::Current).await;
        world.unlimited_applications();
        let gateway = world.following(&rabbit.url(&vhost)).start().await;
        let client = gateway.client();
        assert!(answers(&client, &world, "ck-1", 200).await, "the startup pull serves");
        assert!(eventually(SOON, async || hub_connected(&gateway).await).await, "the event hub is bound");
        let publisher = rabbit.publisher(&vhost).await;
        Following { world, gateway, client, publisher }
    }

    /// Publishes `event` as API-M does; its topic must be bound.
    async fn publish(&self, event: HubEvent) {
        assert!(self.publisher.publish(event.topic, &event.body).await, "{} is bound", event.topic);
    }

    /// Changes API-M's state, then publishes the event API-M would publish for it.
    async fn change(&self, change: impl FnOnce(&mut tollgate_tests::apim::State) -> HubEvent) {
        let event = self.world.apim.with(change);
        self.publish(event).await;
    }
}

fn subscription(state: &tollgate_tests::apim::State, uuid: &str) -> Value {
    state.subscriptions.iter().find(|s| s["subscriptionUUID"] == uuid).cloned().unwrap()
}

#[tokio::test]
async fn api_and_subscription_events_change_what_routes_and_who_may_call_it() {
    let following = Following::start().await;
    let (client, token) = (&following.client, following.world.token("ck-1"));
    let second = FakeApi::test_api_as(SECOND_API, "second", 2);
    assert_eq!(get(client, SECOND_PATH, &token).await.0, 404);

    let upstream = following.world.upstream.url();
    following
        .change(|state| {
            state.deploy(second.clone());
            state.set_endpoint(SECOND_API, &upstream);
            events::api_deployed(&second)
        })
        .await;
    gets(client, SECOND_PATH, &token, 403, "900908").await.expect("DEPLOY_API_IN_GATEWAY: routed, not subscribed");
    let patched = async || following.world.apim.patches().iter().any(|patch| patch[0]["revisionId"] == 2);
    assert!(eventually(SOON, patched).await, "revision 2 acknowledged: {:?}", following.world.apim.patches());

    following
        .change(|state| {
            state.add_subscription("sub-2", 2, SECOND_API, "app-1", "Gold", "UNBLOCKED");
            events::subscription("SUBSCRIPTIONS_CREATE", &subscription(state, "sub-2"))
        })
        .await;
    gets(client, SECOND_PATH, &token, 200, "").await.expect("SUBSCRIPTIONS_CREATE");
    following
        .change(|state| {
            state.add_subscription("sub-2", 2, SECOND_API, "app-1", "Gold", "BLOCKED");
            events::subscription("SUBSCRIPTIONS_UPDATE", &subscription(state, "sub-2"))
        })
        .await;
    gets(client, SECOND_PATH, &token, 401, "900907").await.expect("SUBSCRIPTIONS_UPDATE to BLOCKED");
    following
        .change(|state| {
            let removed = subscription(state, "sub-2");
            state.remove_subscription("sub-2");
            events::subscription("SUBSCRIPTIONS_DELETE", &removed)
        })
        .await;
    gets(client, SECOND_PATH, &token, 403, "900908").await.expect("SUBSCRIPTIONS_DELETE");

    following
        .change(|state| {
            state.set_status(SECOND_API, "BLOCKED");
            events::api_lifecycle(&second, "BLOCKED")
        })
        .await;
    gets(client, SECOND_PATH, &token, 503, "700700").await.expect("API_LIFECYCLE_CHANGE to BLOCKED");
    following
        .change(|state| {
            state.undeploy(SECOND_API);
            events::api_removed(&second)
        })
        .await;
    gets(client, SECOND_PATH, &token, 404, "").await.expect("REMOVE_API_FROM_GATEWAY");
    assert_eq!(get(client, TEST_PATH, &token).await.0, 200, "the other API was never touched");
    let counted = following.gateway.metric_sum("tollgate_source_events_total", &[("result", "applied")]).await;
    assert!(counted >= 6.0, "every event counted as applied: {counted}");
}

#[tokio::test]
async fn application_key_mapping_and_policy_events_change_who_gets_in_and_how_often() {
    let following = Following::start().await;
    let (client, world) = (&following.client, &following.world);
    let (ck1, ck3) = (world.token("ck-1"), world.token("ck-3"));
    assert_eq!(get(client, TEST_PATH, &ck3).await, (403, "900908".to_owned()), "no key mapping yet");

    following
        .change(|state| {
            state.add_application("app-3", 3, "Unlimited");
            events::application("APPLICATION_CREATE", "app-3", 3, "Unlimited")
        })
        .await;
    following
        .change(|state| {
            state.add_key_mapping("app-3", "ck-3", "Resident Key Manager");
            events::key_mapping("APPLICATION_REGISTRATION_CREATE", ("app-3", 3), "ck-3", "Resident Key Manager")
        })
        .await;
    following
        .change(|state| {
            state.add_subscription("sub-3", 3, TEST_API, "app-3", "Gold", "UNBLOCKED");
            events::subscription("SUBSCRIPTIONS_CREATE", &subscription(state, "sub-3"))
        })
        .await;
    gets(client, TEST_PATH, &ck3, 200, "").await.expect("application, key mapping and subscription created");

    following
        .change(|state| {
            state.add_application_policy("OnePerMin", 1, "min");
            events::policy("POLICY_CREATE", "APPLICATION", "OnePerMin")
        })
        .await;
    following
        .change(|state| {
            state.add_application("app-3", 3, "OnePerMin");
            events::application("APPLICATION_UPDATE", "app-3", 3, "OnePerMin")
        })
        .await;
    gets(client, TEST_PATH, &ck3, 429, "900803").await.expect("APPLICATION_UPDATE to a new one-a-minute policy");
    following
        .change(|state| {
            state.remove_application("app-3");
            events::application("APPLICATION_DELETE", "app-3", 3, "OnePerMin")
        })
        .await;
    gets(client, TEST_PATH, &ck3, 403, "900908").await.expect("APPLICATION_DELETE");

    following
        .change(|state| {
            state.add_subscription_policy("Gold", 1, "min");
            events::policy("POLICY_UPDATE", "SUBSCRIPTION", "Gold")
        })
        .await;
    gets(client, TEST_PATH, &ck1, 429, "900804").await.expect("POLICY_UPDATE: the new limit re-fetched");
    following
        .change(|state| {
            state.remove_key_mapping("ck-1", "Resident Key Manager");
            events::key_mapping("REMOVE_APPLICATION_KEYMAPPING", ("app-1", 1), "ck-1", "Resident Key Manager")
        })
        .await;
    gets(client, TEST_PATH, &ck1, 403, "900908").await.expect("REMOVE_APPLICATION_KEYMAPPING");
}

#[tokio::test]
async fn key_manager_and_revocation_events_change_which_tokens_are_accepted() {
    let following = Following::start().await;
    let (client, world) = (&following.client, &following.world);
    let key = SigningKey::ec256("other");
    let other = Issuer::start(vec![key.clone()]).await;
    let from_other = key.sign(&other.claims(json!({"azp": "ck-1"})));
    assert_eq!(get(client, TEST_PATH, &from_other).await, (401, "900901".to_owned()), "an unknown issuer");

    let configuration =
        json!({"issuer": other.issuer(), "certificate_type": "JWKS", "certificate_value": other.jwks_url()});
    following
        .change(|state| {
            state.add_key_manager("km-2", &other.issuer(), &other.jwks_url());
            events::key_manager("add", "km-2", &configuration)
        })
        .await;
    following
        .change(|state| {
            state.add_key_mapping("app-1", "ck-1", "km-2");
            events::key_mapping("APPLICATION_REGISTRATION_CREATE", ("app-1", 1), "ck-1", "km-2")
        })
        .await;
    gets(client, TEST_PATH, &from_other, 200, "").await.expect("key manager added, its key mapping created");
    following
        .change(|state| {
            for (entry, _) in state.key_managers.iter_mut().filter(|(entry, _)| entry["name"] == "km-2") {
                entry["enabled"] = json!(false);
            }
            events::key_manager("update", "km-2", &configuration)
        })
        .await;
    gets(client, TEST_PATH, &from_other, 401, "900901").await.expect("key manager updated to disabled");

    let revoked = world.key.sign(&world.issuer.claims(json!({"azp": "ck-1", "jti": "jti-revoked"})));
    assert_eq!(get(client, TEST_PATH, &revoked).await.0, 200);
    following.publish(events::token_revoked("jti-revoked", events::now_ms() + 3_600_000)).await;
    gets(client, TEST_PATH, &revoked, 401, "900901").await.expect("tokenRevocation");
    assert_eq!(get(client, TEST_PATH, &world.token("ck-1")).await.0, 200, "another token of the application");

    following
        .change(|state| {
            state.remove_key_manager("Resident Key Manager");
            events::key_manager("delete", "Resident Key Manager", &json!({}))
        })
        .await;
    gets(client, TEST_PATH, &world.token("ck-1"), 401, "900901").await.expect("key manager deleted");
}
