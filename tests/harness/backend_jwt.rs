//! Backend JWTs as an upstream checks them (client.md, "Backend JWT"): signing keys for the
//! gateway's `[backend_jwt] key`, and verification of a received JWT against the gateway's
//! `GET /jwks`, with the algorithm taken from the published key, never from the token.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::GatewayProcess;

/// A backend JWT that verified against the gateway's JWKS.
#[derive(Debug, Clone)]
pub struct VerifiedBackendJwt {
    pub kid: String,
    pub alg: Algorithm,
    pub claims: Value,
}

/// A PKCS#8 PEM private key for `[backend_jwt] key`: RSA 2048 (RS256).
pub fn rsa_backend_jwt_pem() -> String {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap().serialize_pem()
}

/// A PKCS#8 PEM private key for `[backend_jwt] key`: EC P-256 (ES256).
pub fn ec_backend_jwt_pem() -> String {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap().serialize_pem()
}

/// The gateway's `GET /jwks`.
pub async fn backend_jwks(gateway: &GatewayProcess) -> JwkSet {
    let reply = gateway.admin().get("/jwks").await;
    assert_eq!(reply.status, 200, "GET /jwks: {}", reply.text());
    serde_json::from_value(reply.json()).unwrap()
}

/// The `kid`s the gateway publishes, in its order.
pub async fn backend_jwks_kids(gateway: &GatewayProcess) -> Vec<String> {
    backend_jwks(gateway).await.keys.into_iter().filter_map(|key| key.common.key_id).collect()
}

/// Verifies `jwt` as an upstream would: the key named by its `kid` in the gateway's JWKS, the
/// JWK's own `alg`, issuer `issuer`, `exp` required and in the future.
pub async fn verify_backend_jwt(
    gateway: &GatewayProcess,
    jwt: &str,
    issuer: &str,
) -> Result<VerifiedBackendJwt, String> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|e| format!("header: {e}"))?;
    let kid = header.kid.ok_or("no kid")?;
    let jwks = backend_jwks(gateway).await;
    let jwk = jwks.find(&kid).ok_or_else(|| format!("kid {kid} is not in GET /jwks"))?;
    let alg = jwk.common.key_algorithm.ok_or("the JWK has no alg")?;
    let alg: Algorithm = alg.to_string().parse().map_err(|e| format!("alg: {e}"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("JWK: {e}"))?;
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "jti"]);
    let data = jsonwebtoken::decode::<Value>(jwt, &key, &validation).map_err(|e| format!("verification: {e}"))?;
    Ok(VerifiedBackendJwt { kid, alg, claims: data.claims })
}
