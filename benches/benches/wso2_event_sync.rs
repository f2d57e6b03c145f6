//! The `wso2-apim` source end to end, with the real gateway (release build), the fake API-M
//! of the test harness holding 1,000 APIs, and a real RabbitMQ (`rabbitmq-server`, started
//! on free ports as the tests start it): event → serving latency (issue 12 aims at p99
//! ≤ 100 ms). Each event is measured alone: API-M's state is changed in the fake, the event
//! API-M would publish goes to the broker (timed from here, the broker's confirm included),
//! then requests on one connection, back to back, until the change shows:
//! - `DEPLOY_API_IN_GATEWAY` of a new API: until it routes (401 without a token, not 404);
//! - `SUBSCRIPTIONS_CREATE` of an application to one of the 1,000: until its token gets 200
//!   instead of 403.
//!
//! Needs `target/release/tollgate` (or `TOLLGATE_BIN`): `cargo build --release -p
//! tollgate-gateway`, then `cargo bench -p tollgate-benches --bench wso2_event_sync`.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use tollgate_benches::process::{gateway_binary, resident_memory_mb};
use tollgate_tests::apim::events::{self, HubEvent};
use tollgate_tests::apim::{Apim, FakeApi, Form};
use tollgate_tests::rabbitmq::{Publisher, RabbitMq};
use tollgate_tests::{Client, GatewayProcess, GatewaySetup, Issuer, SigningKey, Upstream, empty, eventually};

const APIS: usize = 1_000;
/// Applications subscribed to every API: 10,000 subscriptions in the startup pull.
const SUBSCRIBED_APPS: usize = 10;
/// Events measured per kind.
const EVENTS: usize = 100;
const KEY_MANAGER: &str = "Resident Key Manager";
/// How long one change may take before the bench gives up.
const GIVE_UP: Duration = Duration::from_secs(30);

/// What the gateway under test talks to.
struct Bench {
    apim: Apim,
    upstream: Upstream,
    publisher: Publisher,
    gateway: GatewayProcess,
    /// A token of `bench-app`, subscribed to nothing at the start.
    token: String,
}

fn main() {
    let binary = gateway_binary();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        tollgate_tests::install_crypto();
        let rabbit = RabbitMq::start().await;
        let key = SigningKey::ec256("k1");
        let issuer = Issuer::start(vec![key.clone()]).await;
        let token = key.sign(&issuer.claims(json!({"azp": "ck-bench"})));
        let bench = start(&binary, &rabbit, &issuer, token).await;
        let mut deploys = Vec::with_capacity(EVENTS);
        let mut subscriptions = Vec::with_capacity(EVENTS);
        for i in 0..EVENTS {
            deploys.push(deploy(&bench, i).await);
            subscriptions.push(subscribe(&bench, i).await);
        }
        report("DEPLOY_API_IN_GATEWAY → routable", &mut deploys);
        report("SUBSCRIPTIONS_CREATE → 200", &mut subscriptions);
        let mut all: Vec<Duration> = deploys.into_iter().chain(subscriptions).collect();
        report("every event", &mut all);
        bench.publisher.close().await;
    });
}

/// The fake API-M seeded, the gateway following it and the broker, serving all the APIs;
/// `token` is `bench-app`'s.
async fn start(binary: &PathBuf, rabbit: &RabbitMq, issuer: &Issuer, token: String) -> Bench {
    let upstream = Upstream::start("up").await;
    let apim = seeded(&upstream, issuer).await;
    let vhost = rabbit.vhost();
    let source = apim.source_config(&format!(
        "broker_urls = [{:?}]\nresync_seconds = 3600\nrequest_timeout_seconds = 120\n",
        rabbit.url(&vhost)
    ));
    let started = Instant::now();
    let gateway = GatewaySetup::new(binary).config(&source).config("[log]\naccess = false\n").start().await;
    let client = gateway.client();
    let last = format!("/api{}/1.0.0/menu", APIS - 1);
    let serving = async || client.send(request(&client, &last, None)).await.is_ok_and(|r| r.status == 401);
    assert!(eventually(Duration::from_secs(300), serving).await, "the {APIS} APIs were never served");
    let subscriptions = APIS * SUBSCRIBED_APPS;
    println!(
        "wso2_event_sync: {APIS} APIs + {subscriptions} subscriptions served {:.2?} after start",
        started.elapsed()
    );
    let (rss, peak) = resident_memory_mb(gateway.pid());
    println!("wso2_event_sync: the gateway's VmRSS {rss} MB (peak {peak} MB)");
    let connected = async || gateway.admin().get("/config").await.json()["source"]["eventHub"]["connected"] == true;
    assert!(eventually(Duration::from_secs(60), connected).await, "the event hub never connected");
    let publisher = rabbit.publisher(&vhost).await;
    Bench { apim, upstream, publisher, gateway, token }
}

