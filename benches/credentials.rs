//! The common setup of the credential benches (`token_check`, `api_key_check`, `backend_jwt`):
//! a key manager trusting a PEM public key, an API key signed the way API-M signs them, the Api
//! and operation a request is checked against, the access it makes, and an authenticator
//! prepared for a snapshot.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;
use tollgate_enforcer::clock::SystemClock;
use tollgate_enforcer::model::{AlgorithmSet, KeyManager, KeySource};
use tollgate_enforcer::token::{Authenticator, TokenSettings};
use tollgate_enforcer::{
    Access, ApiGuard, Enforcement, EnforcerMetrics, KeyManagers, KeyTypes, OperationGuard, Presented, SecuritySchemes,
};

/// The `iss` of the API keys API-M signs in these benches.
pub const APIM_ISSUER: &str = "https://apim.test:9443/oauth2/token";

/// A key manager `name` for `issuer` trusting `public_pem`: every algorithm, `azp` and `scope`
/// claims, subscriptions validated, 30 s of clock skew.
pub fn key_manager(name: &str, issuer: &str, public_pem: &str) -> Arc<KeyManager> {
    Arc::new(KeyManager {
        name: name.into(),
        issuer: issuer.into(),
        keys: KeySource::Pem { pem: public_pem.into() },
        audiences: Box::new([]),
        consumer_key_claim: "azp".into(),
        scopes_claim: "scope".into(),
        validate_subscription: true,
        enabled: true,
        algorithms: AlgorithmSet::all(),
        clock_skew: Duration::from_secs(30),
    })
}

/// An API key with `claims` as API-M writes it (RS256 with a new RSA key), and a snapshot whose
/// key manager `apim` holds API-M's public key.
#[allow(clippy::expect_used, reason = "bench setup: a broken fixture must fail loudly")]
pub fn apim_api_key(claims: &Value) -> (HeaderValue, Enforcement) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("key generation");
    let encoding = EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes()).expect("a private key");
    let key = jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &encoding).expect("signing");
    let key_manager = key_manager("apim", APIM_ISSUER, &pair.public_key_pem());
    let data = Enforcement { key_managers: Arc::new(KeyManagers::new([key_manager])), ..Enforcement::default() };
    (HeaderValue::from_str(&key).expect("a header value"), data)
}

/// Api `api-1`, `name` version `version`, with `schemes`, served at `base_path`.
pub fn api(name: &str, version: &str, schemes: SecuritySchemes, base_path: Option<&str>) -> ApiGuard {
    ApiGuard {
        id: "api-1".into(),
        name: name.into(),
        version: version.into(),
        blocked: false,
        throttling_policy: None,
        schemes,
        base_paths: base_path.into_iter().map(Arc::from).collect(),
        client_certificates: Default::default(),
    }
}

/// A secured operation `resource` (`GET /menu`) needing one of `scopes`.
pub fn operation(resource: &str, scopes: &[&str]) -> OperationGuard {
    OperationGuard {
        secured: true,
        scopes: scopes.iter().map(|scope| Arc::from(*scope)).collect(),
        throttling_policy: None,
        resource: resource.into(),
    }
}

/// What a request to `api` / `operation` from `client_ip` presents, for either key type.
pub fn access<'a>(
    api: &'a ApiGuard,
    operation: &'a OperationGuard,
    presented: Presented<'a>,
    client_ip: IpAddr,
) -> Access<'a> {
    Access { api, operation, presented, client_ip, endpoints: KeyTypes::BOTH }
}

/// An authenticator with `settings` on the system clock, prepared for `data`'s key managers.
#[allow(clippy::expect_used, reason = "bench setup: a broken fixture must fail loudly")]
pub fn authenticator(settings: TokenSettings, data: &Enforcement) -> Authenticator {
    let metrics = EnforcerMetrics::unregistered().expect("metrics");
    let authenticator = Authenticator::new(settings, SystemClock::shared(), metrics);
    authenticator.prepare(&data.key_managers);
    authenticator
}
