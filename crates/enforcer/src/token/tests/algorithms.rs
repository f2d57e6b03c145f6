//! Every supported algorithm is accepted, with keys from a JWKS, a PEM public key or a PEM
//! certificate.

use jsonwebtoken::Algorithm as Jwt;

use super::server::JwksServer;
use super::{KM, TestKey, World, claims, key_manager, pem_source};
use crate::model::KeyType;
use crate::rejection::{Rejection, TokenError};
use crate::token::TokenSettings;

fn every_algorithm() -> Vec<TestKey> {
    let rsa = [Jwt::RS256, Jwt::RS384, Jwt::RS512, Jwt::PS256, Jwt::PS384, Jwt::PS512];
    let mut keys: Vec<TestKey> = rsa.into_iter().map(|alg| TestKey::rsa("rsa").signing_with(alg)).collect();
    keys.extend([TestKey::p256("p256"), TestKey::p384("p384"), TestKey::ed25519("ed")]);
    keys
}

#[tokio::test]
async fn every_algorithm_is_accepted_from_a_jwks() {
    let published = [TestKey::rsa("rsa"), TestKey::p256("p256"), TestKey::p384("p384"), TestKey::ed25519("ed")];
    let server = JwksServer::start(&published.iter().collect::<Vec<_>>()).await;
    let world = World::new(server.source());
    for key in every_algorithm() {
        let principal = world.check(&key.sign(&claims())).await;
        let principal = principal.unwrap_or_else(|rejection| panic!("{:?}: {rejection:?}", key.alg));
        assert_eq!(&*principal.subject, "alice");
        assert_eq!(&*principal.key_manager, KM);
        assert_eq!(principal.key_type, KeyType::Production);
    }
    assert_eq!(server.fetches(), 1, "one fetch serves every key");
}

#[tokio::test]
async fn every_algorithm_is_accepted_from_a_pem_public_key_and_certificate() {
    for key in every_algorithm() {
        for pem in [key.public_pem(), key.certificate_pem()] {
            let world = World::new(pem_source(pem));
            let result = world.check(&key.sign(&claims())).await;
            assert!(result.is_ok(), "{:?}: {result:?}", key.alg);
        }
    }
}

#[tokio::test]
async fn a_pem_key_manager_ignores_the_kid() {
    let key = TestKey::p256("whatever");
    let world = World::new(pem_source(key.public_pem()));
    let mut header = jsonwebtoken::Header::new(Jwt::ES256);
    assert!(world.check(&key.sign_with(&header, &claims())).await.is_ok(), "no kid");
    header.kid = Some("another".to_owned());
    assert!(world.check(&key.sign_with(&header, &claims())).await.is_ok(), "any kid");
}

#[tokio::test]
async fn an_unusable_pem_leaves_the_key_manager_without_keys() {
    let world = World::new(pem_source("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".to_owned()));
    let result = world.check(&TestKey::rsa("k").sign(&claims())).await;
    assert_eq!(result.err(), Some(Rejection::InvalidToken(TokenError::KeysUnavailable)));
}

#[tokio::test]
async fn algorithms_outside_the_key_manager_list_are_disallowed() {
    let key = TestKey::rsa("rsa");
    let mut km = key_manager(pem_source(key.public_pem()));
    km.algorithms = [crate::model::Algorithm::PS256].into_iter().collect();
    let world = World::with(km, TokenSettings::default());
    let rs256 = world.check(&key.sign(&claims())).await;
    assert_eq!(rs256.err(), Some(Rejection::InvalidToken(TokenError::DisallowedAlgorithm)));
    let ps256 = world.check(&key.clone().signing_with(Jwt::PS256).sign(&claims())).await;
    assert!(ps256.is_ok(), "{ps256:?}");
}

#[tokio::test]
async fn a_jwk_alg_pins_the_algorithm() {
    let key = TestKey::rsa("pinned");
    let server = JwksServer::start(&[]).await;
    let mut jwk = key.jwk();
    jwk["alg"] = "PS256".into();
    server.set_body(&serde_json::json!({"keys": [jwk]}).to_string());
    let world = World::new(server.source());
    let rs256 = world.check(&key.sign(&claims())).await;
    assert_eq!(rs256.err(), Some(Rejection::InvalidToken(TokenError::DisallowedAlgorithm)));
    let ps256 = world.check(&key.clone().signing_with(Jwt::PS256).sign(&claims())).await;
    assert!(ps256.is_ok(), "{ps256:?}");
}
