//! API-key check (client.md, "Credentials (securitySchemes api_key)"): a cached key, the steady
//! state, through the authenticator (verified-key cache hit, lifetime, revocation, key manager,
//! then `subscribedAPIs`, `permittedIP` and `permittedReferer` against the request's Api and
//! client), beside a naive baseline: a mutex-guarded map of decoded claims whose IP list is
//! parsed on every call. Aim: ≤ 1 µs.

#![allow(clippy::expect_used, reason = "bench setup: a broken fixture must fail loudly")]

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderValue;
use serde_json::{Value, json};
use tollgate_benches::credentials::{APIM_ISSUER, access, api, apim_api_key, authenticator, operation};
use tollgate_benches::now_or_never;
use tollgate_enforcer::token::{Authenticator, TokenSettings};
use tollgate_enforcer::{ApiGuard, ApiKeyPresented, Enforcement, OperationGuard, Presented, SecuritySchemes};

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));

struct Fixture {
    data: Enforcement,
    api: ApiGuard,
    operation: OperationGuard,
    key: HeaderValue,
    claims: Value,
}

/// A key as API-M writes it, subscribed to three APIs (the benched one last), restricted to
/// two ranges; a snapshot whose key manager holds API-M's public key.
fn fixture() -> Fixture {
    let subscribed: Vec<Value> = ["OrderAPI", "MenuAPI", "PizzaShackAPI"]
        .iter()
        .map(|name| json!({"name": name, "version": "1.0.0", "context": format!("/{name}/1.0.0"), "subscriptionTier": "Gold"}))
        .collect();
    let claims = json!({
        "iss": APIM_ISSUER, "sub": "admin@carbon.super", "jti": "key-1", "keytype": "PRODUCTION", "token_type": "apiKey",
        "application": {"id": 1, "uuid": "app-uuid", "name": "Mobile", "owner": "admin", "tier": "Unlimited"},
        "subscribedAPIs": subscribed, "permittedIP": "192.168.0.0/16, 10.0.0.0/8", "permittedReferer": ""
    });
    let (key, data) = apim_api_key(&claims);
    Fixture {
        data,
        api: api("PizzaShackAPI", "1.0.0", SecuritySchemes::BEARER_AND_API_KEY, Some("/PizzaShackAPI/1.0.0")),
        operation: operation("GET /menu", &[]),
        key,
        claims,
    }
}

fn check(authenticator: &Authenticator, fixture: &Fixture, key: &HeaderValue) -> bool {
    let presented = Presented { api_key: ApiKeyPresented::Header(key), ..Presented::default() };
    let access = access(&fixture.api, &fixture.operation, presented, CLIENT);
    now_or_never(authenticator.authenticate(&fixture.data, &access)).is_ok()
}

/// The naive check: decoded claims from a locked map, the subscription found by name, the IP
/// list split and parsed on every call.
fn naive_check(cache: &Mutex<HashMap<String, Arc<Value>>>, key: &HeaderValue) -> bool {
    let Some(claims) = key.to_str().ok().and_then(|key| cache.lock().ok()?.get(key).cloned()) else { return false };
    let subscribed = claims["subscribedAPIs"].as_array().into_iter().flatten();
    let named = subscribed.clone().any(|api| api["name"] == "PizzaShackAPI" && api["version"] == "1.0.0");
    let ranges = claims["permittedIP"].as_str().unwrap_or_default().split(',').map(str::trim);
    let permitted = ranges.filter_map(|range| range.split_once('/')).any(|(net, bits)| {
        let (Ok(net), Ok(bits)) = (net.parse::<Ipv4Addr>(), bits.parse::<u32>()) else { return false };
        let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
        matches!(CLIENT, IpAddr::V4(ip) if u32::from(ip) & mask == u32::from(net) & mask)
    });
    named && permitted
}

fn api_key_check(c: &mut Criterion) {
    let fixture = fixture();
    let authenticator = authenticator(TokenSettings::default(), &fixture.data);
    assert!(check(&authenticator, &fixture, &fixture.key), "the key is valid");
    let mut group = c.benchmark_group("api_key_check/cached");
    group.bench_function("tollgate", |b| b.iter(|| check(&authenticator, &fixture, black_box(&fixture.key))));
    let key = fixture.key.to_str().expect("ASCII").to_owned();
    let naive = Mutex::new(HashMap::from([(key, Arc::new(fixture.claims.clone()))]));
    assert!(naive_check(&naive, &fixture.key), "the baseline admits the key");
    group.bench_function("baseline_mutex_hashmap", |b| b.iter(|| naive_check(&naive, black_box(&fixture.key))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).sample_size(60);
    targets = api_key_check
}
criterion_main!(benches);
