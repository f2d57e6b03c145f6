//! contract/wso2.md end to end: the real gateway with `source.kind = "wso2-apim"` against the
//! fake API-M of the harness (`tollgate_tests::apim`), built on the recorded 4.3.0 runtime
//! artifacts of `fixtures/wso2/`.
//!
//! Files: `source.rs` (REST side: startup pull, enforcement, refusals, resync, faults,
//! last-known-good state, deployed-revision acks, both version forms). `hub/`: the event hub
//! in process against a real RabbitMQ. `following.rs`: the gateway following a real broker,
//! every event type taking effect on requests. `broker_restart.rs`: the broker restarted
//! while events are published, nothing lost.

mod broker_restart;
mod following;
mod hub;
mod source;

use std::time::Duration;

use serde_json::{Value, json};
use tollgate_tests::apim::{Apim, FakeApi, Form};
use tollgate_tests::{Client, GatewayProcess, GatewaySetup, Issuer, SigningKey, Upstream, empty, eventually};

use crate::support::gateway;

/// How long a change on API-M may take to show.
const SOON: Duration = Duration::from_secs(15);
/// The recorded TestAPI (served at `/test/1.0.0`).
const TEST_API: &str = "564d9716-cb27-4e8c-a756-db817f235065";
/// The recorded PizzaShackAPI (refused for its `jsonValidator` operation policy).
const PIZZA_SHACK: &str = "41013261-67ab-4311-96c8-42d41b6d2257";

/// API-M, the upstream and token issuer its APIs and key manager point at.
struct World {
    apim: Apim,
    upstream: Upstream,
    issuer: Issuer,
    key: SigningKey,
}

impl World {
    /// The recorded APIs deployed on `Default` (TestAPI to `upstream`), a key manager for
    /// `issuer`, application `app-1` (consumer key `ck-1`) subscribed to the TestAPI with
    /// Gold, and `app-2` (`ck-2`) subscribed to nothing.
    async fn start(form: Form) -> World {
        let key = SigningKey::ec256("k1");
        let issuer = Issuer::start(vec![key.clone()]).await;
        let upstream = Upstream::start("test-api").await;
        let apim = Apim::start(form).await;
        apim.with(|state| {
            state.deploy(FakeApi::test_api());
            state.deploy(FakeApi::pizza_shack());
            state.set_endpoint(TEST_API, &upstream.url());
            state.add_key_manager("Resident Key Manager", &issuer.issuer(), &issuer.jwks_url());
            state.add_subscription_policy("Gold", 5000, "min");
            state.add_application_policy("10PerMin", 10, "min");
            for (app, id) in [("app-1", 1), ("app-2", 2)] {
                state.add_application(app, id, "10PerMin");
                state.add_key_mapping(app, &format!("ck-{id}"), "Resident Key Manager");
            }
            state.add_subscription("sub-1", 1, TEST_API, "app-1", "Gold", "UNBLOCKED");
        });
        World { apim, upstream, issuer, key }
    }

    /// A gateway set up for this API-M, with `extra` `[source]` lines.
    fn setup(&self, extra: &str) -> GatewaySetup {
        gateway().config(&self.apim.source_config(extra))
    }

    /// A gateway set up for this API-M and its event hub at `broker_url` (a full pull only
    /// every hour: what changes without an event stays unseen until a reconnect).
    fn following(&self, broker_url: &str) -> GatewaySetup {
        self.setup(&format!("broker_urls = [{broker_url:?}]\nresync_seconds = 3600\n"))
    }

    /// Applications `app-1` and `app-2` without an application limit, so that tests polling
    /// with requests are never throttled by it.
    fn unlimited_applications(&self) {
        self.apim.with(|state| {
            state.add_application("app-1", 1, "Unlimited");
            state.add_application("app-2", 2, "Unlimited");
        });
    }

    /// A token of application `ck` (its consumer key in `azp`).
    fn token(&self, consumer_key: &str) -> String {
        self.key.sign(&self.issuer.claims(json!({"azp": consumer_key})))
    }
}

/// `GET /test/1.0.0/menu` with the token of `consumer_key`: status and error code.
async fn call(client: &Client, world: &World, consumer_key: &str) -> (u16, String) {
    get(client, "/test/1.0.0/menu", &world.token(consumer_key)).await
}

/// `GET path` with `token`: status and error code (0 when the request failed).
async fn get(client: &Client, path: &str, token: &str) -> (u16, String) {
    let request = client.request("GET", path).header("authorization", format!("Bearer {token}"));
    match client.send(request.body(empty()).unwrap()).await {
        Ok(reply) => (reply.status.as_u16(), reply.code()),
        Err(_) => (0, String::new()),
    }
}

/// Waits until `GET path` with `token` gets `status` (and `code`, when not empty); the
/// last answer when it never does.
async fn gets(client: &Client, path: &str, token: &str, status: u16, code: &str) -> Result<(), (u16, String)> {
    let matches = |answer: &(u16, String)| answer.0 == status && (code.is_empty() || answer.1 == code);
    if eventually(SOON, async || matches(&get(client, path, token).await)).await {
        return Ok(());
    }
    Err(get(client, path, token).await)
}

/// Waits until the token of `consumer_key` gets `status`.
async fn answers(client: &Client, world: &World, consumer_key: &str, status: u16) -> bool {
    eventually(SOON, async || call(client, world, consumer_key).await.0 == status).await
}

async fn config(gateway: &GatewayProcess) -> Value {
    gateway.admin().get("/config").await.json()
}

/// `/config`'s `source.eventHub.connected`.
async fn hub_connected(gateway: &GatewayProcess) -> bool {
    config(gateway).await["source"]["eventHub"]["connected"] == true
}

async fn ready(gateway: &GatewayProcess) -> bool {
    gateway.admin().get("/health/ready").await.status == 200
}
