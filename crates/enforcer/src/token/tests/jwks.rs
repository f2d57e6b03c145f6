//! JWKS behaviour against a real HTTP server: rotation, the unknown-`kid` flood, outages,
//! `max-age`, conditional requests, and keeping caches in step with the key managers.

use std::sync::Arc;

use futures_util::future::join_all;
use jsonwebtoken::Header;

use super::server::{JwksServer, Mode};
use super::{KM, NOW, TestKey, World, claims, key_manager};
use crate::enforcement::KeyManagers;
use crate::principal::Principal;
use crate::rejection::{Rejection, TokenError};

const UNKNOWN_KEY: Option<Rejection> = Some(Rejection::InvalidToken(TokenError::UnknownKey));

#[tokio::test]
async fn prepare_fetches_right_away_and_tokens_verify() {
    let server = JwksServer::start(&[&TestKey::rsa("a")]).await;
    let world = World::new(server.source());
    world.settle().await;
    assert_eq!(server.fetches(), 1, "first fetch on prepare");
    assert!(world.check(&TestKey::rsa("a").sign(&claims())).await.is_ok());
    assert_eq!((server.fetches(), world.jwks_fetches("ok")), (1, 1));
}

#[tokio::test]
async fn a_rotated_key_passes_once_the_jwks_publishes_it() {
    let (a, b) = (TestKey::rsa("a"), TestKey::rsa_b("b"));
    let server = JwksServer::start(&[&a]).await;
    let world = World::new(server.source());
    let old_token = a.sign(&claims());
    assert!(world.check(&old_token).await.is_ok());
    server.set_keys(&[&a, &b]);
    world.advance(10);
    assert!(world.check(&b.sign(&claims())).await.is_ok(), "unknown kid → refresh → found");
    assert_eq!(server.fetches(), 2);
    assert!(world.check(&old_token).await.is_ok(), "a is still published");

    server.set_keys(&[&b]);
    world.advance(10);
    let probe = TestKey::rsa("probe").sign(&claims());
    assert_eq!(world.check(&probe).await.err(), UNKNOWN_KEY, "refreshes, a is gone");
    assert_eq!(server.fetches(), 3);
    assert_eq!(world.check(&old_token).await.err(), UNKNOWN_KEY, "cached token of a removed key");
}

#[tokio::test]
async fn a_flood_of_random_kids_causes_at_most_one_more_fetch() {
    let server = JwksServer::start(&[&TestKey::p256("a")]).await;
    let world = World::new(server.source());
    world.settle().await;
    let results = flood(&world).await;
    assert!(results.iter().all(|r| r.as_ref().err() == UNKNOWN_KEY.as_ref()));
    assert_eq!(server.fetches(), 2, "initial + one: the scheduled fetch does not hold back a refresh on miss");
    world.advance(9);
    let results = flood(&world).await;
    assert!(results.iter().all(|r| r.as_ref().err() == UNKNOWN_KEY.as_ref()));
    assert_eq!(server.fetches(), 2, "the last refresh on miss was under 10 s ago");
    world.advance(1);
    let results = flood(&world).await;
    assert!(results.iter().all(|r| r.as_ref().err() == UNKNOWN_KEY.as_ref()));
    assert_eq!(server.fetches(), 3, "one more after 10 s");
    assert!(world.check(&TestKey::p256("a").sign(&claims())).await.is_ok());
}

/// 1,000 concurrent checks of tokens with random kids.
async fn flood(world: &World) -> Vec<Result<Principal, Rejection>> {
    let tokens: Vec<String> =
        (0..1_000).map(|_| TestKey::p256(&format!("kid-{}", rand::random::<u64>())).sign(&claims())).collect();
    join_all(tokens.iter().map(|token| world.check(token))).await
}

