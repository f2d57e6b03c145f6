use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use p256::elliptic_curve::ff::PrimeField;
use p256::elliptic_curve::{CurveArithmetic, FieldBytes};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A signing key with its `kid` and algorithm.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: jsonwebtoken::Algorithm,
    pair: Arc<rcgen::KeyPair>,
}

/// A token issuer (key manager) for tests: serves its JWKS over HTTP on 127.0.0.1, counts
/// fetches, can change its keys, fail, or go away.
pub struct Issuer {
    pub addr: SocketAddr,
    keys: Arc<Mutex<Vec<SigningKey>>>,
    fetches: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl SigningKey {
    pub fn rsa(kid: &str) -> Self {
        Self::generate(kid, jsonwebtoken::Algorithm::RS256, &rcgen::PKCS_RSA_SHA256)
    }

    pub fn ec256(kid: &str) -> Self {
        Self::generate(kid, jsonwebtoken::Algorithm::ES256, &rcgen::PKCS_ECDSA_P256_SHA256)
    }

    pub fn ec384(kid: &str) -> Self {
        Self::generate(kid, jsonwebtoken::Algorithm::ES384, &rcgen::PKCS_ECDSA_P384_SHA384)
    }

    pub fn ed25519(kid: &str) -> Self {
        Self::generate(kid, jsonwebtoken::Algorithm::EdDSA, &rcgen::PKCS_ED25519)
    }

    fn generate(kid: &str, alg: jsonwebtoken::Algorithm, sig: &'static rcgen::SignatureAlgorithm) -> Self {
        SigningKey { kid: kid.into(), alg, pair: Arc::new(rcgen::KeyPair::generate_for(sig).unwrap()) }
    }

    /// The same key signing with another algorithm of its family (e.g. PS256 for RSA).
    pub fn signing_with(mut self, alg: jsonwebtoken::Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// The public key as PEM (SPKI).
    pub fn public_pem(&self) -> String {
        self.pair.public_key_pem()
    }

    /// The public JWK.
    pub fn jwk(&self) -> Value {
        let raw = self.pair.public_key_raw();
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match self.alg.family() {
            // An uncompressed point `04 || x || y`: 65 bytes on P-256, 97 on P-384.
            jsonwebtoken::AlgorithmFamily::Ec => {
                let (x, y) = raw[1..].split_at((raw.len() - 1) / 2);
                let crv = if raw.len() == 65 { "P-256" } else { "P-384" };
                json!({"kty": "EC", "crv": crv, "kid": self.kid, "use": "sig", "x": b64(x), "y": b64(y)})
            }
            jsonwebtoken::AlgorithmFamily::Ed => {
                json!({"kty": "OKP", "crv": "Ed25519", "kid": self.kid, "use": "sig", "x": b64(raw)})
            }
            jsonwebtoken::AlgorithmFamily::Rsa | jsonwebtoken::AlgorithmFamily::Hmac => {
                let (n, e) = rsa_components(raw);
                json!({"kty": "RSA", "kid": self.kid, "use": "sig", "n": b64(n), "e": b64(e)})
            }
        }
    }

    /// A signed compact JWS with `claims` and a header with this key's `kid` and algorithm.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        self.sign_with_header(&header, claims)
    }

    pub fn sign_with_header(&self, header: &jsonwebtoken::Header, claims: &Value) -> String {
        let pem = self.pair.serialize_pem();
        let key = match self.alg.family() {
            jsonwebtoken::AlgorithmFamily::Ec => jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()),
            jsonwebtoken::AlgorithmFamily::Ed => jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()),
            jsonwebtoken::AlgorithmFamily::Rsa | jsonwebtoken::AlgorithmFamily::Hmac => {
                jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
            }
        }
        .unwrap();
        jsonwebtoken::encode(header, claims, &key).unwrap()
    }
}

/// Splits a DER `RSAPublicKey` (SEQUENCE { INTEGER n, INTEGER e }) into n and e.
fn rsa_components(der: &[u8]) -> (&[u8], &[u8]) {
    fn element(bytes: &[u8]) -> (&[u8], &[u8]) {
        let (len, header) = match bytes[1] {
            short if short < 0x80 => (usize::from(short), 2),
            long => {
                let count = usize::from(long & 0x7f);
                (bytes[2..2 + count].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), 2 + count)
            }
        };
        (&bytes[header..header + len], &bytes[header + len..])
    }
    let (sequence, _) = element(der);
    let (n, rest) = element(sequence);
    let (e, _) = element(rest);
    (n.strip_prefix(&[0]).unwrap_or(n), e)
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

