//! The demo's token issuer: one ES256 key generated at start, its JWKS served over plain
//! HTTP, and tokens minted for the sample application.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::DemoError;
use super::http::serve_http;

/// The `aud` the sample key manager expects (config/apis/demo-identity.yaml).
pub const AUDIENCE: &str = "petstore";
/// The consumer key of the sample application's production key mapping.
pub const CONSUMER_KEY: &str = "demo-client";
/// Scopes granted to demo tokens: enough to call every sample operation but the admin one.
pub(super) const SCOPES: &str = "pets:write";
/// How long a minted token is valid.
pub(super) const TOKEN_LIFETIME_SECONDS: u64 = 3600;
const KID: &str = "tollgate-demo";

/// A key manager for the demo: the `iss` of its tokens is `http://<its address>`, its JWKS
/// is at `/jwks`, and `/token` mints a fresh token.
#[derive(Debug, Clone)]
pub struct DemoIssuer {
    issuer: Arc<str>,
    jwk: Arc<Value>,
    signing: Arc<EncodingKey>,
}

// === impl DemoIssuer ===

impl DemoIssuer {
    /// A new P-256 key for an issuer reachable at `addr`.
    pub fn generate(addr: SocketAddr) -> Result<Self, DemoError> {
        let pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| DemoError::Key(e.to_string()))?;
        let signing =
            EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).map_err(|e| DemoError::Key(e.to_string()))?;
        let jwk = jwk(pair.public_key_raw())?;
        Ok(DemoIssuer { issuer: format!("http://{addr}").into(), jwk: Arc::new(jwk), signing: Arc::new(signing) })
    }

    /// The `iss` claim of its tokens, also the key manager's `issuer`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The published key set.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [&*self.jwk] })
    }

    /// A token for the sample application, issued at `now` (Unix seconds).
    pub fn mint(&self, now: u64) -> Result<String, DemoError> {
        let claims = json!({
            "iss": &*self.issuer,
            "sub": "demo-user",
            "aud": AUDIENCE,
            "azp": CONSUMER_KEY,
            "scope": SCOPES,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
        });
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(KID.to_owned());
        jsonwebtoken::encode(&header, &claims, &self.signing).map_err(|e| DemoError::Key(e.to_string()))
    }

    /// Serves `GET /jwks` and `GET /token` on `listener` until the task is dropped.
    pub async fn serve(self, listener: TcpListener) {
        serve_http(listener, move |request| self.answer(&request)).await;
    }

    fn answer(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        match request.uri().path() {
            "/jwks" => respond(StatusCode::OK, "application/json", self.jwks().to_string()),
            "/token" => match self.mint(unix_now()) {
                Ok(token) => respond(StatusCode::OK, "text/plain", token + "\n"),
                Err(error) => respond(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", format!("{error}\n")),
            },
            _ => respond(StatusCode::NOT_FOUND, "text/plain", "try /jwks or /token\n".to_owned()),
        }
    }
}

/// Unix seconds now (the demo mints with the wall clock; the gateway validates with its own).
pub(super) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// The public JWK of an uncompressed P-256 point (`0x04 || x || y`).
fn jwk(point: &[u8]) -> Result<Value, DemoError> {
    let coordinates = match point {
        [0x04, rest @ ..] if rest.len() == 64 => rest.split_at(32),
        _ => return Err(DemoError::Key("unexpected P-256 public key encoding".into())),
    };
    let (x, y) = coordinates;
    Ok(json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": KID,
        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
    }))
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation};

    use super::*;

    #[test]
    fn minted_tokens_verify_against_the_published_jwk() -> Result<(), Box<dyn std::error::Error>> {
        let issuer = DemoIssuer::generate(SocketAddr::from(([127, 0, 0, 1], 9081)))?;
        let token = issuer.mint(unix_now())?;
        let jwks = issuer.jwks();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone())?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&["http://127.0.0.1:9081"]);
        let claims = jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(&jwk)?, &validation)?.claims;
        assert_eq!(claims["azp"], CONSUMER_KEY);
        assert_eq!(jsonwebtoken::decode_header(&token)?.kid.as_deref(), Some(KID));
        Ok(())
    }

    #[test]
    fn a_token_from_another_key_does_not_verify() -> Result<(), Box<dyn std::error::Error>> {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9081));
        let (ours, theirs) = (DemoIssuer::generate(addr)?, DemoIssuer::generate(addr)?);
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(ours.jwks()["keys"][0].clone())?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[AUDIENCE]);
        let decoded =
            jsonwebtoken::decode::<Value>(&theirs.mint(unix_now())?, &DecodingKey::from_jwk(&jwk)?, &validation);
        assert!(decoded.is_err());
        Ok(())
    }
}
