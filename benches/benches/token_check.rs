//! Token check: a cached token (the steady state), and uncached RS256 and ES256 checks, each
//! beside a naive baseline: a mutex-guarded map of decoded claims for the cached path, and
//! `jsonwebtoken::decode` with a `Validation` (re-parsing the key's PEM once, not per call)
//! for the uncached ones. The Tollgate checks include the subscription and scope lookups.

#![allow(clippy::expect_used, reason = "bench setup: a broken fixture must fail loudly")]

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderValue;
use jsonwebtoken::{Algorithm as Jwt, DecodingKey, EncodingKey, Header, Validation};
use serde_json::json;
use tollgate_benches::credentials::{access, api, authenticator, key_manager, operation};
use tollgate_benches::now_or_never;
use tollgate_enforcer::model::{Application, KeyMapping, KeyType, Subscription, SubscriptionStatus};
use tollgate_enforcer::token::{Authenticator, CredentialHeader, TokenSettings};
use tollgate_enforcer::{
    ApiGuard, Applications, Enforcement, KeyManagers, KeyMappings, OperationGuard, Presented, SecuritySchemes,
    Subscriptions,
};

#[derive(Clone, Copy)]
enum KeyKind {
    Rsa,
    P256,
}

/// One key pair, the token it signed, and how a key manager publishes it.
struct Signer {
    kind: KeyKind,
    alg: Jwt,
    issuer: &'static str,
    public_pem: String,
    token: String,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)] // read by serde only: decoding every claim is what a naive check costs
struct Claims {
    iss: String,
    sub: String,
    exp: u64,
    azp: String,
    scope: String,
    jti: String,
}

struct Fixture {
    data: Enforcement,
    api: ApiGuard,
    operation: OperationGuard,
}

fn signer(kind: KeyKind, issuer: &'static str) -> Signer {
    let (alg, rcgen_alg) = match kind {
        KeyKind::Rsa => (Jwt::RS256, &rcgen::PKCS_RSA_SHA256),
        KeyKind::P256 => (Jwt::ES256, &rcgen::PKCS_ECDSA_P256_SHA256),
    };
    let pair = rcgen::KeyPair::generate_for(rcgen_alg).expect("key generation");
    let private = pair.serialize_pem();
    let encoding = match kind {
        KeyKind::Rsa => EncodingKey::from_rsa_pem(private.as_bytes()),
        KeyKind::P256 => EncodingKey::from_ec_pem(private.as_bytes()),
    };
    let exp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) + 86_400;
    let claims =
        json!({"iss": issuer, "sub": "alice", "exp": exp, "azp": "ck-prod", "scope": "read write", "jti": "j-1"});
    let mut header = Header::new(alg);
    header.kid = Some("k1".to_owned());
    let token = jsonwebtoken::encode(&header, &claims, &encoding.expect("a private key")).expect("signing");
    Signer { kind, alg, issuer, public_pem: pair.public_key_pem(), token }
}

fn fixture(signers: &[&Signer]) -> Fixture {
    let key_managers = signers
        .iter()
        .enumerate()
        .map(|(i, signer)| key_manager(&format!("km-{i}"), signer.issuer, &signer.public_pem));
    let mappings = (0..signers.len()).map(|i| {
        Arc::new(KeyMapping {
            application_id: "app-1".into(),
            consumer_key: "ck-prod".into(),
            key_type: KeyType::Production,
            key_manager: format!("km-{i}").into(),
        })
    });
    let application = Application {
        id: "app-1".into(),
        name: "shop".into(),
        owner: "bob".into(),
        policy: "Unlimited".into(),
        attributes: Default::default(),
        id_header: None,
        name_header: None,
    };
    let subscription = Subscription {
        id: "sub-1".into(),
        api_id: "api-1".into(),
        application_id: "app-1".into(),
        policy: "Gold".into(),
        status: SubscriptionStatus::Unblocked,
    };
    Fixture {
        data: Enforcement {
            key_managers: Arc::new(KeyManagers::new(key_managers)),
            applications: Arc::new(Applications::new([Arc::new(application)])),
            key_mappings: Arc::new(KeyMappings::new(mappings)),
            subscriptions: Arc::new(Subscriptions::new([Arc::new(subscription)])),
            ..Enforcement::default()
        },
        api: api("shop", "1", SecuritySchemes::default(), None),
        operation: operation("GET /items", &["read"]),
    }
}

