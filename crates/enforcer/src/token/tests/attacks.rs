//! The attack set: each forged or broken token is refused with the expected `TokenError`, and
//! no error mentions the token.

use std::net::{IpAddr, Ipv4Addr};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;
use jsonwebtoken::{Algorithm as Jwt, EncodingKey, Header};
use serde_json::{Value, json};

use super::server::JwksServer;
use super::{NOW, TestKey, World, claims, key_manager};
use crate::enforcement::{KeyManagers, Revocations};
use crate::enforcer::{Access, KeyTypes};
use crate::model::{RevokedId, RevokedToken};
use crate::presented::Presented;
use crate::rejection::{Rejection, TokenError};
use crate::token::{CredentialHeader, TokenSettings};

/// A world whose JWKS publishes an RSA key `rsa-1` and a P-256 key `ec-1`.
async fn world() -> (JwksServer, World) {
    let server = JwksServer::start(&[&TestKey::rsa("rsa-1"), &TestKey::p256("ec-1")]).await;
    let world = World::new(server.source());
    (server, world)
}

async fn rejected(world: &World, token: &str) -> TokenError {
    match world.check(token).await {
        Err(Rejection::InvalidToken(error)) => {
            let shown = format!("{error} {error:?} {}", Rejection::InvalidToken(error).description());
            let secrets = [token, signature(token)].into_iter().filter(|secret| secret.len() >= 16);
            secrets.for_each(|secret| assert!(!shown.contains(secret), "the error shows the token"));
            error
        }
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

fn signature(token: &str) -> &str {
    token.rsplit('.').next().unwrap_or_default()
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn with(change: impl FnOnce(&mut Value)) -> Value {
    let mut claims = claims();
    change(&mut claims);
    claims
}

#[tokio::test]
async fn alg_none_and_hmac_are_rejected_before_any_key_lookup() {
    let (server, world) = world().await;
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims()));
    assert_eq!(rejected(&world, &none).await, TokenError::UnsupportedAlgorithm);
    let public_pem = TestKey::rsa("rsa-1").public_pem();
    let mut header = Header::new(Jwt::HS256);
    header.kid = Some("rsa-1".to_owned());
    let hs256 = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(public_pem.as_bytes()));
    assert_eq!(rejected(&world, &hs256.expect("HS256 signing")).await, TokenError::UnsupportedAlgorithm);
    world.settle().await;
    assert_eq!(server.fetches(), 1, "only the initial fetch");
}

#[tokio::test]
async fn tampered_payload_and_foreign_signatures_are_bad_signatures() {
    let (_server, world) = world().await;
    let token = TestKey::rsa("rsa-1").sign(&claims());
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_claims = b64(&with(|c| c["sub"] = "mallory".into()));
    parts[1] = &forged_claims;
    assert_eq!(rejected(&world, &parts.join(".")).await, TokenError::BadSignature);
    let foreign = TestKey::rsa_b("rsa-1").sign(&claims());
    assert_eq!(rejected(&world, &foreign).await, TokenError::BadSignature);
    let truncated = &token[..token.len() - 4];
    assert_eq!(rejected(&world, truncated).await, TokenError::BadSignature);
}

#[tokio::test]
async fn unknown_and_missing_kids_are_unknown_keys() {
    let (_server, world) = world().await;
    let wrong_kid = TestKey::rsa("not-published").sign(&claims());
    assert_eq!(rejected(&world, &wrong_kid).await, TokenError::UnknownKey);
    let no_kid = TestKey::rsa("rsa-1").sign_with(&Header::new(Jwt::RS256), &claims());
    assert_eq!(rejected(&world, &no_kid).await, TokenError::UnknownKey, "two keys published");
}

#[tokio::test]
async fn a_single_published_key_verifies_tokens_without_kid() {
    let server = JwksServer::start(&[&TestKey::ed25519("only")]).await;
    let world = World::new(server.source());
    let no_kid = TestKey::ed25519("only").sign_with(&Header::new(Jwt::EdDSA), &claims());
    assert!(world.check(&no_kid).await.is_ok());
}

#[tokio::test]
async fn algorithm_must_match_the_key_type_and_curve() {
    let (_server, world) = world().await;
    let es256_on_rsa_kid = TestKey::p256("rsa-1").sign(&claims());
    assert_eq!(rejected(&world, &es256_on_rsa_kid).await, TokenError::DisallowedAlgorithm);
    let es384_on_p256_kid = TestKey::p384("ec-1").sign(&claims());
    assert_eq!(rejected(&world, &es384_on_p256_kid).await, TokenError::DisallowedAlgorithm);
    let rs256_on_ec_kid = TestKey::rsa("ec-1").sign(&claims());
    assert_eq!(rejected(&world, &rs256_on_ec_kid).await, TokenError::DisallowedAlgorithm);
}