/// [`APIS`] copies of the recorded TestAPI, a key manager for `issuer`, and application
/// `bench-app` (consumer key `ck-bench`) with no subscription.
async fn seeded(upstream: &Upstream, issuer: &Issuer) -> Apim {
    let apim = Apim::start(Form::Current).await;
    apim.with(|state| {
        state.add_key_manager(KEY_MANAGER, &issuer.issuer(), &issuer.jwks_url());
        state.add_subscription_policy("Gold", 1_000_000, "min");
        state.add_application("bench-app", 1, "Unlimited");
        state.add_key_mapping("bench-app", "ck-bench", KEY_MANAGER);
        for app in 0..SUBSCRIBED_APPS {
            state.add_application(&format!("app-{app}"), 2 + app as i64, "Unlimited");
        }
        for i in 0..APIS {
            let api = FakeApi::test_api_as(&api_uuid(i), &format!("api{i}"), 1);
            state.set_endpoint(&api.uuid, &upstream.url());
            state.deploy(api);
            for app in 0..SUBSCRIBED_APPS {
                let id = 1_000_000 + i * SUBSCRIBED_APPS + app;
                // Pushed as API-M lists them (`add_subscription` would search the list each time).
                state.subscriptions.push(json!({"subscriptionUUID": format!("seeded-{id}"), "subscriptionId": id,
                    "policyId": "Gold", "apiUUID": api_uuid(i), "apiId": i, "applicationUUID": format!("app-{app}"),
                    "appId": 2 + app, "subscriptionState": "UNBLOCKED"}));
            }
        }
    });
    apim
}

/// Deploys a new API by an event; the time until it routes.
async fn deploy(bench: &Bench, i: usize) -> Duration {
    let api = FakeApi::test_api_as(&api_uuid(APIS + i), &format!("event{i}"), 1);
    let upstream = bench.upstream.url();
    let event = bench.apim.with(|state| {
        state.set_endpoint(&api.uuid, &upstream);
        state.deploy(api.clone());
        events::api_deployed(&api)
    });
    timed(bench, &event, &format!("/event{i}/1.0.0/menu"), None, 401).await
}

/// Subscribes `bench-app` to API `i` by an event; the time until its token gets 200.
async fn subscribe(bench: &Bench, i: usize) -> Duration {
    let uuid = format!("sub-{i}");
    let event = bench.apim.with(|state| {
        state.add_subscription(&uuid, i as i64 + 1, &api_uuid(i), "bench-app", "Gold", "UNBLOCKED");
        let subscription = state.subscriptions.iter().find(|s| s["subscriptionUUID"] == uuid.as_str()).unwrap();
        events::subscription("SUBSCRIPTIONS_CREATE", subscription)
    });
    timed(bench, &event, &format!("/api{i}/1.0.0/menu"), Some(&bench.token), 200).await
}

/// Publishes `event`, then requests `path` until it answers `wanted`: the time from the
/// publish.
async fn timed(bench: &Bench, event: &HubEvent, path: &str, token: Option<&str>, wanted: u16) -> Duration {
    let client = bench.gateway.client();
    let mut conn = client.connect().await.unwrap();
    let start = Instant::now();
    assert!(bench.publisher.publish(event.topic, &event.body).await, "{} is bound", event.topic);
    loop {
        let Ok(reply) = conn.send(request(&client, path, token)).await else {
            conn = client.connect().await.unwrap();
            continue;
        };
        if reply.status.as_u16() == wanted {
            return start.elapsed();
        }
        assert!(start.elapsed() < GIVE_UP, "{path} never answered {wanted}: {} {}", reply.status, reply.text());
    }
}

/// `GET path`, with `token` as a bearer token when there is one.
fn request(client: &Client, path: &str, token: Option<&str>) -> http::Request<tollgate_tests::ClientBody> {
    let mut request = client.request("GET", path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(empty()).unwrap()
}

fn report(label: &str, samples: &mut [Duration]) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    println!(
        "wso2_event_sync [{APIS} APIs loaded] {label}, {} events: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        samples.len(),
        at(0.50),
        at(0.99),
        samples[samples.len() - 1]
    );
}

fn api_uuid(i: usize) -> String {
    format!("{i:08}-0000-4000-8000-000000000000")
}
