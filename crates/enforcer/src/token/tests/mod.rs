//! Tests of token validation, with fixtures they share: signing keys (generated once per
//! test binary), token minting, a snapshot with one API, application and subscription, and
//! an authenticator on a [`ManualClock`].

#![allow(clippy::expect_used, reason = "tests: a broken fixture must fail loudly")]

mod algorithms;
mod api_keys;
mod attacks;
mod backend_jwt;
mod cache;
mod entitlement;
mod jwks;
mod revocation;
mod server;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::RSAPublicKey;

use super::{Authenticator, CredentialHeader, TokenSettings};
use crate::clock::{ManualClock, SharedClock};
use crate::enforcement::{Applications, Enforcement, KeyManagers, KeyMappings, Subscriptions};
use crate::enforcer::{Access, KeyTypes};
use crate::guard::{ApiGuard, OperationGuard};
use crate::metrics::EnforcerMetrics;
use crate::model::{
    AlgorithmSet, Application, KeyManager, KeyMapping, KeySource, KeyType, Subscription, SubscriptionStatus,
};
use crate::presented::Presented;
use crate::principal::Principal;
use crate::rejection::Rejection;
use crate::schemes::SecuritySchemes;

pub(super) const NOW: u64 = 1_700_000_000;
pub(super) const ISSUER: &str = "https://idp.test/oauth2/token";
pub(super) const KM: &str = "Resident Key Manager";
pub(super) const API_ID: &str = "api-1";
pub(super) const APP_ID: &str = "app-1";
pub(super) const PROD_KEY: &str = "ck-prod";
pub(super) const SANDBOX_KEY: &str = "ck-sandbox";

static RSA_A: LazyLock<Arc<rcgen::KeyPair>> = LazyLock::new(|| generate(&rcgen::PKCS_RSA_SHA256));
static RSA_B: LazyLock<Arc<rcgen::KeyPair>> = LazyLock::new(|| generate(&rcgen::PKCS_RSA_SHA256));
static EC_P256: LazyLock<Arc<rcgen::KeyPair>> = LazyLock::new(|| generate(&rcgen::PKCS_ECDSA_P256_SHA256));
static EC_P384: LazyLock<Arc<rcgen::KeyPair>> = LazyLock::new(|| generate(&rcgen::PKCS_ECDSA_P384_SHA384));
static ED25519: LazyLock<Arc<rcgen::KeyPair>> = LazyLock::new(|| generate(&rcgen::PKCS_ED25519));

fn generate(alg: &'static rcgen::SignatureAlgorithm) -> Arc<rcgen::KeyPair> {
    Arc::new(rcgen::KeyPair::generate_for(alg).expect("key generation"))
}

/// A signing key with its `kid`, signing algorithm, and public forms (JWK, PEM, certificate).
#[derive(Clone)]
pub(super) struct TestKey {
    pub(super) kid: String,
    pub(super) alg: jsonwebtoken::Algorithm,
    family: Family,
    pair: Arc<rcgen::KeyPair>,
}

#[derive(Clone, Copy)]
enum Family {
    Rsa,
    Ec,
    Ed,
}

// === impl TestKey ===

impl TestKey {
    pub(super) fn rsa(kid: &str) -> Self {
        Self::new(kid, jsonwebtoken::Algorithm::RS256, Family::Rsa, &RSA_A)
    }

    /// Another RSA key (for rotation and forged-signature cases).
    pub(super) fn rsa_b(kid: &str) -> Self {
        Self::new(kid, jsonwebtoken::Algorithm::RS256, Family::Rsa, &RSA_B)
    }

    pub(super) fn p256(kid: &str) -> Self {
        Self::new(kid, jsonwebtoken::Algorithm::ES256, Family::Ec, &EC_P256)
    }

    pub(super) fn p384(kid: &str) -> Self {
        Self::new(kid, jsonwebtoken::Algorithm::ES384, Family::Ec, &EC_P384)
    }

    pub(super) fn ed25519(kid: &str) -> Self {
        Self::new(kid, jsonwebtoken::Algorithm::EdDSA, Family::Ed, &ED25519)
    }

    fn new(kid: &str, alg: jsonwebtoken::Algorithm, family: Family, pair: &Arc<rcgen::KeyPair>) -> Self {
        TestKey { kid: kid.to_owned(), alg, family, pair: pair.clone() }
    }

