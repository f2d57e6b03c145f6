use serde_json::json;

use super::*;

fn bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|e| panic!("{e}"))
}

fn text<'a>(value: &'a Option<crate::dto::Text<'_>>) -> Option<&'a str> {
    value.as_deref()
}

#[test]
fn applications_map_uuid_owner_policy_and_attributes_and_tolerate_newer_fields() {
    let body = json!({"count": 1, "list": [{
        "uuid": "app-uuid", "id": 7, "name": "Shop", "subName": "alice", "policy": "20PerMin", "tokenType": "JWT",
        "groupIds": [], "attributes": {"tier": "gold"}, "organization": "carbon.super", "aFieldFrom2030": true
    }]});
    let apps: Vec<Application> = decode_list("applications", &bytes(&body)).unwrap_or_else(|e| panic!("{e}"));
    let dto = apps[0].to_dto();
    assert_eq!(
        (text(&dto.id), text(&dto.name), text(&dto.owner), text(&dto.policy)),
        (Some("app-uuid"), Some("Shop"), Some("alice"), Some("20PerMin"))
    );
    assert_eq!(dto.attributes.map(|a| a.len()), Some(1));
}

#[test]
fn a_missing_required_field_is_an_error_naming_it() {
    let body = json!({"count": 1, "list": [{"id": 7, "name": "Shop"}]});
    let error = decode_list::<Application>("applications", &bytes(&body)).err().map(|e| e.to_string());
    assert!(error.as_deref().is_some_and(|e| e.contains("uuid")), "{error:?}");
}

