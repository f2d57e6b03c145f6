//! Subscription statuses, key types, missing links, and scopes.

use serde_json::{Value, json};

use super::{APP_ID, KM, PROD_KEY, SANDBOX_KEY, TestKey, World, claims, enforcement, key_manager, pem_source};
use crate::enforcement::{Applications, Enforcement, KeyMappings, Subscriptions};
use crate::guard::OperationGuard;
use crate::model::{KeyManager, KeyMapping, KeyType, SubscriptionStatus};
use crate::principal::Principal;
use crate::rejection::{NotSubscribed, Rejection};
use crate::token::TokenSettings;

struct Fixture {
    key: TestKey,
    world: World,
}

impl Fixture {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(change: impl FnOnce(&mut KeyManager)) -> Self {
        let key = TestKey::ed25519("k");
        let mut km = key_manager(pem_source(key.public_pem()));
        change(&mut km);
        Fixture { world: World::with(km, TokenSettings::default()), key }
    }

    fn token(&self, change: impl FnOnce(&mut Value)) -> String {
        let mut claims = claims();
        change(&mut claims);
        self.key.sign(&claims)
    }

    fn sandbox_token(&self) -> String {
        self.token(|c| c["azp"] = SANDBOX_KEY.into())
    }

    fn snapshot(&self, status: SubscriptionStatus) -> Enforcement {
        let km = self.world.data.key_managers.by_name(KM).expect("the key manager").clone();
        Enforcement { key_managers: self.world.data.key_managers.clone(), ..enforcement((*km).clone(), status) }
    }

    async fn check_with(&self, status: SubscriptionStatus, token: &str) -> Result<Principal, Rejection> {
        self.world.check_in(&self.snapshot(status), token).await
    }
}

#[tokio::test]
async fn active_statuses_pass_with_the_mappings_key_type() {
    let fixture = Fixture::new();
    for status in [SubscriptionStatus::Unblocked, SubscriptionStatus::TierUpdatePending] {
        let production = fixture.check_with(status, &fixture.token(|_| {})).await.expect("subscribed");
        assert_eq!(production.key_type, KeyType::Production);
        assert_eq!(production.application.as_ref().map(|app| &*app.id), Some(APP_ID));
        assert_eq!(production.subscription.as_ref().map(|sub| sub.status), Some(status));
        let sandbox = fixture.check_with(status, &fixture.sandbox_token()).await.expect("subscribed");
        assert_eq!(sandbox.key_type, KeyType::Sandbox);
    }
}

#[tokio::test]
async fn blocked_and_inactive_statuses_are_refused() {
    let fixture = Fixture::new();
    let (production, sandbox) = (fixture.token(|_| {}), fixture.sandbox_token());
    for token in [&production, &sandbox] {
        let blocked = fixture.check_with(SubscriptionStatus::Blocked, token).await;
        assert_eq!(blocked.err(), Some(Rejection::SubscriptionBlocked));
        for status in [SubscriptionStatus::OnHold, SubscriptionStatus::Rejected] {
            let inactive = fixture.check_with(status, token).await;
            assert_eq!(inactive.err(), Some(Rejection::SubscriptionInactive));
        }
    }
    let rejection = Rejection::SubscriptionInactive;
    assert_eq!((rejection.status().as_u16(), rejection.code()), (403, "900909"));
    assert_eq!(
        (Rejection::SubscriptionBlocked.status().as_u16(), Rejection::SubscriptionBlocked.code()),
        (401, "900907")
    );
}

#[tokio::test]
async fn prod_only_blocked_refuses_production_keys_and_admits_sandbox_keys() {
    let fixture = Fixture::new();
    let production = fixture.check_with(SubscriptionStatus::ProdOnlyBlocked, &fixture.token(|_| {})).await;
    assert_eq!(production.err(), Some(Rejection::SubscriptionBlocked));
    let sandbox = fixture.check_with(SubscriptionStatus::ProdOnlyBlocked, &fixture.sandbox_token()).await;
    assert_eq!(sandbox.map(|p| p.key_type).ok(), Some(KeyType::Sandbox));
}