#[tokio::test]
async fn a_key_published_right_after_a_scheduled_refresh_is_found_at_once() {
    let (a, b) = (TestKey::rsa("a"), TestKey::rsa_b("b"));
    let server = JwksServer::start(&[&a]).await;
    let world = World::new(server.source());
    world.settle().await;
    server.set_keys(&[&a, &b]);
    world.advance(1);
    assert!(world.check(&b.sign(&claims())).await.is_ok(), "rotation 1 s after the scheduled fetch");
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn an_unknown_kid_is_remembered_for_a_while() {
    let server = JwksServer::start(&[&TestKey::ed25519("a")]).await;
    let world = World::new(server.source());
    world.settle().await;
    let nope = TestKey::ed25519("nope").sign(&claims());
    world.advance(10);
    assert_eq!(world.check(&nope).await.err(), UNKNOWN_KEY);
    assert_eq!(server.fetches(), 2);
    world.advance(10);
    assert_eq!(world.check(&nope).await.err(), UNKNOWN_KEY);
    assert_eq!(server.fetches(), 2, "remembered as unknown for 30 s");
    assert_eq!(world.check(&TestKey::ed25519("other").sign(&claims())).await.err(), UNKNOWN_KEY);
    assert_eq!(server.fetches(), 3, "another kid may refresh");
    world.advance(20);
    assert_eq!(world.check(&nope).await.err(), UNKNOWN_KEY);
    assert_eq!(server.fetches(), 4, "forgotten after 30 s");
}

#[tokio::test]
async fn last_good_keys_keep_serving_when_the_jwks_fails_or_goes_away() {
    let key = TestKey::rsa("a");
    let server = JwksServer::start(&[&key]).await;
    let world = World::new(server.source());
    assert!(world.check(&key.sign(&claims())).await.is_ok());
    for (mode, result) in [(Mode::Fail, "error"), (Mode::Garbage, "invalid")] {
        server.set_mode(mode);
        world.advance(601);
        assert!(long_lived(&world, &key).await.is_ok(), "{mode:?}: stale keys still verify");
        world.settle().await;
        assert_eq!(world.jwks_fetches(result), 1, "{mode:?} was fetched and counted");
    }
    server.stop();
    world.advance(601);
    assert!(long_lived(&world, &key).await.is_ok(), "server gone");
    world.settle().await;
    assert_eq!(world.jwks_fetches("error"), 2);
}

/// Checks a new token (so not cached) valid for a day.
async fn long_lived(world: &World, key: &TestKey) -> Result<Principal, Rejection> {
    let mut claims = claims();
    claims["exp"] = (NOW + 86_400).into();
    world.check(&key.sign(&claims)).await
}

#[tokio::test]
async fn an_unreachable_jwks_means_keys_unavailable() {
    let server = JwksServer::start(&[]).await;
    server.stop();
    tokio::task::yield_now().await;
    let world = World::new(server.source());
    let result = world.check(&TestKey::rsa("a").sign(&claims())).await;
    assert_eq!(result.err(), Some(Rejection::InvalidToken(TokenError::KeysUnavailable)));
}

#[tokio::test]
async fn max_age_decides_when_keys_are_refreshed_and_etag_avoids_a_download() {
    let key = TestKey::rsa("a");
    let server = JwksServer::start(&[&key]).await;
    server.set_cache_control("public, max-age=120");
    let world = World::new(server.source());
    world.settle().await;
    world.advance(119);
    assert!(world.check(&key.sign(&claims())).await.is_ok());
    world.settle().await;
    assert_eq!(server.fetches(), 1, "still fresh at 119 s");
    world.advance(1);
    assert!(world.check(&key.sign(&claims())).await.is_ok());
    world.settle().await;
    assert_eq!(server.fetches(), 2, "stale at 120 s: refreshed in the background");
    assert_eq!(world.jwks_fetches("not_modified"), 1, "same ETag: 304");
    server.set_cache_control("max-age=1");
    world.advance(120);
    assert!(world.check(&key.sign(&claims())).await.is_ok());
    world.settle().await;
    world.advance(29);
    assert!(world.check(&key.sign(&claims())).await.is_ok());
    world.settle().await;
    assert_eq!(server.fetches(), 3, "max-age=1 is clamped to 30 s");
}

#[tokio::test]
async fn key_managers_without_prepare_fetch_on_first_use() {
    let key = TestKey::p384("a");
    let server = JwksServer::start(&[&key]).await;
    let world = World::new(server.source());
    let mut data = world.data.clone();
    let mut renamed = key_manager(server.source());
    renamed.name = "Late KM".into();
    data.key_managers = KeyManagers::new([renamed.into()]).into();
    let result = world.check_in(&data, &key.sign(&claims())).await;
    assert!(result.as_ref().is_err_and(|r| matches!(r, Rejection::NotSubscribed(_))), "{result:?}");
    assert!(world.auth.key_stores().jwks_cache("Late KM").is_some());
}

#[tokio::test]
async fn prepare_keeps_unchanged_caches_and_drops_removed_ones() {
    let server = JwksServer::start(&[&TestKey::rsa("a")]).await;
    let other = JwksServer::start(&[&TestKey::rsa("a")]).await;
    let world = World::new(server.source());
    let stores = world.auth.key_stores();
    let before = stores.jwks_cache(KM).expect("a JWKS cache");
    world.auth.prepare(&world.data.key_managers);
    assert!(Arc::ptr_eq(&before, &stores.jwks_cache(KM).expect("kept")), "nothing changed");
    world.auth.prepare(&KeyManagers::new([key_manager(other.source()).into()]));
    let moved = stores.jwks_cache(KM).expect("a new cache");
    assert!(!Arc::ptr_eq(&before, &moved), "the URL changed");
    let mut disabled = key_manager(other.source());
    disabled.enabled = false;
    world.auth.prepare(&KeyManagers::new([disabled.into()]));
    assert!(stores.jwks_cache(KM).is_none(), "disabled");
    world.auth.prepare(&KeyManagers::new([]));
    assert!(stores.jwks_cache(KM).is_none(), "removed");
    drop((before, moved));
    let no_kid = TestKey::rsa("a").sign_with(&Header::new(jsonwebtoken::Algorithm::RS256), &claims());
    assert_eq!(
        world.check_in(&world.data, &no_kid).await.map(|p| p.key_type).ok(),
        Some(crate::model::KeyType::Production)
    );
}

#[tokio::test]
async fn a_refused_signature_is_remembered_only_while_the_key_is_unchanged() {
    let genuine = TestKey::rsa("k");
    let server = JwksServer::start(&[&genuine]).await;
    let world = World::new(server.source());
    let mut long_lived = claims();
    long_lived["exp"] = (NOW + 86_400).into();
    let forged = TestKey::rsa_b("k").sign(&long_lived);
    let bad_signature = Some(Rejection::InvalidToken(TokenError::BadSignature));
    assert_eq!(world.check(&forged).await.err(), bad_signature);
    assert!(world.remembers_refusal(&forged), "the refusal is remembered with the key that refused it");
    assert_eq!(world.check(&forged).await.err(), bad_signature, "and answered from memory");
    assert!(world.check(&genuine.sign(&claims())).await.is_ok(), "other tokens are unaffected");

    // The issuer now signs with the other key under the same kid: the refusal no longer applies.
    server.set_keys(&[&TestKey::rsa_b("k")]);
    world.advance(60 * 60 + 1);
    world.check(&genuine.sign(&claims())).await.ok();
    world.settle().await;
    let again = world.check(&forged).await;
    assert!(again.is_ok(), "verified again against the new key, and accepted: {again:?} fetches {}", server.fetches());
}
