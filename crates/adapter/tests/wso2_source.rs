//! The `wso2-apim` source against the fake API-M of the test harness, in process, its event
//! hub replaced by a channel of `HubSignal`s built from `fixtures/wso2/events` and from the
//! event shapes of INTERFACE.md §4 (decoded with `decode_event`): the startup pull, every
//! event kind taking effect after a re-fetch, acks only once serving, out-of-date and
//! undecodable events, reconnects, REST failures, both version forms.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed test setup must panic loudly

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tollgate_adapter::source::wso2_apim::{Ack, Acker, HubMessage, HubSignal, PullOutcome};
use tollgate_adapter::wso2::{Change, EventError, decode_event};
use tollgate_adapter::{AdapterMetrics, Applier, SourceKind, Wso2Settings, Wso2Source, Wso2Status, Wso2Task};
use tollgate_enforcer::model::PolicyKind;
use tollgate_router::Snapshot;
use tollgate_tests::apim::{Apim, FakeApi, Form, PASSWORD, USERNAME};
use tollgate_tests::eventually;

use common::{applier_with, engine};

const SOON: Duration = Duration::from_secs(10);
const TEST_API: &str = "564d9716-cb27-4e8c-a756-db817f235065";
const PIZZA_SHACK: &str = "41013261-67ab-4311-96c8-42d41b6d2257";

/// Which acks ran, and whether what their event changed was serving at that moment.
type AckLog = Arc<Mutex<Vec<(String, bool)>>>;

struct World {
    apim: Apim,
    applier: Arc<Applier>,
    status: Wso2Status,
    hub: mpsc::Sender<HubSignal>,
    acks: AckLog,
    _task: Wso2Task,
}

/// An ack that records whether `serving` held of the snapshot when it ran.
struct CheckedAck {
    name: String,
    applier: Arc<Applier>,
    serving: Box<dyn Fn(&Snapshot) -> bool + Send>,
    log: AckLog,
}

impl Ack for CheckedAck {
    fn ack(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let serving = self.applier.store().load().is_some_and(|snapshot| (self.serving)(&snapshot));
        self.log.lock().unwrap().push((self.name.clone(), serving));
        Box::pin(async {})
    }
}

/// The fake holding the recorded TestAPI (served) and PizzaShackAPI (refused), a key
/// manager, an application with a key and a Gold subscription to the TestAPI.
async fn apim(form: Form) -> Apim {
    let apim = Apim::start(form).await;
    apim.with(|state| {
        state.deploy(FakeApi::test_api());
        state.deploy(FakeApi::pizza_shack());
        state.set_endpoint(TEST_API, "http://127.0.0.1:9");
        state.add_key_manager("Resident Key Manager", "https://issuer.example", "https://issuer.example/jwks");
        state.add_subscription_policy("Gold", 5000, "min");
        state.add_application_policy("10PerMin", 10, "min");
        state.add_api_policy("50KPerMin", 50_000, "min");
        state.add_application("app-1", 1, "10PerMin");
        state.add_key_mapping("app-1", "ck-1", "Resident Key Manager");
        state.add_subscription("sub-1", 1, TEST_API, "app-1", "Gold", "UNBLOCKED");
    });
    apim
}

async fn start(apim: Apim) -> World {
    tollgate_tests::install_crypto();
    let applier = applier_with(SourceKind::Wso2Apim, AdapterMetrics::unregistered().unwrap());
    let mut settings = Wso2Settings::new(apim.url());
    (settings.username, settings.password) = (USERNAME.into(), PASSWORD.into());
    settings.resync = Duration::from_secs(3600);
    let source = Wso2Source::new(settings.clone(), engine(&applier, settings.engine_settings())).unwrap();
    let status = source.status().clone();
    let (hub, signals) = mpsc::channel(64);
    let task = source.spawn(signals);
    hub.send(HubSignal::Connected { broker: "amqp://127.0.0.1:5672".into() }).await.unwrap();
    let world = World { apim, applier, status, hub, acks: AckLog::default(), _task: task };
    assert!(world.holds(|s| s.routes.apis().any(|api| &**api.id() == TEST_API)).await, "the startup pull serves");
    let reported = eventually(SOON, async || world.status.load().last_pull.is_some()).await;
    assert!(reported, "the pull's outcome is reported once it is served");
    world
}

impl World {
    async fn holds(&self, condition: impl Fn(&Snapshot) -> bool) -> bool {
        eventually(SOON, async || self.applier.store().load().is_some_and(|snapshot| condition(&snapshot))).await
    }

    /// Sends a message on `topic`, its ack checking `serving` when it runs.
    async fn publish(
        &self,
        name: &str,
        topic: &str,
        body: &[u8],
        serving: impl Fn(&Snapshot) -> bool + Send + 'static,
    ) {
        self.send(name, topic, decode_event(topic, body), serving).await;
    }