#[tokio::test]
async fn every_missing_link_is_not_subscribed() {
    let fixture = Fixture::new();
    let not_subscribed = |reason| Some(Rejection::NotSubscribed(reason));
    let no_azp = fixture.token(|c| drop(c.as_object_mut().map(|c| c.remove("azp"))));
    assert_eq!(fixture.world.check(&no_azp).await.err(), not_subscribed(NotSubscribed::NoConsumerKey));
    let unknown = fixture.token(|c| c["azp"] = "ck-unknown".into());
    assert_eq!(fixture.world.check(&unknown).await.err(), not_subscribed(NotSubscribed::NoKeyMapping));
    let mut data = fixture.world.data.clone();
    let foreign = KeyMapping {
        key_manager: "Another KM".into(),
        ..(**data.key_mappings.get(KM, PROD_KEY).expect("mapping")).clone()
    };
    data.key_mappings = KeyMappings::new([foreign.into()]).into();
    let token = fixture.token(|_| {});
    assert_eq!(fixture.world.check_in(&data, &token).await.err(), not_subscribed(NotSubscribed::NoKeyMapping));
    let mut data = fixture.world.data.clone();
    data.applications = Applications::new([]).into();
    assert_eq!(fixture.world.check_in(&data, &token).await.err(), not_subscribed(NotSubscribed::NoApplication));
    data = fixture.world.data.clone();
    data.subscriptions = Subscriptions::new([]).into();
    assert_eq!(fixture.world.check_in(&data, &token).await.err(), not_subscribed(NotSubscribed::NoSubscription));
    assert_eq!(Rejection::NotSubscribed(NotSubscribed::NoSubscription).code(), "900908");
}

#[tokio::test]
async fn the_consumer_key_claim_is_configurable_and_falls_back_to_client_id() {
    let fixture = Fixture::with(|km| km.consumer_key_claim = "cid".into());
    let custom = fixture.token(|c| {
        c["azp"] = "ignored".into();
        c["cid"] = SANDBOX_KEY.into();
    });
    assert_eq!(fixture.world.check(&custom).await.map(|p| p.key_type).ok(), Some(KeyType::Sandbox));
    let fallback = fixture.token(|c| {
        c["azp"] = "ignored".into();
        c["client_id"] = PROD_KEY.into();
    });
    assert_eq!(fixture.world.check(&fallback).await.map(|p| p.key_type).ok(), Some(KeyType::Production));
}

#[tokio::test]
async fn without_subscription_validation_every_token_is_a_production_key() {
    let fixture = Fixture::with(|km| km.validate_subscription = false);
    let mut data = fixture.world.data.clone();
    data.subscriptions = Subscriptions::new([]).into();
    let token = fixture.token(|c| c["azp"] = SANDBOX_KEY.into());
    let principal = fixture.world.check_in(&data, &token).await.expect("no subscription needed");
    assert_eq!(principal.key_type, KeyType::Production);
    assert!(principal.application.is_none() && principal.subscription.is_none());
    assert_eq!(&*principal.key_manager, KM);
}

#[tokio::test]
async fn scopes_are_any_of_from_a_string_or_an_array() {
    let fixture = Fixture::new();
    let operation = |scopes: &[&str]| OperationGuard {
        scopes: scopes.iter().map(|s| (*s).into()).collect(),
        ..fixture.world.operation.clone()
    };
    let data = &fixture.world.data;
    let string = fixture.token(|c| c["scope"] = "read write".into());
    assert!(fixture.world.check_op(data, &operation(&["admin", "write"]), &string).await.is_ok());
    assert!(fixture.world.check_op(data, &operation(&[]), &string).await.is_ok());
    let missing = fixture.world.check_op(data, &operation(&["admin"]), &string).await;
    assert_eq!(missing.err(), Some(Rejection::MissingScope));
    let none = fixture.token(|c| drop(c.as_object_mut().map(|c| c.remove("scope"))));
    assert_eq!(fixture.world.check_op(data, &operation(&["read"]), &none).await.err(), Some(Rejection::MissingScope));

    let array_fixture = Fixture::with(|km| km.scopes_claim = "scp".into());
    let array = array_fixture.token(|c| c["scp"] = json!(["admin", "read"]));
    let data = &array_fixture.world.data;
    assert!(array_fixture.world.check_op(data, &operation(&["admin"]), &array).await.is_ok());
    let wrong = array_fixture.world.check_op(data, &operation(&["write"]), &array).await;
    assert_eq!(wrong.err(), Some(Rejection::MissingScope));
}