    /// The same key signing with another algorithm of its family (RS384, PS256, ...).
    pub(super) fn signing_with(mut self, alg: jsonwebtoken::Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// The public JWK, without `alg`.
    pub(super) fn jwk(&self) -> Value {
        let raw = self.pair.public_key_raw();
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match self.family {
            Family::Ec => {
                let (x, y) = raw[1..].split_at((raw.len() - 1) / 2);
                let crv = if raw.len() == 65 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "crv": crv, "kid": self.kid, "x": b64(x), "y": b64(y)})
            }
            Family::Ed => json!({"kty": "OKP", "crv": "Ed25519", "kid": self.kid, "x": b64(raw)}),
            Family::Rsa => {
                let (_, rsa) = RSAPublicKey::from_der(raw).expect("PKCS#1 public key");
                let n = rsa.modulus.strip_prefix(&[0]).unwrap_or(rsa.modulus);
                json!({"kty": "RSA", "kid": self.kid, "n": b64(n), "e": b64(rsa.exponent)})
            }
        }
    }

    pub(super) fn public_pem(&self) -> String {
        self.pair.public_key_pem()
    }

    pub(super) fn certificate_pem(&self) -> String {
        let params = rcgen::CertificateParams::new(vec!["idp.test".to_owned()]).expect("certificate params");
        params.self_signed(&*self.pair).expect("self-signed certificate").pem()
    }

    fn encoding_key(&self) -> EncodingKey {
        let pem = self.pair.serialize_pem();
        let key = match self.family {
            Family::Ec => EncodingKey::from_ec_pem(pem.as_bytes()),
            Family::Ed => EncodingKey::from_ed_pem(pem.as_bytes()),
            Family::Rsa => EncodingKey::from_rsa_pem(pem.as_bytes()),
        };
        key.expect("a private key jsonwebtoken reads")
    }

    /// A token with this key's `kid` and algorithm.
    pub(super) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        self.sign_with(&header, claims)
    }

    pub(super) fn sign_with(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding_key()).expect("signing")
    }
}

/// Standard claims: issued by [`ISSUER`] to `alice` through [`PROD_KEY`], valid ten minutes
/// from [`NOW`], scopes `read write`, a unique `jti`.
pub(super) fn claims() -> Value {
    static NEXT_JTI: AtomicU64 = AtomicU64::new(0);
    let jti = format!("jti-{}", NEXT_JTI.fetch_add(1, Ordering::Relaxed));
    json!({"iss": ISSUER, "sub": "alice", "exp": NOW + 600, "azp": PROD_KEY, "scope": "read write", "jti": jti})
}

pub(super) fn key_manager(keys: KeySource) -> KeyManager {
    KeyManager {
        name: KM.into(),
        issuer: ISSUER.into(),
        keys,
        audiences: Box::new([]),
        consumer_key_claim: "azp".into(),
        scopes_claim: "scope".into(),
        validate_subscription: true,
        enabled: true,
        algorithms: AlgorithmSet::all(),
        clock_skew: Duration::from_secs(30),
    }
}

pub(super) fn pem_source(pem: String) -> KeySource {
    KeySource::Pem { pem: pem.into() }
}

/// One API subscribed by one application with a production and a sandbox key of [`KM`].
pub(super) fn enforcement(key_manager: KeyManager, status: SubscriptionStatus) -> Enforcement {
    let application = Application {
        id: APP_ID.into(),
        name: "shop".into(),
        owner: "bob".into(),
        policy: "Unlimited".into(),
        attributes: Default::default(),
        id_header: None,
        name_header: None,
    };
    let mapping = |consumer_key: &str, key_type| KeyMapping {
        application_id: APP_ID.into(),
        consumer_key: consumer_key.into(),
        key_type,
        key_manager: KM.into(),
    };
    let mappings = [mapping(PROD_KEY, KeyType::Production), mapping(SANDBOX_KEY, KeyType::Sandbox)];
    Enforcement {
        key_managers: Arc::new(KeyManagers::new([Arc::new(key_manager)])),
        applications: Arc::new(Applications::new([Arc::new(application)])),
        key_mappings: Arc::new(KeyMappings::new(mappings.map(Arc::new))),
        subscriptions: Arc::new(Subscriptions::new([Arc::new(subscription(status))])),
        ..Enforcement::default()
    }
}