#[tokio::test]
async fn lifetime_claims_are_enforced() {
    let (_server, world) = world().await;
    let key = TestKey::rsa("rsa-1");
    let cases = [
        (with(|c| c["exp"] = (NOW - 100).into()), TokenError::Expired),
        (with(|c| c["nbf"] = (NOW + 100).into()), TokenError::NotYetValid),
        (with(|c| c["exp"] = (NOW + 600).to_string().into()), TokenError::MissingExpiry),
        (with(|c| drop(c.as_object_mut().map(|c| c.remove("exp")))), TokenError::MissingExpiry),
        (with(|c| c["nbf"] = "yesterday".into()), TokenError::InvalidNotBefore),
    ];
    for (claims, expected) in cases {
        assert_eq!(rejected(&world, &key.sign(&claims)).await, expected, "{claims}");
    }
    let float_exp = with(|c| c["exp"] = json!(NOW as f64 + 0.5));
    assert!(world.check(&key.sign(&float_exp)).await.is_ok(), "a float exp is fine");
}

#[tokio::test]
async fn issuer_must_be_a_known_enabled_key_manager() {
    let (server, world) = world().await;
    let key = TestKey::rsa("rsa-1");
    let evil = with(|c| c["iss"] = "https://evil.test".into());
    assert_eq!(rejected(&world, &key.sign(&evil)).await, TokenError::UnknownIssuer);
    let no_iss = with(|c| drop(c.as_object_mut().map(|c| c.remove("iss"))));
    assert_eq!(rejected(&world, &key.sign(&no_iss)).await, TokenError::UnknownIssuer);
    let mut disabled = key_manager(server.source());
    disabled.enabled = false;
    let mut data = world.data.clone();
    data.key_managers = KeyManagers::new([disabled.into()]).into();
    let result = world.check_in(&data, &key.sign(&claims())).await;
    assert_eq!(result.err(), Some(Rejection::InvalidToken(TokenError::UnknownIssuer)));
}

#[tokio::test]
async fn audience_must_match_when_configured() {
    let server = JwksServer::start(&[&TestKey::rsa("rsa-1")]).await;
    let mut km = key_manager(server.source());
    km.audiences = Box::new(["api://shop".into()]);
    let world = World::with(km, TokenSettings::default());
    let key = TestKey::rsa("rsa-1");
    let other = with(|c| c["aud"] = "api://other".into());
    assert_eq!(rejected(&world, &key.sign(&other)).await, TokenError::WrongAudience);
    assert_eq!(rejected(&world, &key.sign(&claims())).await, TokenError::WrongAudience, "no aud");
    let listed = with(|c| c["aud"] = json!(["api://other", "api://shop"]));
    assert!(world.check(&key.sign(&listed)).await.is_ok());
}

#[tokio::test]
async fn revoked_tokens_are_refused_by_jti_or_signature() {
    let (_server, world) = world().await;
    let key = TestKey::rsa("rsa-1");
    let with_jti = key.sign(&with(|c| c["jti"] = "revoked-jti".into()));
    let without_jti = key.sign(&with(|c| drop(c.as_object_mut().map(|c| c.remove("jti")))));
    let revoked = [
        RevokedToken { id: RevokedId::Jti("revoked-jti".into()), expires_at: NOW + 600 },
        RevokedToken { id: RevokedId::Signature(signature(&without_jti).into()), expires_at: NOW + 600 },
    ];
    let mut data = world.data.clone();
    data.revocations = Revocations::new(revoked, NOW).into();
    for token in [&with_jti, &without_jti] {
        let result = world.check_in(&data, token).await;
        assert_eq!(result.err(), Some(Rejection::InvalidToken(TokenError::Revoked)));
        assert!(world.check(token).await.is_ok(), "not revoked in the other snapshot");
    }
}

#[tokio::test]
async fn malformed_and_oversized_tokens_and_headers() {
    let (_server, world) = world().await;
    let huge = TestKey::rsa("rsa-1").sign(&with(|c| c["pad"] = "x".repeat(17 * 1024).into()));
    assert_eq!(rejected(&world, &huge).await, TokenError::Malformed);
    for token in ["abc", "a.b.c", &format!("{}.e30", b64(&json!({"alg": "RS256"})))] {
        assert_eq!(rejected(&world, token).await, TokenError::Malformed, "{token}");
    }
    let basic = HeaderValue::from_static("Basic YWxhZGRpbjpvcGVuc2VzYW1l");
    let mut access = Access {
        api: &world.api,
        operation: &world.operation,
        presented: Presented::bearer(CredentialHeader::Once(&basic)),
        client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        endpoints: KeyTypes::BOTH,
    };
    let result = world.auth.authenticate(&world.data, &access).await;
    assert_eq!(result.err(), Some(Rejection::InvalidToken(TokenError::Malformed)));
    access.presented = Presented::default();
    let result = world.auth.authenticate(&world.data, &access).await;
    assert_eq!(result.err(), Some(Rejection::MissingCredential));
}
