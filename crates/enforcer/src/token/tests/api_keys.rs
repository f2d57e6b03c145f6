//! API keys through the authenticator: the same key handling as bearer tokens (key manager by
//! `iss`, algorithms, revocation, caches), their own claims, and the separation of the two.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use http::HeaderValue;
use serde_json::{Value, json};

use super::{ISSUER, NOW, TestKey, World, claims, pem_source};
use crate::enforcement::Revocations;
use crate::enforcer::{Access, KeyTypes};
use crate::model::{KeyType, RevokedId, RevokedToken};
use crate::presented::{ApiKeyPresented, Presented};
use crate::principal::Principal;
use crate::rejection::{NotSubscribed, Rejection, TokenError};
use crate::schemes::SecuritySchemes;
use crate::token::CredentialHeader;

/// API-M's claims for a key of application `app-uuid` subscribed to the world's API
/// (`shop` 1.0) with the Gold tier; no `exp`, as API-M writes keys that never expire.
fn api_key_claims() -> Value {
    json!({
        "iss": ISSUER, "sub": "admin@carbon.super", "iat": NOW, "jti": "key-1", "keytype": "SANDBOX",
        "token_type": "apiKey", "permittedIP": "", "permittedReferer": "",
        "application": {"id": 3, "uuid": "app-uuid", "name": "Mobile", "owner": "admin", "tier": "50PerMin"},
        "subscribedAPIs": [{"name": "shop", "version": "1.0", "context": "/shop/1.0", "subscriptionTier": "Gold"}]
    })
}

fn api_key_world() -> (World, TestKey) {
    let key = TestKey::rsa("apim");
    let mut world = World::new(pem_source(key.certificate_pem()));
    world.api.schemes = SecuritySchemes::BEARER_AND_API_KEY;
    (world, key)
}

async fn check_key(world: &World, key: &str, ip: IpAddr) -> Result<Principal, Rejection> {
    let value = HeaderValue::from_str(key).map_err(|_| Rejection::MissingCredential)?;
    let access = Access {
        api: &world.api,
        operation: &world.operation,
        presented: Presented { api_key: ApiKeyPresented::Header(&value), ..Presented::default() },
        client_ip: ip,
        endpoints: KeyTypes::BOTH,
    };
    world.auth.authenticate(&world.data, &access).await
}

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::test]
async fn a_key_is_its_application_key_type_and_subscription_tier() {
    let (world, signer) = api_key_world();
    let principal = check_key(&world, &signer.sign(&api_key_claims()), LOCAL).await.expect("admitted");
    assert_eq!(principal.key_type, KeyType::Sandbox);
    assert_eq!(&*principal.subject, "admin@carbon.super");
    let application = principal.application.expect("the key's application");
    assert_eq!((&*application.id, &*application.policy), ("app-uuid", "50PerMin"));
    assert_eq!(&*principal.subscription.expect("the entry's subscription").policy, "Gold");
}

#[tokio::test]
async fn the_key_managers_rules_apply_and_a_revoked_key_is_refused() {
    let (mut world, signer) = api_key_world();
    let key = signer.sign(&api_key_claims());
    assert!(check_key(&world, &key, LOCAL).await.is_ok());
    let revoked = RevokedToken { id: RevokedId::Jti("key-1".into()), expires_at: NOW + 60 };
    world.data.revocations = Arc::new(Revocations::new([revoked], NOW));
    assert_eq!(check_key(&world, &key, LOCAL).await.err(), Some(TokenError::Revoked.into()), "cached, then revoked");
    let forged = TestKey::rsa_b("apim").sign(&api_key_claims());
    assert_eq!(check_key(&world, &forged, LOCAL).await.err(), Some(TokenError::BadSignature.into()));
    let mut expired = api_key_claims();
    expired["exp"] = json!(NOW - 3600);
    assert_eq!(check_key(&world, &signer.sign(&expired), LOCAL).await.err(), Some(TokenError::Expired.into()));
    let mut foreign = api_key_claims();
    foreign["iss"] = json!("https://elsewhere");
    assert_eq!(check_key(&world, &signer.sign(&foreign), LOCAL).await.err(), Some(TokenError::UnknownIssuer.into()));
    let oversize = format!("{key}{}", "A".repeat(16 * 1024));
    assert_eq!(check_key(&world, &oversize, LOCAL).await.err(), Some(TokenError::Malformed.into()));
}