pub(super) fn subscription(status: SubscriptionStatus) -> Subscription {
    Subscription {
        id: "sub-1".into(),
        api_id: API_ID.into(),
        application_id: APP_ID.into(),
        policy: "Gold".into(),
        status,
    }
}

/// An authenticator on a manual clock at [`NOW`], with a snapshot and a secured operation.
pub(super) struct World {
    pub(super) clock: Arc<ManualClock>,
    pub(super) auth: Authenticator,
    pub(super) data: Enforcement,
    pub(super) api: ApiGuard,
    pub(super) operation: OperationGuard,
    pub(super) registry: prometheus::Registry,
}

// === impl World ===

impl World {
    pub(super) fn new(keys: KeySource) -> Self {
        Self::with(key_manager(keys), TokenSettings::default())
    }

    /// A world whose snapshot holds `key_manager`, already `prepare`d.
    pub(super) fn with(key_manager: KeyManager, settings: TokenSettings) -> Self {
        let clock = ManualClock::at(NOW);
        let registry = prometheus::Registry::new();
        let metrics = EnforcerMetrics::register(&registry).expect("metrics register");
        let shared: SharedClock = clock.clone();
        let auth = Authenticator::new(settings, shared, metrics);
        let data = enforcement(key_manager, SubscriptionStatus::Unblocked);
        auth.prepare(&data.key_managers);
        let api = ApiGuard {
            id: API_ID.into(),
            name: "shop".into(),
            version: "1.0".into(),
            blocked: false,
            throttling_policy: None,
            schemes: SecuritySchemes::default(),
            base_paths: Box::new([]),
            client_certificates: Default::default(),
        };
        let operation = OperationGuard {
            secured: true,
            scopes: Box::new([]),
            throttling_policy: None,
            resource: "GET /items".into(),
        };
        World { clock, auth, data, api, operation, registry }
    }

    pub(super) async fn check(&self, token: &str) -> Result<Principal, Rejection> {
        self.check_in(&self.data, token).await
    }

    /// Checks `token` against another snapshot.
    pub(super) async fn check_in(&self, data: &Enforcement, token: &str) -> Result<Principal, Rejection> {
        self.check_op(data, &self.operation, token).await
    }

    pub(super) async fn check_op(
        &self,
        data: &Enforcement,
        operation: &OperationGuard,
        token: &str,
    ) -> Result<Principal, Rejection> {
        let credential = HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value");
        let access = Access {
            api: &self.api,
            operation,
            presented: Presented::bearer(CredentialHeader::Once(&credential)),
            client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            endpoints: KeyTypes::BOTH,
        };
        self.auth.authenticate(data, &access).await
    }

    /// Whether the authenticator remembers `token` as refused by its signature check.
    pub(super) fn remembers_refusal(&self, token: &str) -> bool {
        self.auth.refused_cache().get(token).is_some()
    }

    pub(super) fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    /// Waits until the key manager's JWKS cache has no fetch in flight.
    pub(super) async fn settle(&self) {
        if let Some(cache) = self.auth.key_stores().jwks_cache(KM) {
            cache.settle().await;
        }
    }

    /// How many JWKS fetches ended with `result`, from the Prometheus registry.
    pub(super) fn jwks_fetches(&self, result: &str) -> u64 {
        let families = self.registry.gather();
        let family = families.iter().find(|f| f.name() == "tollgate_jwks_fetches_total");
        let matching = family.into_iter().flat_map(|f| f.get_metric()).filter(|metric| {
            metric.get_label().iter().any(|label| label.name() == "result" && label.value() == result)
        });
        matching.map(|metric| metric.get_counter().get_value() as u64).sum()
    }
}

#[test]
fn authentication_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let world = World::new(pem_source(TestKey::ed25519("k").public_pem()));
    let credential = HeaderValue::from_static("Bearer x");
    let access = Access {
        api: &world.api,
        operation: &world.operation,
        presented: Presented::bearer(CredentialHeader::Once(&credential)),
        client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        endpoints: KeyTypes::BOTH,
    };
    assert_send(&world.auth.authenticate(&world.data, &access));
}