#[test]
fn key_mappings_and_subscriptions_map_onto_uuids() {
    let mapping: KeyMapping = serde_json::from_value(json!({
        "applicationId": 7, "applicationUUID": "app-uuid", "consumerKey": "ck", "keyType": "PRODUCTION",
        "keyManager": "Resident Key Manager"
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let dto = mapping.to_dto();
    assert_eq!((text(&dto.application_id), text(&dto.key_manager)), (Some("app-uuid"), Some("Resident Key Manager")));
    let subscription: Subscription = serde_json::from_value(json!({
        "subscriptionUUID": "sub-uuid", "subscriptionId": 3, "policyId": "Gold", "apiUUID": "api-uuid", "apiId": 2,
        "applicationUUID": "app-uuid", "appId": 7, "subscriptionState": "PROD_ONLY_BLOCKED", "apiName": "newer"
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let dto = subscription.to_dto();
    assert_eq!(
        (text(&dto.id), text(&dto.api_id), text(&dto.application_id), text(&dto.policy), text(&dto.status)),
        (Some("sub-uuid"), Some("api-uuid"), Some("app-uuid"), Some("Gold"), Some("PROD_ONLY_BLOCKED"))
    );
}

#[test]
fn a_subscription_policy_maps_its_request_count_burst_and_quota_behaviour() {
    let policy: SubscriptionPolicy = serde_json::from_value(json!({
        "id": 1, "tenantId": -1234, "tenantDomain": "carbon.super", "name": "Gold", "quotaType": "requestCount",
        "graphQLMaxComplexity": 0, "graphQLMaxDepth": 0, "rateLimitCount": 10, "rateLimitTimeUnit": "sec",
        "stopOnQuotaReach": false,
        "defaultLimit": {"quotaType": "requestCount", "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 5000}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let dto = policy.to_dto().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (text(&dto.kind), text(&dto.name), dto.stop_on_quota_reach),
        (Some("subscription"), Some("Gold"), Some(false))
    );
    let limit = dto.limit.unwrap_or_default();
    assert_eq!((limit.request_count, limit.unit_time, text(&limit.time_unit)), (Some(5000), Some(1), Some("min")));
    let burst = dto.burst.unwrap_or_default();
    assert_eq!((burst.request_count, text(&burst.time_unit)), (Some(10), Some("sec")));
}

#[test]
fn a_policy_without_burst_has_none_and_other_quota_types_are_unsupported() {
    let no_burst: SubscriptionPolicy = serde_json::from_value(json!({
        "name": "Bronze", "rateLimitCount": 0, "rateLimitTimeUnit": "",
        "defaultLimit": {"quotaType": "requestCount", "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 1000}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(no_burst.to_dto().is_ok_and(|dto| dto.burst.is_none()));
    let bandwidth: ApiPolicy = serde_json::from_value(json!({
        "name": "3KbPerMin", "defaultLimit": {"quotaType": "bandwidthVolume",
        "bandwidth": {"timeUnit": "min", "unitTime": 1, "dataAmount": 3, "dataUnit": "KB"}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let error = bandwidth.to_dto().err();
    assert_eq!(
        error,
        Some(DataError::Unsupported {
            resource: "api policy",
            name: "3KbPerMin".into(),
            feature: "quota type bandwidthVolume".into()
        })
    );
}

#[test]
fn application_and_api_policies_map_their_default_limit_and_ignore_burst_and_conditions() {
    let app: ApplicationPolicy = serde_json::from_value(json!({
        "id": 2, "name": "10PerMin", "quotaType": "requestCount", "burstLimit": {"rateLimitCount": 2, "rateLimitTimeUnit": "sec"},
        "defaultLimit": {"quotaType": "requestCount", "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 10}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let dto = app.to_dto().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((text(&dto.kind), dto.burst.is_none()), (Some("application"), true));
    let api: ApiPolicy = serde_json::from_value(json!({
        "name": "10KPerMin", "applicableLevel": "apiLevel", "conditionGroups": [{"policyId": 1, "condition": []}],
        "defaultLimit": {"quotaType": "requestCount", "requestCount": {"timeUnit": "min", "unitTime": 1, "requestCount": 10000}}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let dto = api.to_dto().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((text(&dto.kind), dto.limit.and_then(|l| l.request_count)), (Some("api"), Some(10_000)));
}

#[test]
fn key_managers_read_configuration_up_to_4_2_and_additional_properties_after() {
    let old = json!([{"name": "Resident Key Manager", "type": "default", "enabled": true, "tenantDomain": "carbon.super",
        "tokenType": "DIRECT", "configuration": {"issuer": "https://apim/oauth2/token", "self_validate_jwt": true,
        "certificate_type": "JWKS", "certificate_value": "https://apim/oauth2/jwks", "consumer_key_claim": "azp"}}]);
    let newer = json!([{"uuid": "km-uuid", "name": "Keycloak", "type": "KeyCloak", "enabled": true, "organization": "carbon.super",
        "tokenType": "DIRECT", "additionalProperties": {"issuer": "https://kc/realms/a", "self_validate_jwt": "true",
        "jwks_endpoint": "https://kc/certs", "scopes_claim": "scp"}}]);
    let old: Vec<KeyManager> = decode("key managers", &bytes(&old)).unwrap_or_else(|e| panic!("{e}"));
    let newer: Vec<KeyManager> = decode("key managers", &bytes(&newer)).unwrap_or_else(|e| panic!("{e}"));
    let old = key_manager_dto(&old[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (text(&old.issuer), text(&old.jwks_url), old.enabled),
        (Some("https://apim/oauth2/token"), Some("https://apim/oauth2/jwks"), Some(true))
    );
    assert_eq!(text(&old.consumer_key_claim), Some("azp"));
    let newer = key_manager_dto(&newer[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (text(&newer.issuer), text(&newer.jwks_url), text(&newer.scopes_claim)),
        (Some("https://kc/realms/a"), Some("https://kc/certs"), Some("scp"))
    );
    assert_eq!((newer.enabled, newer.validate_subscription), (Some(true), Some(true)));
}

#[test]
fn a_key_manager_that_does_not_self_validate_is_disabled_and_one_without_issuer_is_an_error() {
    let km = |settings: serde_json::Value| -> KeyManager {
        serde_json::from_value(json!({"name": "KM", "enabled": true, "configuration": settings}))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let opaque = key_manager_dto(&km(json!({"issuer": "https://i", "self_validate_jwt": false}))).ok();
    assert_eq!(opaque.and_then(|dto| dto.enabled), Some(false));
    let no_issuer = key_manager_dto(&km(json!({"self_validate_jwt": true}))).err();
    assert_eq!(
        no_issuer,
        Some(DataError::Missing { resource: "key manager", name: "KM".into(), field: "configuration.issuer" })
    );
}

#[test]
fn a_pem_key_manager_certificate_is_base64_of_pem_or_of_der() {
    use base64::Engine;
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let encoded = base64::engine::general_purpose::STANDARD.encode(pem);
    let km: KeyManager = serde_json::from_value(json!({"name": "KM", "configuration": {"issuer": "https://i",
        "self_validate_jwt": true, "certificate_type": "PEM", "certificate_value": encoded}}))
    .unwrap_or_else(|e| panic!("{e}"));
    let dto = key_manager_dto(&km).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((text(&dto.certificate), dto.jwks_url.is_none()), (Some(pem), true));
    let der: KeyManager = serde_json::from_value(json!({"name": "KM", "configuration": {"issuer": "https://i",
        "certificate_type": "PEM", "certificate_value": "AAEC"}}))
    .unwrap_or_else(|e| panic!("{e}"));
    let dto = key_manager_dto(&der).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text(&dto.certificate), Some("-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n"));
}

#[test]
fn revoked_tokens_come_as_an_array_up_to_4_2_and_as_lists_after() {
    let old = json!([{"jwt_signature": "fc8ee897-b3d9-3bb6-a9ca-f4aeb036e5c0", "expiry_time": 1_628_175_421_481_u64}]);
    let newer = json!({"revokedJWTList": [{"jwt_signature": "b3d9", "expiry_time": 1_628_175_421_u64}],
        "revokedJWTConsumerKeyList": [{"consumer_key": "ck", "revocation_time": 1, "type": "x", "organization": "o"}],
        "revokedJWTSubjectEntityList": []});
    let old = revoked_tokens(&bytes(&old)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(old.unsupported, 0);
    let dto = old.tokens[0].to_dto();
    assert_eq!((text(&dto.jti), dto.expires_at), (Some("fc8ee897-b3d9-3bb6-a9ca-f4aeb036e5c0"), Some(1_628_175_421)));
    let newer = revoked_tokens(&bytes(&newer)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((newer.tokens.len(), newer.unsupported), (1, 1));
    assert_eq!(newer.tokens[0].to_dto().expires_at, Some(1_628_175_421), "seconds stay seconds");
}

#[test]
fn a_revoked_whole_jwt_gives_its_jti_else_its_signature_and_a_long_base64url_value_is_a_signature() {
    use base64::Engine;
    let encode = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let with_jti = format!("{}.{}.sig", encode(json!({"alg": "RS256"})), encode(json!({"jti": "the-jti"})));
    let without = format!("{}.{}.the-signature", encode(json!({"alg": "RS256"})), encode(json!({"sub": "a"})));
    let revoked = |value: &str| RevokedJwt { jwt_signature: value.to_owned(), expiry_time: 1 }.to_dto();
    assert_eq!(text(&revoked(&with_jti).jti), Some("the-jti"));
    assert_eq!(text(&revoked(&without).signature), Some("the-signature"));
    let signature = "a".repeat(86);
    assert_eq!(text(&revoked(&signature).signature), Some(signature.as_str()));
}

#[test]
fn apis_metadata_reads_the_current_default_version() {
    let body = json!({"count": 1, "list": [{"uuid": "u", "apiId": 2, "provider": "admin", "name": "A", "version": "v1",
        "context": "/a/v1", "policy": "", "apiType": "HTTP", "status": "PUBLISHED", "isDefaultVersion": true,
        "urlMappings": [], "organization": "carbon.super"}]});
    let apis: Vec<ApiMetadata> = decode_list("apis", &bytes(&body)).unwrap_or_else(|e| panic!("{e}"));
    assert!(apis[0].is_default_version);
}
