use std::net::{IpAddr, Ipv4Addr};

use serde_json::json;

use super::*;
use crate::schemes::SecuritySchemes;

fn claims(value: &Value) -> Claims {
    Claims::from_json(value.to_string().as_bytes()).unwrap_or_else(|_| panic!("a JSON object"))
}

fn api(name: &str, version: &str, base_paths: &[&str]) -> ApiGuard {
    ApiGuard {
        id: format!("{name}-id").into(),
        name: name.into(),
        version: version.into(),
        blocked: false,
        throttling_policy: None,
        schemes: SecuritySchemes::API_KEY,
        base_paths: base_paths.iter().map(|p| Arc::from(*p)).collect(),
        client_certificates: Default::default(),
    }
}

/// The claims API-M 4.x writes into an API key, for `PizzaShackAPI` 1.0.0.
fn wso2_claims() -> Value {
    json!({
        "sub": "admin@carbon.super",
        "application": {"owner": "admin", "tier": "10PerMin", "name": "DefaultApplication", "id": 1,
                        "uuid": "4a3c-app"},
        "iss": "https://apim:9443/oauth2/token",
        "tierInfo": {"Bronze": {"tierQuotaType": "requestCount", "stopOnQuotaReach": true}},
        "keytype": "SANDBOX",
        "permittedReferer": "",
        "subscribedAPIs": [
            {"subscriberTenantDomain": "carbon.super", "name": "PizzaShackAPI", "context": "/pizzashack/1.0.0",
             "publisher": "admin", "version": "1.0.0", "subscriptionTier": "Bronze"},
            {"name": "Other", "context": "/other/2", "version": "2"}
        ],
        "token_type": "apiKey",
        "permittedIP": "",
        "iat": 1_700_000_000,
        "jti": "b5a0c3f4"
    })
}

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[test]
fn reads_what_api_m_writes() {
    let grant = ApiKeyGrant::from_claims(&claims(&wso2_claims())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(grant.key_type, KeyType::Sandbox);
    assert_eq!((&*grant.application.id, &*grant.application.name), ("4a3c-app", "DefaultApplication"));
    assert_eq!((&*grant.application.owner, &*grant.application.policy), ("admin", "10PerMin"));
    let pizza = api("PizzaShackAPI", "1.0.0", &["/pizzashack/1.0.0"]);
    let subscription = grant.admit(&pizza, LOCAL, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&*subscription.policy, "Bronze");
    let other = grant.admit(&api("Other", "2", &["/elsewhere"]), LOCAL, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&*other.policy, Policy::UNLIMITED, "no subscriptionTier: Unlimited");
    assert_ne!(subscription.id, other.id, "one counter per API");
}

#[test]
fn an_entry_names_the_api_by_name_and_version_or_by_a_base_path() {
    let grant = ApiKeyGrant::from_claims(&claims(&wso2_claims())).unwrap_or_else(|e| panic!("{e}"));
    let not_subscribed = Some(Rejection::NotSubscribed(NotSubscribed::ApiNotInKey));
    let by_context = api("Renamed", "9", &["/elsewhere", "/pizzashack/1.0.0"]);
    assert!(grant.admit(&by_context, LOCAL, None).is_ok(), "the default-version path counts too");
    let next_version = api("PizzaShackAPI", "2.0.0", &["/pizzashack/2.0.0"]);
    assert_eq!(grant.admit(&next_version, LOCAL, None).err(), not_subscribed);
    let other_case = api("pizzashackapi", "1.0.0", &["/p"]);
    assert_eq!(grant.admit(&other_case, LOCAL, None).err(), not_subscribed);
}

#[test]
fn ip_and_referer_restrictions_are_403() {
    let mut restricted = wso2_claims();
    restricted["permittedIP"] = json!("127.0.0.2, 10.0.0.0/8");
    restricted["permittedReferer"] = json!("https://shop.example/*");
    let grant = ApiKeyGrant::from_claims(&claims(&restricted)).unwrap_or_else(|e| panic!("{e}"));
    let pizza = api("PizzaShackAPI", "1.0.0", &["/pizzashack/1.0.0"]);
    let referer = HeaderValue::from_static("https://shop.example/cart");
    let from = |ip: [u8; 4]| IpAddr::V4(Ipv4Addr::from(ip));
    assert!(grant.admit(&pizza, from([127, 0, 0, 2]), Some(&referer)).is_ok());
    assert!(grant.admit(&pizza, from([10, 9, 8, 7]), Some(&referer)).is_ok());
    let ip_refused = grant.admit(&pizza, LOCAL, Some(&referer)).err();
    assert_eq!(ip_refused, Some(Rejection::NotSubscribed(NotSubscribed::IpNotPermitted)));
    let referer_refused = grant.admit(&pizza, from([127, 0, 0, 2]), None).err();
    assert_eq!(referer_refused, Some(Rejection::NotSubscribed(NotSubscribed::RefererNotPermitted)));
}

#[test]
fn claims_of_the_wrong_shape_fail_the_key() {
    let broken: [(&str, Value); 11] = [
        ("subscribedAPIs", json!({"name": "PizzaShackAPI"})),
        ("subscribedAPIs", json!(["PizzaShackAPI"])),
        ("subscribedAPIs", json!([{"name": 7}])),
        ("subscribedAPIs", Value::Null),
        ("application", json!("DefaultApplication")),
        ("application", json!({"name": "no uuid"})),
        ("application", json!({"uuid": ""})),
        ("keytype", json!("production")),
        ("permittedIP", json!("10.0.0.300")),
        ("permittedIP", json!(["127.0.0.1"])),
        ("permittedReferer", json!(7)),
    ];
    for (claim, value) in broken {
        let mut key = wso2_claims();
        key[claim] = value.clone();
        let parsed = ApiKeyGrant::from_claims(&claims(&key));
        assert_eq!(parsed.err(), Some(TokenError::MalformedClaims), "{claim}: {value}");
    }
    for absent in ["subscribedAPIs", "application"] {
        let mut key = wso2_claims();
        key.as_object_mut().map(|claims| claims.remove(absent));
        assert!(ApiKeyGrant::from_claims(&claims(&key)).is_err(), "without {absent}");
    }
    let mut no_key_type = wso2_claims();
    no_key_type.as_object_mut().map(|claims| claims.remove("keytype"));
    let grant = ApiKeyGrant::from_claims(&claims(&no_key_type)).map(|grant| grant.key_type);
    assert_eq!(grant.ok(), Some(KeyType::Production), "keytype defaults to PRODUCTION");
}