impl Issuer {
    /// An issuer publishing `keys`.
    pub async fn start(keys: Vec<SigningKey>) -> Issuer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = Issuer {
            addr: listener.local_addr().unwrap(),
            keys: Arc::new(Mutex::new(keys)),
            fetches: Arc::new(AtomicUsize::new(0)),
            failing: Arc::new(AtomicBool::new(false)),
            task: Mutex::new(None),
        };
        issuer.serve(listener);
        issuer
    }

    fn serve(&self, listener: TcpListener) {
        let (keys, fetches, failing) = (self.keys.clone(), self.fetches.clone(), self.failing.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (keys, fetches, failing) = (keys.clone(), fetches.clone(), failing.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |_request| {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        let failing = failing.load(Ordering::SeqCst);
                        let jwks =
                            json!({"keys": keys.lock().unwrap().iter().map(SigningKey::jwk).collect::<Vec<_>>()});
                        async move { Ok::<_, Infallible>(jwks_response(failing, &jwks)) }
                    });
                    let _ =
                        auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// The `iss` of its tokens.
    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn jwks_url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    /// JWKS requests answered so far.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Replaces the published keys.
    pub fn publish(&self, keys: Vec<SigningKey>) {
        *self.keys.lock().unwrap() = keys;
    }

    /// Answer 500 to every request (`true`) or serve again (`false`).
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Stops listening: connections are refused.
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
    }

    /// Claims for a token of this issuer: `iss`, `sub`, `exp` in an hour, plus `extra`.
    pub fn claims(&self, extra: Value) -> Value {
        let mut claims = json!({"iss": self.issuer(), "sub": "user-1", "iat": now(), "exp": now() + 3600});
        if let (Some(claims), Value::Object(extra)) = (claims.as_object_mut(), extra) {
            claims.extend(extra);
        }
        claims
    }

    /// A YAML `keyManagers` entry named `name` for this issuer, plus `extra` YAML lines
    /// (e.g. `audiences: [petstore]`).
    pub fn key_manager_yaml(&self, name: &str, extra: &str) -> String {
        let mut yaml = format!(
            "keyManagers:\n  - name: {name}\n    issuer: \"{}\"\n    jwksUrl: \"{}\"\n",
            self.issuer(),
            self.jwks_url()
        );
        for line in extra.lines().filter(|l| !l.trim().is_empty()) {
            yaml.push_str(&format!("    {line}\n"));
        }
        yaml
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn jwks_response(failing: bool, jwks: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(if failing {
        b"oops".to_vec()
    } else {
        serde_json::to_vec(jwks).unwrap()
    })));
    if failing {
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    }
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    response.headers_mut().insert("cache-control", "max-age=300".parse().unwrap());
    response
}

// === impl SigningKey: tokens an attacker would send ===

impl SigningKey {
    /// An RSA key signing with PS256 (RSASSA-PSS).
    pub fn rsa_pss(kid: &str) -> Self {
        Self::rsa(kid).signing_with(jsonwebtoken::Algorithm::PS256)
    }

    /// Signed by this key, but with a header naming `kid` instead of its own (`None`: no `kid`).
    pub fn sign_as(&self, kid: Option<&str>, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(self.alg);
        header.kid = kid.map(str::to_owned);
        self.sign_with_header(&header, claims)
    }

    /// An HS256 token with this key's `kid` whose HMAC secret is this key's public PEM: the
    /// algorithm-confusion attack on verifiers that let the token choose the algorithm.
    pub fn sign_hs256_with_public_pem(&self, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        let secret = jsonwebtoken::EncodingKey::from_secret(self.public_pem().as_bytes());
        jsonwebtoken::encode(&header, claims, &secret).unwrap()
    }

    /// Signed by this key, with its public JWK embedded in the header (`jwk`) and naming
    /// `kid`: a verifier must never take the key from the token.
    pub fn sign_embedding_jwk(&self, kid: &str, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        header.jwk = Some(serde_json::from_value(self.jwk()).unwrap());
        self.sign_with_header(&header, claims)
    }