fn cached_up_to(capacity: u64, fixture: &Fixture) -> Authenticator {
    authenticator(TokenSettings { verified_cache_capacity: capacity, ..TokenSettings::default() }, &fixture.data)
}

fn check(authenticator: &Authenticator, fixture: &Fixture, credential: &HeaderValue) -> bool {
    let presented = Presented::bearer(CredentialHeader::Once(credential));
    let access = access(&fixture.api, &fixture.operation, presented, IpAddr::V4(Ipv4Addr::LOCALHOST));
    now_or_never(authenticator.authenticate(&fixture.data, &access)).is_ok()
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value")
}

fn validation(signer: &Signer) -> Validation {
    let mut validation = Validation::new(signer.alg);
    validation.set_issuer(&[signer.issuer]);
    validation
}

fn decoding_key(signer: &Signer) -> DecodingKey {
    match signer.kind {
        KeyKind::Rsa => DecodingKey::from_rsa_pem(signer.public_pem.as_bytes()),
        KeyKind::P256 => DecodingKey::from_ec_pem(signer.public_pem.as_bytes()),
    }
    .expect("a public key")
}

fn bench_cached(c: &mut Criterion, rsa: &Signer) {
    let fixture = fixture(&[rsa]);
    let cached = cached_up_to(100_000, &fixture);
    let credential = bearer(&rsa.token);
    assert!(check(&cached, &fixture, &credential), "the token is valid");
    let mut group = c.benchmark_group("token_check/cached");
    group.bench_function("tollgate", |b| b.iter(|| check(&cached, &fixture, black_box(&credential))));
    let (key, validation) = (decoding_key(rsa), validation(rsa));
    let claims = jsonwebtoken::decode::<Claims>(&rsa.token, &key, &validation).expect("valid").claims;
    let naive: Mutex<HashMap<String, Arc<Claims>>> = Mutex::new(HashMap::from([(rsa.token.clone(), Arc::new(claims))]));
    group.bench_function("baseline_mutex_hashmap", |b| {
        b.iter(|| {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let token = black_box(&credential).to_str().ok().and_then(|v| v.strip_prefix("Bearer "));
            let hit = naive.lock().ok().and_then(|map| token.and_then(|t| map.get(t).cloned()));
            hit.is_some_and(|claims| claims.exp > now && claims.scope.split(' ').any(|s| s == "read"))
        });
    });
    group.finish();
}

fn bench_uncached(c: &mut Criterion, signer: &Signer, name: &str) {
    let fixture = fixture(&[signer]);
    let uncached = cached_up_to(0, &fixture);
    let credential = bearer(&signer.token);
    assert!(check(&uncached, &fixture, &credential), "the token is valid");
    let mut group = c.benchmark_group(format!("token_check/uncached_{name}"));
    group.bench_function("tollgate", |b| b.iter(|| check(&uncached, &fixture, black_box(&credential))));
    let (key, validation) = (decoding_key(signer), validation(signer));
    group.bench_function("baseline_jsonwebtoken_decode", |b| {
        b.iter(|| jsonwebtoken::decode::<Claims>(black_box(&signer.token), &key, &validation).is_ok());
    });
    group.finish();
}

/// The reject path: the same bad-signature token again and again (scenario G401), answered
/// from the refusal cache, beside the same check with that cache off.
fn bench_refused(c: &mut Criterion, rsa: &Signer) {
    let fixture = fixture(&[rsa]);
    let forged = signer(KeyKind::Rsa, rsa.issuer);
    let credential = bearer(&forged.token);
    let mut group = c.benchmark_group("token_check/refused_rs256");
    let remembering = cached_up_to(100_000, &fixture);
    assert!(!check(&remembering, &fixture, &credential), "another key's signature is refused");
    group.bench_function("tollgate", |b| b.iter(|| check(&remembering, &fixture, black_box(&credential))));
    let settings = TokenSettings { refused_cache_capacity: 0, ..TokenSettings::default() };
    let forgetting = authenticator(settings, &fixture.data);
    group.bench_function("without_refusal_cache", |b| b.iter(|| check(&forgetting, &fixture, black_box(&credential))));
    group.finish();
}

fn token_check(c: &mut Criterion) {
    let rsa = signer(KeyKind::Rsa, "https://rsa.idp.test");
    let ec = signer(KeyKind::P256, "https://ec.idp.test");
    bench_cached(c, &rsa);
    bench_refused(c, &rsa);
    bench_uncached(c, &rsa, "rs256");
    bench_uncached(c, &ec, "es256");
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).sample_size(60);
    targets = token_check
}
criterion_main!(benches);
