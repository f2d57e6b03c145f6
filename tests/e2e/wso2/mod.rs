//! contract/wso2.md end to end: the real gateway with `source.kind = "wso2-apim"` against the
//! fake API-M of the harness (`tollgate_tests::apim`), built on the recorded 4.3.0 runtime
//! artifacts of `fixtures/wso2/`.
//!
//! Files: `source.rs` (REST side: startup pull, enforcement, refusals, resync, faults,
//! last-known-good state, deployed-revision acks, both version forms). `hub.rs`: the event hub
//! against a real RabbitMQ.

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

    /// A token of application `ck` (its consumer key in `azp`).
    fn token(&self, consumer_key: &str) -> String {
        self.key.sign(&self.issuer.claims(json!({"azp": consumer_key})))
    }
}

/// `GET /test/1.0.0/menu` with the token of `consumer_key`: status and error code.
async fn call(client: &Client, world: &World, consumer_key: &str) -> (u16, String) {
    let request = client
        .request("GET", "/test/1.0.0/menu")
        .header("authorization", format!("Bearer {}", world.token(consumer_key)));
    match client.send(request.body(empty()).unwrap()).await {
        Ok(reply) => (reply.status.as_u16(), reply.code()),
        Err(_) => (0, String::new()),
    }
}

/// Waits until the token of `consumer_key` gets `status`.
async fn answers(client: &Client, world: &World, consumer_key: &str, status: u16) -> bool {
    eventually(SOON, async || call(client, world, consumer_key).await.0 == status).await
}

async fn config(gateway: &GatewayProcess) -> Value {
    gateway.admin().get("/config").await.json()
}

async fn ready(gateway: &GatewayProcess) -> bool {
    gateway.admin().get("/health/ready").await.status == 200
}