    /// A compact JWS assembled from raw header and claims JSON and a raw third part, without
    /// signing (e.g. `alg: none`).
    pub fn compact(header: &Value, claims: &Value, signature: &str) -> String {
        let part = |json: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap());
        format!("{}.{}.{signature}", part(header), part(claims))
    }

    /// `token` with its payload replaced by `claims`; header and signature are untouched.
    pub fn with_claims(token: &str, claims: &Value) -> String {
        let mut parts = token.split('.');
        let (header, _, signature) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap()))
    }
}

/// `token`, an ES256 or ES384 JWS, with its signature `(r, s)` replaced by `(r, n - s)`: the
/// second valid signature over the same content that anyone holding the token can compute.
///
/// Uses RustCrypto's `p256`/`p384` scalar arithmetic: aws-lc-rs (which signs here) exposes no
/// scalar operations, and hand-written big-integer subtraction would be a second, untested
/// implementation of what the gateway relies on.
pub fn high_s_twin(token: &str) -> String {
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    match bytes.len() {
        64 => negate_s::<p256::NistP256>(&mut bytes),
        96 => negate_s::<p384::NistP384>(&mut bytes),
        other => panic!("not an ES256/ES384 signature: {other} bytes"),
    }
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn negate_s<C: CurveArithmetic>(signature: &mut [u8]) {
    let (_, s) = signature.split_at_mut(signature.len() / 2);
    let repr = FieldBytes::<C>::from_exact_iter(s.iter().copied()).unwrap();
    let scalar = Option::<C::Scalar>::from(C::Scalar::from_repr(repr)).unwrap();
    s.copy_from_slice(&(-scalar).to_repr());
}

// === WSO2 API Manager as the issuer of API keys ===

/// WSO2 API Manager as it mints API keys: RS256 JWTs signed with its own key, whose
/// certificate the gateway's key manager holds (model.md, "KeyManager").
pub struct ApiManager {
    pub key: SigningKey,
}

impl ApiManager {
    /// The `iss` API-M 4.x writes into its API keys.
    pub const ISSUER: &'static str = "https://apim.test:9443/oauth2/token";

    pub fn new() -> ApiManager {
        ApiManager { key: SigningKey::rsa("apim-gateway-certificate") }
    }

    /// A YAML `keyManagers` entry named `name` that verifies API-M's keys with its public key
    /// (`certificate`, no JWKS).
    pub fn key_manager_yaml(&self, name: &str) -> String {
        let pem = serde_json::to_string(&self.key.public_pem()).unwrap();
        format!("keyManagers:\n  - name: {name}\n    issuer: \"{}\"\n    certificate: {pem}\n", Self::ISSUER)
    }

    /// The claims API-M 4.x writes into an API key of application `application` (its uuid;
    /// tier `Unlimited`) subscribed to `apis` (each `(name, version, context, subscriptionTier)`):
    /// `keytype` PRODUCTION, no IP or Referer restriction, no `exp` (a key that never expires),
    /// a fresh `jti`.
    pub fn claims(&self, application: &str, apis: &[(&str, &str, &str, &str)]) -> Value {
        static NEXT_JTI: AtomicUsize = AtomicUsize::new(0);
        let subscribed: Vec<Value> = apis
            .iter()
            .map(|(name, version, context, tier)| {
                json!({"subscriberTenantDomain": "carbon.super", "name": name, "version": version,
                       "context": context, "publisher": "admin", "subscriptionTier": tier})
            })
            .collect();
        json!({
            "sub": "admin@carbon.super",
            "application": {"owner": "admin", "tier": "Unlimited", "name": application, "id": 1, "uuid": application},
            "iss": Self::ISSUER,
            "tierInfo": {"Unlimited": {"tierQuotaType": "requestCount", "stopOnQuotaReach": true}},
            "keytype": "PRODUCTION",
            "permittedReferer": "",
            "subscribedAPIs": subscribed,
            "token_type": "apiKey",
            "permittedIP": "",
            "iat": now(),
            "jti": format!("api-key-{}", NEXT_JTI.fetch_add(1, Ordering::SeqCst)),
        })
    }

    /// An API key with `claims`, signed as API-M signs them (RS256, its certificate's key).
    pub fn sign(&self, claims: &Value) -> String {
        self.key.sign(claims)
    }
}

impl Default for ApiManager {
    fn default() -> Self {
        ApiManager::new()
    }
}