    async fn send(
        &self,
        name: &str,
        topic: &str,
        decoded: Result<tollgate_adapter::wso2::Event, EventError>,
        serving: impl Fn(&Snapshot) -> bool + Send + 'static,
    ) {
        let ack = CheckedAck {
            name: name.into(),
            applier: self.applier.clone(),
            serving: Box::new(serving),
            log: self.acks.clone(),
        };
        let message = HubMessage { topic: topic.into(), decoded, ack: Acker::new(ack) };
        self.hub.send(HubSignal::Message(Box::new(message))).await.unwrap();
    }

    /// Waits for the ack of `name`; returns whether its change was serving then.
    async fn acked(&self, name: &str) -> bool {
        let seen = eventually(SOON, async || self.acks.lock().unwrap().iter().any(|(n, _)| n == name)).await;
        assert!(seen, "{name} was never acked");
        self.acks.lock().unwrap().iter().find(|(n, _)| n == name).is_some_and(|(_, serving)| *serving)
    }

    fn rejected(&self) -> Vec<(String, String)> {
        self.applier.status().load().rejected.iter().map(|r| (r.id.clone(), r.error.clone())).collect()
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A `notification` message of `event_type` with this decoded event, stamped `timestamp`.
fn notification(event_type: &str, event: &Value, timestamp: u64) -> Vec<u8> {
    let encoded = STANDARD.encode(event.to_string());
    json!({"event": {"payloadData": {"eventType": event_type, "timestamp": timestamp, "event": encoded}}})
        .to_string()
        .into_bytes()
}

fn super_tenant(mut event: Value) -> Value {
    event["tenantDomain"] = json!("carbon.super");
    event["tenantId"] = json!(-1234);
    event
}

fn has_api(id: &'static str) -> impl Fn(&Snapshot) -> bool {
    move |s| s.routes.apis().any(|api| &**api.id() == id)
}

#[tokio::test]
async fn the_startup_pull_serves_the_recorded_api_refuses_the_other_and_acknowledges_the_revision() {
    for form in [Form::Legacy, Form::Current] {
        let world = start(apim(form).await).await;
        let served = world.applier.store().load().unwrap();
        let enforcement = &served.enforcement;
        assert!(enforcement.key_managers.by_name("Resident Key Manager").is_some(), "{form:?}");
        assert!(enforcement.key_mappings.get("Resident Key Manager", "ck-1").is_some(), "{form:?}");
        assert!(enforcement.subscriptions.get(TEST_API, "app-1").is_some(), "{form:?}");
        let gold = enforcement.policies.get(PolicyKind::Subscription, "Gold").and_then(|p| p.limit);
        assert_eq!(gold.map(|q| q.count.get()), Some(5000), "{form:?}: the limit comes from defaultLimit");
        let rejected = world.rejected();
        assert!(
            rejected.iter().any(|(id, error)| id == PIZZA_SHACK && error.contains("operation policy jsonValidator")),
            "{form:?}: {rejected:?}"
        );
        assert!(!served.routes.apis().any(|api| &**api.id() == PIZZA_SHACK));
        let patched = eventually(SOON, async || !world.apim.patches().is_empty()).await;
        assert!(patched, "{form:?}: the served revision is acknowledged");
        let expected =
            json!([{"apiId": TEST_API, "revisionId": 1, "envInfo": [{"name": "Default", "vhost": "localhost"}]}]);
        assert_eq!(world.apim.patches(), [expected], "{form:?}: the refused API's revision is not");
        let pull = world.status.load().last_pull.clone().map(|p| p.outcome);
        assert_eq!(pull, Some(PullOutcome::Served), "{form:?}");
    }
}

#[tokio::test]
async fn every_event_kind_takes_effect_after_a_refetch_and_is_acked_only_once_serving() {
    let world = start(apim(Form::Current).await).await;
    let now = now_ms();
    let second = FakeApi::test_api_as("7808af84-6b9a-4c86-953a-4f40f157671f", "second", 4);
    world.apim.with(|state| state.deploy(second));
    let deploy = super_tenant(json!({"apiId": 2, "uuid": "7808af84-6b9a-4c86-953a-4f40f157671f", "name": "second",
        "version": "1.0.0", "context": "/second/1.0.0", "gatewayLabels": ["Default"]}));
    let body = notification("DEPLOY_API_IN_GATEWAY", &deploy, now_ms());
    world.publish("deploy", "notification", &body, has_api("7808af84-6b9a-4c86-953a-4f40f157671f")).await;
    assert!(world.acked("deploy").await, "acked once the API serves");
    let acked_revision = eventually(SOON, async || world.apim.patches().iter().any(|p| p[0]["revisionId"] == 4)).await;
    assert!(acked_revision, "the deployed revision is acknowledged: {:?}", world.apim.patches());

    world.apim.with(|state| state.undeploy("7808af84-6b9a-4c86-953a-4f40f157671f"));
    let body = notification("REMOVE_API_FROM_GATEWAY", &deploy, now_ms());
    world.publish("undeploy", "notification", &body, |s| !has_api("7808af84-6b9a-4c86-953a-4f40f157671f")(s)).await;
    assert!(world.acked("undeploy").await);

    world.apim.with(|state| state.add_application("app-2", 2, "10PerMin"));
    let body =
        notification("APPLICATION_CREATE", &super_tenant(json!({"uuid": "app-2", "applicationId": 2})), now_ms());
    world.publish("application", "notification", &body, |s| s.enforcement.applications.get("app-2").is_some()).await;
    assert!(world.acked("application").await);

    world.apim.with(|state| state.add_key_mapping("app-2", "ck-2", "Resident Key Manager"));
    let mapping = json!({"applicationId": 2, "applicationUUID": "app-2", "consumerKey": "ck-2", "keyType": "PRODUCTION",
        "keyManager": "Resident Key Manager"});
    let body = notification("APPLICATION_REGISTRATION_CREATE", &super_tenant(mapping), now_ms());
    let mapped = |s: &Snapshot| s.enforcement.key_mappings.get("Resident Key Manager", "ck-2").is_some();
    world.publish("key mapping", "notification", &body, mapped).await;
    assert!(world.acked("key mapping").await);

    world.apim.with(|state| state.add_subscription("sub-2", 2, TEST_API, "app-2", "Gold", "UNBLOCKED"));
    let subscription = super_tenant(json!({"subscriptionId": 2, "subscriptionUUID": "sub-2", "apiUUID": TEST_API,
        "applicationUUID": "app-2", "policyId": "Gold", "subscriptionState": "UNBLOCKED"}));
    let body = notification("SUBSCRIPTIONS_CREATE", &subscription, now_ms());
    world
        .publish("subscription", "notification", &body, |s| {
            s.enforcement.subscriptions.get(TEST_API, "app-2").is_some()
        })
        .await;
    assert!(world.acked("subscription").await);

    world.apim.with(|state| state.add_subscription_policy("Gold", 7, "min"));
    let policy = super_tenant(
        json!({"policyType": "SUBSCRIPTION", "policyId": 1, "policyName": "Gold", "quotaType": "requestCount"}),
    );
    let body = notification("POLICY_UPDATE", &policy, now_ms());
    let limit_of_7 = |s: &Snapshot| {
        s.enforcement
            .policies
            .get(PolicyKind::Subscription, "Gold")
            .and_then(|p| p.limit)
            .is_some_and(|q| q.count.get() == 7)
    };
    world.publish("policy", "notification", &body, limit_of_7).await;
    assert!(world.acked("policy").await, "the event carries no limit: it was re-fetched");

    world.apim.with(|state| state.add_key_manager("km-2", "https://other.example", "https://other.example/jwks"));
    let km = json!({"event": {"payloadData": {"event_type": "key_manager_configuration", "action": "add", "name": "km-2",
        "type": "default", "enabled": true, "value": "", "tenantDomain": "carbon.super"}}});
    let body = km.to_string().into_bytes();
    world.publish("key manager", "keyManager", &body, |s| s.enforcement.key_managers.by_name("km-2").is_some()).await;
    assert!(world.acked("key manager").await);

    let mut revoked = decode_event("tokenRevocation", &Apim::fixture("events/cc-test-tokenRevocation.json")).unwrap();
    if let Change::TokenRevoked { expiry_ms, .. } = &mut revoked.change {
        *expiry_ms = Some(now + 3_600_000);
    }
    world.send("revocation", "tokenRevocation", Ok(revoked), |s| !s.enforcement.revocations.is_empty()).await;
    assert!(world.acked("revocation").await);
}

#[tokio::test]
async fn answers_that_are_not_json_or_not_a_zip_fail_their_group_alone_while_the_rest_applies() {
    let world = start(apim(Form::Current).await).await;
    world.apim.with(|state| {
        state.corrupt = vec!["runtime-artifacts".into(), "subscriptions".into()];
        state.add_application("app-5", 5, "10PerMin");
    });
    world.hub.send(HubSignal::Connected { broker: "amqp://127.0.0.1:5672".into() }).await.unwrap();
    let partial = async || world.status.load().last_pull.as_ref().is_some_and(|p| p.outcome == PullOutcome::Partial);
    assert!(eventually(SOON, partial).await, "{:?}", world.status.load());
    let error = world.status.load().last_pull.as_ref().and_then(|p| p.error.clone()).unwrap_or_default();
    assert!(error.contains("not a readable zip") && error.contains("subscriptions"), "{error}");
    let served = world.applier.store().load().unwrap();
    assert!(served.enforcement.applications.get("app-5").is_some(), "the applications group applied");
    assert!(
        has_api(TEST_API)(&served) && served.enforcement.subscriptions.get(TEST_API, "app-1").is_some(),
        "the failed groups keep what they had"
    );
    world.apim.with(|state| state.corrupt.clear());
    let whole = |p: &tollgate_adapter::source::wso2_apim::PullReport| {
        matches!(p.outcome, PullOutcome::Served | PullOutcome::Unchanged) && p.error.is_none()
    };
    let whole = async || world.status.load().last_pull.as_ref().is_some_and(whole);
    assert!(eventually(SOON, whole).await, "retried with backoff until whole: {:?}", world.status.load());
}

#[tokio::test]
async fn a_lifecycle_change_takes_the_state_api_manager_holds_now() {
    let world = start(apim(Form::Legacy).await).await;
    world.apim.with(|state| state.set_status(TEST_API, "BLOCKED"));
    let event = super_tenant(json!({"apiName": "TestAPI", "apiId": 1, "uuid": TEST_API, "apiVersion": "1.0.0",
        "apiContext": "/test/1.0.0", "apiProvider": "admin", "apiType": "HTTP", "apiStatus": "BLOCKED"}));
    let body = notification("API_LIFECYCLE_CHANGE", &event, now_ms());
    let blocked = |s: &Snapshot| s.routes.apis().any(|api| &**api.id() == TEST_API && api.guard.blocked);
    world.publish("lifecycle", "notification", &body, blocked).await;
    assert!(world.acked("lifecycle").await, "served BLOCKED (503 700700) once acked");
}

#[tokio::test]
async fn an_event_older_than_the_last_pull_of_its_entity_is_dropped() {
    let world = start(apim(Form::Current).await).await;
    let delete = super_tenant(
        json!({"subscriptionId": 1, "subscriptionUUID": "sub-1", "apiUUID": TEST_API, "applicationUUID": "app-1"}),
    );
    let stale = notification("SUBSCRIPTIONS_DELETE", &delete, 1_000);
    world
        .publish("stale", "notification", &stale, |s| s.enforcement.subscriptions.get(TEST_API, "app-1").is_some())
        .await;
    assert!(world.acked("stale").await, "dropped: the subscription stays");
    let fresh = notification("SUBSCRIPTIONS_DELETE", &delete, now_ms());
    world
        .publish("fresh", "notification", &fresh, |s| s.enforcement.subscriptions.get(TEST_API, "app-1").is_none())
        .await;
    assert!(world.acked("fresh").await, "a current delete applies, without a fetch");
}

#[tokio::test]
async fn an_undecodable_message_is_acked_and_a_full_pull_follows() {
    let world = start(apim(Form::Current).await).await;
    world.apim.with(|state| state.add_application("app-9", 9, "10PerMin"));
    world.publish("garbage", "notification", b"{\"event\": not json", |_| true).await;
    assert!(world.acked("garbage").await);
    let pulled = world.holds(|s| s.enforcement.applications.get("app-9").is_some()).await;
    assert!(pulled, "the change made without an event came with the full pull");
    let fixture = Apim::fixture("events/cc-test-notification-API_CREATE.json");
    world.publish("unexpected topic", "somethingElse", &fixture, |_| true).await;
    assert!(world.acked("unexpected topic").await);
}

#[tokio::test]
async fn a_reconnect_pulls_again_and_rest_failures_back_off_while_serving() {
    let world = start(apim(Form::Legacy).await).await;
    world.apim.fail_with(Some(503));
    world.hub.send(HubSignal::Disconnected { reason: "channel closed".into() }).await.unwrap();
    world.hub.send(HubSignal::Connected { broker: "amqp://127.0.0.1:5673".into() }).await.unwrap();
    let failed = eventually(SOON, async || {
        world.status.load().last_pull.as_ref().is_some_and(|p| p.outcome == PullOutcome::Failed)
    })
    .await;
    assert!(failed, "the re-pull after the reconnect failed");
    assert!(world.applier.store().load().is_some_and(|s| has_api(TEST_API)(&s)), "what was served stays");
    world.apim.with(|state| state.add_application("app-3", 3, "10PerMin"));
    world.apim.fail_with(None);
    assert!(world.holds(|s| s.enforcement.applications.get("app-3").is_some()).await, "retried after backoff");
    let sync = world.status.load();
    assert!(sync.broker_connected && sync.broker.as_deref() == Some("amqp://127.0.0.1:5673"), "{sync:?}");
}