#[tokio::test]
async fn a_cached_key_is_still_matched_against_each_api() {
    let (mut world, signer) = api_key_world();
    let key = signer.sign(&api_key_claims());
    assert!(check_key(&world, &key, LOCAL).await.is_ok());
    world.api.id = "other-id".into();
    world.api.name = "other".into();
    let refused = check_key(&world, &key, LOCAL).await.err();
    assert_eq!(refused, Some(NotSubscribed::ApiNotInKey.into()), "verified and cached, yet not for this API");
    world.api.base_paths = Box::new(["/shop/1.0".into()]);
    assert!(check_key(&world, &key, LOCAL).await.is_ok(), "by context");
}

#[tokio::test]
async fn a_bearer_token_and_an_api_key_never_stand_in_for_each_other() {
    let (world, signer) = api_key_world();
    let key = signer.sign(&api_key_claims());
    let bearer = HeaderValue::from_str(&format!("Bearer {key}")).expect("a header value");
    let as_bearer = Access {
        api: &world.api,
        operation: &world.operation,
        presented: Presented::bearer(CredentialHeader::Once(&bearer)),
        client_ip: LOCAL,
        endpoints: KeyTypes::BOTH,
    };
    assert!(check_key(&world, &key, LOCAL).await.is_ok(), "verified and cached as an API key");
    let refused = world.auth.authenticate(&world.data, &as_bearer).await.err();
    assert_eq!(refused, Some(TokenError::MissingExpiry.into()), "as a bearer token it needs an exp");
    let token = signer.sign(&claims());
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).expect("a header value");
    let as_bearer = Access { presented: Presented::bearer(CredentialHeader::Once(&bearer)), ..as_bearer };
    assert!(world.auth.authenticate(&world.data, &as_bearer).await.is_ok());
    let refused = check_key(&world, &token, LOCAL).await.err();
    assert_eq!(refused, Some(TokenError::MalformedClaims.into()), "a token is no API key");
}

#[tokio::test]
async fn ip_restrictions_and_scoped_operations() {
    let (mut world, signer) = api_key_world();
    let mut restricted = api_key_claims();
    restricted["permittedIP"] = json!("127.0.0.2");
    let key = signer.sign(&restricted);
    assert_eq!(check_key(&world, &key, LOCAL).await.err(), Some(NotSubscribed::IpNotPermitted.into()));
    assert!(check_key(&world, &key, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).await.is_ok());
    let mut garbage = api_key_claims();
    garbage["permittedIP"] = json!("127.0.0.2, not-an-ip");
    let garbage = signer.sign(&garbage);
    assert_eq!(check_key(&world, &garbage, LOCAL).await.err(), Some(TokenError::MalformedClaims.into()));
    world.operation.scopes = Box::new(["read".into()]);
    let scoped = check_key(&world, &key, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).await.err();
    assert_eq!(scoped, Some(Rejection::MissingScope), "an API key holds no scopes");
}

#[tokio::test]
async fn a_key_naming_a_policy_the_gateway_lacks_is_refused_not_unlimited() {
    let (world, signer) = api_key_world();
    let mut unknown_subscription_tier = api_key_claims();
    unknown_subscription_tier["subscribedAPIs"][0]["subscriptionTier"] = json!("Platinum");
    let mut unknown_application_tier = api_key_claims();
    unknown_application_tier["application"]["tier"] = json!("5PerDay");
    for claims in [unknown_subscription_tier, unknown_application_tier] {
        let refused = check_key(&world, &signer.sign(&claims), LOCAL).await.err();
        assert_eq!(refused, Some(NotSubscribed::UnknownPolicy.into()), "{claims}");
        assert_eq!(refused.map(|rejection| rejection.code()), Some("900908"));
    }
    let mut absent_tiers = api_key_claims();
    absent_tiers["subscribedAPIs"][0].as_object_mut().map(|entry| entry.remove("subscriptionTier"));
    absent_tiers["application"].as_object_mut().map(|application| application.remove("tier"));
    assert!(check_key(&world, &signer.sign(&absent_tiers), LOCAL).await.is_ok(), "absent is Unlimited, which exists");
}
