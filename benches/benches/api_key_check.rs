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
use jsonwebtoken::{Algorithm as Jwt, EncodingKey, Header};
use serde_json::{Value, json};
use tollgate_benches::now_or_never;
use tollgate_enforcer::clock::SystemClock;
use tollgate_enforcer::model::{AlgorithmSet, KeyManager, KeySource};
use tollgate_enforcer::token::{Authenticator, TokenSettings};
use tollgate_enforcer::{
    Access, ApiGuard, ApiKeyPresented, Enforcement, EnforcerMetrics, KeyManagers, KeyTypes, OperationGuard, Presented,
    SecuritySchemes,
};

const ISSUER: &str = "https://apim.test:9443/oauth2/token";
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));

struct Fixture {
    data: Enforcement,
    api: ApiGuard,
    operation: OperationGuard,
    key: HeaderValue,
    claims: Value,
}

/// A key as API-M writes it, subscribed to three APIs (the benched one last), restricted to
/// two ranges, signed RS256; a snapshot whose key manager holds API-M's public key.
fn fixture() -> Fixture {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("key generation");
    let subscribed: Vec<Value> = ["OrderAPI", "MenuAPI", "PizzaShackAPI"]
        .iter()
        .map(|name| json!({"name": name, "version": "1.0.0", "context": format!("/{name}/1.0.0"), "subscriptionTier": "Gold"}))
        .collect();
    let claims = json!({
        "iss": ISSUER, "sub": "admin@carbon.super", "jti": "key-1", "keytype": "PRODUCTION", "token_type": "apiKey",
        "application": {"id": 1, "uuid": "app-uuid", "name": "Mobile", "owner": "admin", "tier": "Unlimited"},
        "subscribedAPIs": subscribed, "permittedIP": "192.168.0.0/16, 10.0.0.0/8", "permittedReferer": ""
    });
    let encoding = EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes()).expect("a private key");
    let key = jsonwebtoken::encode(&Header::new(Jwt::RS256), &claims, &encoding).expect("signing");
    let key_manager = Arc::new(KeyManager {
        name: "apim".into(),
        issuer: ISSUER.into(),
        keys: KeySource::Pem { pem: pair.public_key_pem().into() },
        audiences: Box::new([]),
        consumer_key_claim: "azp".into(),
        scopes_claim: "scope".into(),
        validate_subscription: true,
        enabled: true,
        algorithms: AlgorithmSet::all(),
        clock_skew: Duration::from_secs(30),
    });
    Fixture {
        data: Enforcement { key_managers: Arc::new(KeyManagers::new([key_manager])), ..Enforcement::default() },
        api: ApiGuard {
            id: "api-1".into(),
            name: "PizzaShackAPI".into(),
            version: "1.0.0".into(),
            blocked: false,
            throttling_policy: None,
            schemes: SecuritySchemes::BEARER_AND_API_KEY,
            base_paths: Box::new(["/PizzaShackAPI/1.0.0".into()]),
            client_certificates: Default::default(),
        },
        operation: OperationGuard {
            secured: true,
            scopes: Box::new([]),
            throttling_policy: None,
            resource: "GET /menu".into(),
        },
        key: HeaderValue::from_str(&key).expect("a header value"),
        claims,
    }
}

fn check(authenticator: &Authenticator, fixture: &Fixture, key: &HeaderValue) -> bool {
    let access = Access {
        api: &fixture.api,
        operation: &fixture.operation,
        presented: Presented { api_key: ApiKeyPresented::Header(key), ..Presented::default() },
        client_ip: CLIENT,
        endpoints: KeyTypes::BOTH,
    };
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
    let metrics = EnforcerMetrics::unregistered().expect("metrics");
    let authenticator = Authenticator::new(TokenSettings::default(), SystemClock::shared(), metrics);
    authenticator.prepare(&fixture.data.key_managers);
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
