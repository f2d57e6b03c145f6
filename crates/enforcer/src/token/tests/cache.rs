//! Expiry, skew and the verified-token cache, on the manual clock: what a cache hit still
//! checks, and what makes a cached verification void.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{NOW, TestKey, World, claims, key_manager, pem_source, subscription};
use crate::enforcement::{KeyManagers, Revocations, Subscriptions};
use crate::guard::OperationGuard;
use crate::model::{RevokedId, RevokedToken, SubscriptionStatus};
use crate::rejection::{Rejection, TokenError};
use crate::token::TokenSettings;

fn pem_world(key: &TestKey) -> World {
    World::new(pem_source(key.public_pem()))
}

fn expiring_at(exp: u64) -> Value {
    let mut claims = claims();
    claims["exp"] = exp.into();
    claims
}

#[tokio::test]
async fn a_cached_token_is_refused_from_exp_plus_skew_even_while_still_cached() {
    let key = TestKey::rsa("k");
    let world = pem_world(&key);
    let token = key.sign(&expiring_at(NOW + 10));
    assert!(world.check(&token).await.is_ok());
    let cached = world.auth.verified_cache().get(&token).expect("cached after a first check");
    assert_eq!(cached.cache_ttl(), Duration::from_secs(10), "the entry lives until exp");
    world.advance(39);
    assert!(world.check(&token).await.is_ok(), "within the 30 s skew");
    world.advance(1);
    assert!(world.auth.verified_cache().get(&token).is_some(), "moka's clock has not moved");
    assert_eq!(world.check(&token).await.err(), Some(Rejection::InvalidToken(TokenError::Expired)));
}

#[tokio::test]
async fn not_before_is_honoured_with_the_skew() {
    let key = TestKey::p256("k");
    let world = pem_world(&key);
    let mut claims = claims();
    claims["nbf"] = (NOW + 60).into();
    let token = key.sign(&claims);
    assert_eq!(world.check(&token).await.err(), Some(Rejection::InvalidToken(TokenError::NotYetValid)));
    world.advance(29);
    assert_eq!(world.check(&token).await.err(), Some(Rejection::InvalidToken(TokenError::NotYetValid)));
    world.advance(1);
    assert!(world.check(&token).await.is_ok(), "nbf - skew reached");
}

#[tokio::test]
async fn the_skew_is_the_key_managers() {
    let key = TestKey::ed25519("k");
    let mut km = key_manager(pem_source(key.public_pem()));
    km.clock_skew = Duration::ZERO;
    let world = World::with(km, TokenSettings::default());
    let token = key.sign(&expiring_at(NOW + 5));
    assert!(world.check(&token).await.is_ok());
    world.advance(5);
    assert_eq!(world.check(&token).await.err(), Some(Rejection::InvalidToken(TokenError::Expired)));
}

#[tokio::test]
async fn a_cache_hit_reuses_the_verification() {
    let key = TestKey::rsa("k");
    let world = pem_world(&key);
    let token = key.sign(&claims());
    let first = world.check(&token).await.expect("valid");
    let entry = world.auth.verified_cache().get(&token).expect("cached");
    let second = world.check(&token).await.expect("valid from the cache");
    let again = world.auth.verified_cache().get(&token).expect("still cached");
    assert!(Arc::ptr_eq(&entry, &again), "not verified again");
    assert!(Arc::ptr_eq(&first.subject, &second.subject));
    let long_lived = key.sign(&expiring_at(NOW + 86_400));
    assert!(world.check(&long_lived).await.is_ok());
    let ttl = world.auth.verified_cache().get(&long_lived).map(|entry| entry.cache_ttl());
    assert_eq!(ttl, Some(Duration::from_secs(3_600)), "re-verified at least hourly");
}

