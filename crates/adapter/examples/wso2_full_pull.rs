//! Timed harness: a full pull of 1,000 APIs and 10,000 subscriptions from the fake API-M of
//! the test harness, through the `wso2-apim` source and the engine, until it is serving
//! (issue 12 aims at ≤ 2 s and ≤ 100 MB RSS). The time includes the fake building its
//! runtime-artifacts zip for the request (its own work, not the gateway's).
//!
//! ```sh
//! cargo run --release -p tollgate-adapter --example wso2_full_pull [APIS] [SUBSCRIPTIONS_PER_API]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // a harness: fail loudly, print the result

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tollgate_adapter::{AdapterMetrics, Applier, Engine, SourceKind, Wso2Settings, Wso2Source};
use tollgate_enforcer::clock::SystemClock;
use tollgate_enforcer::{Enforcer, EnforcerMetrics, EnforcerSettings};
use tollgate_router::SnapshotStore;
use tollgate_tests::apim::{Apim, FakeApi, Form, PASSWORD, USERNAME};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).map(|arg| arg.parse::<usize>().expect("a number"));
    let (apis, per_api) = (args.next().unwrap_or(1_000), args.next().unwrap_or(10));
    tollgate_tests::install_crypto();
    let apim = seeded(apis, per_api).await;
    println!("fake API-M holds {apis} APIs, {} applications, {} subscriptions", per_api, apis * per_api);
    println!("before the pull: {}", memory());

    let store = Arc::new(SnapshotStore::new());
    let clock = SystemClock::shared();
    let enforcer =
        Arc::new(Enforcer::new(EnforcerSettings::default(), clock.clone(), EnforcerMetrics::unregistered().unwrap()));
    let metrics = AdapterMetrics::unregistered().unwrap();
    let applier = Arc::new(Applier::new(store.clone(), enforcer, metrics, clock, SourceKind::Wso2Apim));
    let mut settings = Wso2Settings::new(apim.url());
    (settings.username, settings.password) = (USERNAME.into(), PASSWORD.into());
    settings.request_timeout = Duration::from_secs(120);
    let engine = Engine::start(applier, settings.engine_settings()).unwrap();
    let source = Wso2Source::new(settings, engine).unwrap();
    // No event hub: the source pulls at once.
    let (_, signals) = mpsc::channel(1);

    let started = Instant::now();
    let _task = source.spawn(signals);
    loop {
        let served = store
            .load()
            .is_some_and(|s| s.routes.apis().count() == apis && s.enforcement.subscriptions.len() == apis * per_api);
        if served {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!("full pull to serving: {:?}", started.elapsed());
    println!("serving: {}", memory());
}

/// `apis` copies of the recorded TestAPI, `per_api` applications each subscribed to every API.
async fn seeded(apis: usize, per_api: usize) -> Apim {
    let apim = Apim::start(Form::Current).await;
    apim.with(|state| {
        state.add_key_manager("Resident Key Manager", "https://issuer.example", "https://issuer.example/jwks");
        state.add_subscription_policy("Gold", 5000, "min");
        for app in 0..per_api {
            state.add_application(&format!("app-{app}"), app as i64, "Unlimited");
            state.add_key_mapping(&format!("app-{app}"), &format!("ck-{app}"), "Resident Key Manager");
        }
        for api in 0..apis {
            let uuid = format!("{api:08}-0000-4000-8000-000000000000");
            state.deploy(FakeApi::test_api_as(&uuid, &format!("api{api}"), 1));
            state.set_endpoint(&uuid, "http://127.0.0.1:9");
            for app in 0..per_api {
                let id = api * per_api + app;
                // Pushed as API-M lists them (`add_subscription` would search the list each time).
                state.subscriptions.push(
                    serde_json::json!({"subscriptionUUID": format!("sub-{id}"), "subscriptionId": id,
                    "policyId": "Gold", "apiUUID": uuid, "apiId": api, "applicationUUID": format!("app-{app}"),
                    "appId": app, "subscriptionState": "UNBLOCKED"}),
                );
            }
        }
    });
    apim
}

/// The process's resident set now and at its peak (Linux).
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = |key: &str| status.lines().find(|l| l.starts_with(key)).map(|l| l.trim().to_owned()).unwrap_or_default();
    format!(
        "{}; {} (the fake API-M's state included: the source's share is the growth from before the pull)",
        line("VmRSS"),
        line("VmHWM")
    )
}
