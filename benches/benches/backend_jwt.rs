//! Backend JWT (client.md, "Backend JWT"): the steady state, a JWT already minted for this
//! (credential, Api) and served from the signer's cache (lookup, checks that it still describes
//! the request and was signed by the current key, a shared header value), beside what the
//! cache saves (minting and signing on every request, ES256 and RS256) and a naive baseline
//! (a mutex-guarded map from the token and Api to the JWT text, copied into a header value).
//! Aim: cached ≤ 1 µs.

#![allow(clippy::expect_used, reason = "bench setup: a broken fixture must fail loudly")]

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderName, HeaderValue};
use serde_json::json;
use tollgate_benches::credentials::{APIM_ISSUER, access, api, apim_api_key, authenticator, operation};
use tollgate_benches::now_or_never;
use tollgate_enforcer::backend_jwt::{BackendJwtSettings, BackendJwtSigner, SigningKey};
use tollgate_enforcer::clock::SystemClock;
use tollgate_enforcer::token::TokenSettings;
use tollgate_enforcer::{
    ApiGuard, ApiKeyPresented, Enforcement, OperationGuard, Presented, Principal, SecuritySchemes,
};

struct Fixture {
    data: Enforcement,
    api: ApiGuard,
    operation: OperationGuard,
    key: HeaderValue,
}

/// An API key as API-M writes it, and a snapshot whose key manager holds API-M's public key.
fn fixture() -> Fixture {
    let claims = json!({
        "iss": APIM_ISSUER, "sub": "admin@carbon.super", "jti": "key-1", "keytype": "PRODUCTION",
        "application": {"id": 1, "uuid": "app-uuid", "name": "Mobile", "owner": "admin", "tier": "Unlimited"},
        "subscribedAPIs": [{"name": "PizzaShackAPI", "version": "1.0.0", "context": "/pizzashack/1.0.0", "subscriptionTier": "Gold"}],
    });
    let (key, data) = apim_api_key(&claims);
    let schemes = SecuritySchemes { oauth2: false, api_key: true, ..SecuritySchemes::default() };
    Fixture {
        data,
        api: api("PizzaShackAPI", "1.0.0", schemes, Some("/pizzashack/1.0.0")),
        operation: operation("GET /menu", &[]),
        key,
    }
}

/// The principal the enforcer admits the key as (carrying its verified credential).
fn admitted(fixture: &Fixture) -> Principal {
    let authenticator = authenticator(TokenSettings::default(), &fixture.data);
    let presented = Presented { api_key: ApiKeyPresented::Header(&fixture.key), ..Presented::default() };
    let access = access(&fixture.api, &fixture.operation, presented, IpAddr::V4(Ipv4Addr::LOCALHOST));
    now_or_never(authenticator.authenticate(&fixture.data, &access)).expect("the key is valid")
}

fn signer(alg: &'static rcgen::SignatureAlgorithm) -> BackendJwtSigner {
    let pem = rcgen::KeyPair::generate_for(alg).expect("key generation").serialize_pem();
    let settings = BackendJwtSettings {
        issuer: "tollgate".into(),
        header: HeaderName::from_static("x-jwt-assertion"),
        ttl: Duration::from_secs(900),
    };
    BackendJwtSigner::new(settings, SigningKey::from_pem(pem.as_bytes(), None).expect("a key"), SystemClock::shared())
}

/// The naive cache: the JWT text by (token, Api id) behind a mutex, copied into a header value.
fn naive(cache: &Mutex<HashMap<(String, String), String>>, key: &HeaderValue, api: &str) -> Option<HeaderValue> {
    let token = key.to_str().ok()?.to_owned();
    let jwt = cache.lock().ok()?.get(&(token, api.to_owned()))?.clone();
    HeaderValue::try_from(jwt).ok()
}

fn backend_jwt(c: &mut Criterion) {
    let fixture = fixture();
    let principal = admitted(&fixture);
    let es256 = signer(&rcgen::PKCS_ECDSA_P256_SHA256);
    let first = es256.assertion(&principal, &fixture.api).expect("a JWT");
    assert_eq!(es256.assertion(&principal, &fixture.api).ok(), Some(first.clone()), "the second is cached");
    let mut group = c.benchmark_group("backend_jwt/cached");
    group.bench_function("tollgate", |b| b.iter(|| es256.assertion(black_box(&principal), &fixture.api)));
    let token = fixture.key.to_str().expect("ASCII").to_owned();
    let jwt = first.to_str().expect("ASCII").to_owned();
    let cache = Mutex::new(HashMap::from([((token, fixture.api.id.to_string()), jwt)]));
    assert!(naive(&cache, &fixture.key, &fixture.api.id).is_some(), "the baseline finds it");
    group.bench_function("baseline_mutex_hashmap", |b| b.iter(|| naive(&cache, black_box(&fixture.key), "api-1")));
    group.finish();

    // Without a credential to cache under, every call mints and signs: what the cache saves.
    let uncached = Principal { credential: None, ..principal };
    let rs256 = signer(&rcgen::PKCS_RSA_SHA256);
    let mut group = c.benchmark_group("backend_jwt/minted_every_request");
    group.bench_function("es256", |b| b.iter(|| es256.assertion(black_box(&uncached), &fixture.api)));
    group.bench_function("rs256", |b| b.iter(|| rs256.assertion(black_box(&uncached), &fixture.api)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).sample_size(60);
    targets = backend_jwt
}
criterion_main!(benches);