#[tokio::test]
async fn revoking_a_cached_token_takes_effect_at_once() {
    let key = TestKey::rsa("k");
    let world = pem_world(&key);
    let token = key.sign(&claims());
    assert!(world.check(&token).await.is_ok());
    let mut revoked = world.data.clone();
    let revocation = RevokedToken { id: RevokedId::Jti(jti_of(&token)), expires_at: NOW + 600 };
    revoked.revocations = Revocations::new([revocation], NOW).into();
    assert_eq!(world.check_in(&revoked, &token).await.err(), Some(Rejection::InvalidToken(TokenError::Revoked)));
}

#[tokio::test]
async fn a_key_manager_change_or_removal_voids_cached_verifications() {
    let key = TestKey::rsa("k");
    let world = pem_world(&key);
    let token = key.sign(&claims());
    assert!(world.check(&token).await.is_ok());
    let mut narrowed = key_manager(pem_source(key.public_pem()));
    narrowed.audiences = Box::new(["api://elsewhere".into()]);
    let mut data = world.data.clone();
    data.key_managers = KeyManagers::new([narrowed.into()]).into();
    world.auth.prepare(&data.key_managers);
    assert_eq!(world.check_in(&data, &token).await.err(), Some(Rejection::InvalidToken(TokenError::WrongAudience)));
    let mut disabled = key_manager(pem_source(key.public_pem()));
    disabled.enabled = false;
    data.key_managers = KeyManagers::new([disabled.into()]).into();
    assert_eq!(world.check_in(&data, &token).await.err(), Some(Rejection::InvalidToken(TokenError::UnknownIssuer)));
    data.key_managers = KeyManagers::new([]).into();
    assert_eq!(world.check_in(&data, &token).await.err(), Some(Rejection::InvalidToken(TokenError::UnknownIssuer)));
    let other_key = TestKey::rsa_b("k");
    data.key_managers = KeyManagers::new([key_manager(pem_source(other_key.public_pem())).into()]).into();
    world.auth.prepare(&data.key_managers);
    assert_eq!(world.check_in(&data, &token).await.err(), Some(Rejection::InvalidToken(TokenError::BadSignature)));
}

#[tokio::test]
async fn an_equal_but_new_key_manager_reverifies_and_accepts() {
    let key = TestKey::rsa("k");
    let world = pem_world(&key);
    let token = key.sign(&claims());
    assert!(world.check(&token).await.is_ok());
    let before = world.auth.verified_cache().get(&token).expect("cached");
    let mut data = world.data.clone();
    data.key_managers = KeyManagers::new([key_manager(pem_source(key.public_pem())).into()]).into();
    assert!(world.check_in(&data, &token).await.is_ok());
    let after = world.auth.verified_cache().get(&token).expect("cached again");
    assert!(!Arc::ptr_eq(&before, &after), "verified again against the new key manager");
}

#[tokio::test]
async fn subscription_and_scopes_are_decided_afresh_on_cache_hits() {
    let key = TestKey::rsa("k");
    let world = pem_world(&key);
    let token = key.sign(&claims());
    assert!(world.check(&token).await.is_ok());
    let mut blocked = world.data.clone();
    blocked.subscriptions = Subscriptions::new([subscription(SubscriptionStatus::Blocked).into()]).into();
    assert_eq!(world.check_in(&blocked, &token).await.err(), Some(Rejection::SubscriptionBlocked));
    let admin = OperationGuard { scopes: Box::new(["admin".into()]), ..world.operation.clone() };
    assert_eq!(world.check_op(&world.data, &admin, &token).await.err(), Some(Rejection::MissingScope));
}

#[tokio::test]
async fn a_disabled_cache_verifies_every_time() {
    let key = TestKey::p384("k");
    let settings = TokenSettings { verified_cache_capacity: 0, ..TokenSettings::default() };
    let world = World::with(key_manager(pem_source(key.public_pem())), settings);
    let token = key.sign(&claims());
    assert!(world.check(&token).await.is_ok());
    assert!(world.check(&token).await.is_ok());
    assert!(world.auth.verified_cache().get(&token).is_none());
}

fn jti_of(token: &str) -> Arc<str> {
    let parsed = crate::token::parse_unverified(token).expect("a well-formed token");
    parsed.claims().get("jti").and_then(Value::as_str).map(Arc::from).expect("a jti")
}
