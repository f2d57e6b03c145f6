//! Backend JWTs minted from principals the authenticator admitted: one signature per
//! (credential, Api) until the JWT is due for renewal, never past the credential's `exp`, and
//! never a cached JWT that no longer describes the request or was signed by a replaced key.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::{NOW, TestKey, World, claims, pem_source};
use crate::backend_jwt::{BackendJwtSettings, BackendJwtSigner, SigningKey};
use crate::clock::SharedClock;
use crate::enforcement::Applications;
use crate::model::Application;

fn signer(world: &World) -> BackendJwtSigner {
    let settings = BackendJwtSettings {
        issuer: "tollgate".into(),
        header: HeaderName::from_static("x-jwt-assertion"),
        ttl: Duration::from_secs(900),
    };
    let clock: SharedClock = world.clock.clone();
    BackendJwtSigner::new(settings, signing_key(), clock)
}

fn signing_key() -> SigningKey {
    let pem = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a key pair").serialize_pem();
    SigningKey::from_pem(pem.as_bytes(), None).expect("a signing key")
}

/// The unverified claims of a minted JWT (the signature is tested in `backend_jwt/tests.rs`).
fn claims_of(jwt: &HeaderValue) -> Value {
    let payload = jwt.to_str().unwrap_or_default().split('.').nth(1).unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

async fn world_and_token(exp: u64) -> (World, String) {
    let key = TestKey::rsa("k");
    let world = World::new(pem_source(key.public_pem()));
    let mut claims = claims();
    claims["exp"] = exp.into();
    (world, key.sign(&claims))
}

#[tokio::test]
async fn a_credential_on_an_api_is_signed_for_once_until_renewal_and_never_beyond_its_exp() {
    let (world, token) = world_and_token(NOW + 600).await;
    let signer = signer(&world);
    let principal = world.check(&token).await.expect("admitted");
    let first = signer.assertion(&principal, &world.api).expect("a JWT");
    assert_eq!(claims_of(&first)["exp"], NOW + 600, "the credential expires before the ttl");
    let again = world.check(&token).await.expect("admitted");
    assert_eq!(signer.assertion(&again, &world.api).ok(), Some(first.clone()), "cached: same jti and iat");
    let mut other_api = world.api.clone();
    other_api.id = "api-2".into();
    let other = signer.assertion(&principal, &other_api).expect("a JWT");
    assert_ne!(claims_of(&other)["jti"], claims_of(&first)["jti"], "per Api");
    world.advance(600 - 30 - 1);
    assert_eq!(signer.assertion(&principal, &world.api).ok(), Some(first.clone()), "before the renewal margin");
    world.advance(1);
    let renewed = signer.assertion(&principal, &world.api).expect("a JWT");
    assert_ne!(renewed, first, "renewed 30 s before exp");
    assert_eq!(claims_of(&renewed)["exp"], NOW + 600);
}

#[tokio::test]
async fn a_cached_jwt_is_not_served_after_rotation_or_once_its_application_changed() {
    let (world, token) = world_and_token(NOW + 3600).await;
    let signer = signer(&world);
    let principal = world.check(&token).await.expect("admitted");
    let first = signer.assertion(&principal, &world.api).expect("a JWT");
    assert_eq!(claims_of(&first)["exp"], NOW + 900, "ttl before the credential's exp");
    assert!(signer.rotate(signing_key()));
    let rotated = signer.assertion(&principal, &world.api).expect("a JWT");
    assert_ne!(rotated, first, "signed again with the new key");
    let mut data = world.data.clone();
    let renamed =
        Application { name: "renamed".into(), ..(**data.applications.iter().next().expect("an app")).clone() };
    data.applications = Arc::new(Applications::new([Arc::new(renamed)]));
    let changed = world.check_in(&data, &token).await.expect("admitted");
    let minted = signer.assertion(&changed, &world.api).expect("a JWT");
    assert_eq!(claims_of(&minted)["http://wso2.org/claims/applicationname"], "renamed");
}

#[tokio::test]
async fn a_credential_keeps_its_last_jwt_and_the_shared_cache_the_ones_for_other_apis() {
    let (world, token) = world_and_token(NOW + 3600).await;
    let signer = signer(&world);
    let principal = world.check(&token).await.expect("admitted");
    let mut other_api = world.api.clone();
    other_api.id = "api-2".into();
    let first = signer.assertion(&principal, &world.api).expect("a JWT");
    let other = signer.assertion(&principal, &other_api).expect("a JWT");
    assert_eq!(signer.assertion(&principal, &world.api).ok(), Some(first.clone()), "the shared cache, per Api");
    signer.forget_cached();
    let again = world.check(&token).await.expect("admitted");
    assert_eq!(signer.assertion(&again, &world.api).ok(), Some(first), "kept on the credential itself");
    let reminted = signer.assertion(&again, &other_api).expect("a JWT");
    assert_ne!(claims_of(&reminted)["jti"], claims_of(&other)["jti"], "the credential keeps one JWT, for its last Api");
}
