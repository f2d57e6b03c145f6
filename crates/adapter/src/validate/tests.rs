use std::time::Duration;

use serde_json::{Value, json};
use tollgate_enforcer::model::PolicyKind as Kind;
use tollgate_enforcer::model::{
    Algorithm, Application, KeyManager, KeyMapping, KeySource, Policy, PolicyKind, RevokedId, RevokedToken,
    Subscription, SubscriptionStatus,
};
use tollgate_enforcer::{SecurityScheme, SecuritySchemes};
use tollgate_router::api::{Api, ApiKeyName, Strategy, UpstreamProtocol, Verb};

use super::*;

fn petstore() -> Value {
    json!({
        "id": "petstore-v1", "name": "PetStore", "version": "1.0.0", "context": "/petstore",
        "endpoints": {"production": {"urls": ["http://127.0.0.1:9001/v2"]}},
        "operations": [
            {"target": "/pets", "verb": "GET"},
            {"target": "/pets", "verb": "POST", "scopes": ["pets:write"]},
            {"target": "/pets/{petId}", "verb": "GET"},
            {"target": "/store/*", "verb": "*"}
        ]
    })
}

fn key_manager() -> Value {
    json!({"name": "Resident", "issuer": "https://idp/token", "jwksUrl": "https://idp/jwks"})
}

/// The full message of the rejection of `value` as a `T` named `id`.
fn rejection<T>(id: &str, value: &Value) -> String
where
    T: Entity,
{
    match decode::<T>(value) {
        Ok(_) => panic!("{id} should have been rejected: {value}"),
        Err(error) => EntityError::new(T::KIND, id, error).to_string(),
    }
}

fn api_error(patch: impl FnOnce(&mut Value)) -> String {
    let mut api = petstore();
    patch(&mut api);
    rejection::<Api>("petstore-v1", &api)
}

fn km_error(patch: impl FnOnce(&mut Value)) -> String {
    let mut km = key_manager();
    patch(&mut km);
    rejection::<KeyManager>("Resident", &km)
}

fn valid<T>(value: &Value) -> T
where
    T: Entity,
{
    decode::<T>(value).unwrap_or_else(|e| panic!("{value}: {e}"))
}

#[test]
fn a_valid_api_becomes_the_router_api() {
    let api: Api = valid(&petstore());
    assert_eq!(&**api.id(), "petstore-v1");
    assert_eq!(api.base_paths.iter().map(|p| &**p).collect::<Vec<_>>(), ["/petstore/1.0.0"]);
    assert!(api.vhosts.is_empty());
    assert_eq!(api.auth_header, http::header::AUTHORIZATION);
    assert!(!api.guard.blocked);
    assert_eq!(api.guard.throttling_policy, None);
    let resources: Vec<_> = api.operations.iter().map(|o| o.guard.resource.to_string()).collect();
    assert_eq!(resources, ["GET /pets", "POST /pets", "GET /pets/{petId}", "* /store/*"]);
    assert_eq!(api.operations[3].verb, Verb::Any);
    assert!(api.operations.iter().all(|o| o.guard.secured));
    let production = api.endpoints.production.as_ref().map(|e| (e.strategy, e.settings.timeout, e.settings.protocol));
    assert_eq!(production, Some((Strategy::LoadBalance, Duration::from_secs(30), UpstreamProtocol::Auto)));
    assert!(api.endpoints.sandbox.is_none());
}

#[test]
fn api_options_map_to_the_domain() {
    let mut value = petstore();
    value["isDefaultVersion"] = json!(true);
    value["vhosts"] = json!(["API.example.com"]);
    value["lifecycleState"] = json!("BLOCKED");
    value["authorizationHeader"] = json!("X-Api-Token");
    value["throttlingPolicy"] = json!("10KPerMin");
    value["endpoints"]["production"]["type"] = json!("failover");
    value["endpoints"]["production"]["protocol"] = json!("http2");
    value["endpoints"]["production"]["retries"] = json!({"count": 2, "statusCodes": [502, 503]});
    value["operations"][0]["secured"] = json!(false);
    value["operations"][0]["throttlingPolicy"] = json!("20KPerMin");
    let api: Api = valid(&value);
    assert_eq!(api.base_paths.iter().map(|p| &**p).collect::<Vec<_>>(), ["/petstore/1.0.0", "/petstore"]);
    assert_eq!(&*api.vhosts[0], "api.example.com");
    assert!(api.guard.blocked);
    assert_eq!(api.auth_header.as_str(), "x-api-token");
    assert_eq!(api.guard.throttling_policy.as_deref(), Some("10KPerMin"));
    let endpoint =
        api.endpoints.production.as_ref().map(|e| (e.strategy, e.settings.protocol, e.settings.retries.count));
    assert_eq!(endpoint, Some((Strategy::Failover, UpstreamProtocol::Http2, 2)));
    assert!(!api.operations[0].guard.secured);
    assert_eq!(api.operations[0].guard.throttling_policy.as_deref(), Some("20KPerMin"));
}

#[test]
fn api_required_fields_are_named() {
    for field in ["id", "name", "version", "context", "operations", "endpoints"] {
        let message = api_error(|api| drop(api.as_object_mut().map(|o| o.remove(field))));
        assert_eq!(message, format!("api \"petstore-v1\": {field}: required"));
    }
    assert_eq!(api_error(|api| api["name"] = json!("")), "api \"petstore-v1\": name: must not be empty");
    assert_eq!(api_error(|api| api["operations"] = json!([])), "api \"petstore-v1\": operations: must not be empty");
}

#[test]
fn api_context_and_version_rules() {
    let context = |c: &str| api_error(|api| api["context"] = json!(c));
    assert_eq!(context("petstore"), "api \"petstore-v1\": context: must start with '/'");
    assert_eq!(context("/petstore/"), "api \"petstore-v1\": context: must not end with '/'");
    assert_eq!(
        context("/pets/v{version}"),
        "api \"petstore-v1\": context: '{version}' must be a whole path segment and appear at most once"
    );
    assert_eq!(api_error(|api| api["version"] = json!("1/0")), "api \"petstore-v1\": version: invalid character '/'");
    let mut templated = petstore();
    templated["context"] = json!("/{version}/pets");
    templated["isDefaultVersion"] = json!(true);
    let api: Api = valid(&templated);
    assert_eq!(api.base_paths.iter().map(|p| &**p).collect::<Vec<_>>(), ["/1.0.0/pets", "/pets"]);
}

#[test]
fn security_schemes_and_the_api_key_name() {
    let api: Api = valid(&petstore());
    assert_eq!((api.guard.schemes, api.api_key.clone()), (SecuritySchemes::default(), ApiKeyName::default()));
    assert_eq!(api.guard.base_paths, api.base_paths, "the enforcer matches API keys by base path");
    let mut value = petstore();
    value["securitySchemes"] = json!(["api_key", "oauth_basic_auth_api_key_mandatory"]);
    value["apiKeyHeader"] = json!("X-API-Key");
    let api: Api = valid(&value);
    assert_eq!(api.guard.schemes, SecuritySchemes::API_KEY.with(SecurityScheme::ApplicationMandatory));
    assert_eq!((api.api_key.header.as_str(), &*api.api_key.query), ("x-api-key", "X-API-Key"));
    let both: Api = valid(&{
        let mut value = petstore();
        value["securitySchemes"] = json!(["oauth2", "api_key"]);
        value
    });
    assert_eq!(both.guard.schemes, SecuritySchemes::BEARER_AND_API_KEY);
    assert_eq!(
        api_error(|api| api["securitySchemes"] = json!(["oauth_basic_auth_api_key_mandatory"])),
        "api \"petstore-v1\": securitySchemes: names no credential scheme (oauth2, api_key or mutualssl)"
    );
    assert_eq!(
        api_error(|api| api["apiKeyHeader"] = json!("api key")),
        "api \"petstore-v1\": apiKeyHeader: not a valid HTTP header name"
    );
}

/// A self-signed client certificate's PEM.
fn client_certificate_pem() -> Result<String, rcgen::Error> {
    let key = rcgen::KeyPair::generate()?;
    Ok(rcgen::CertificateParams::new(vec!["client".to_owned()])?.self_signed(&key)?.pem())
}

#[test]
fn mutualssl_needs_client_certificates_that_parse() -> Result<(), rcgen::Error> {
    let pem = client_certificate_pem()?;
    let mut value = petstore();
    value["securitySchemes"] = json!(["oauth2", "mutualssl_mandatory"]);
    value["clientCertificates"] =
        json!([{"alias": "a", "certificate": pem, "policy": "Gold"}, {"alias": "b", "certificate": pem}]);
    let api: Api = valid(&value);
    assert!(api.guard.schemes.mutual_tls && api.guard.schemes.mutual_tls_mandatory);
    let policies: Vec<String> = api.guard.client_certificates.iter().map(|c| c.policy().to_string()).collect();
    assert_eq!(policies, ["Gold", "Unlimited"]);
    let known = |kind: Kind, name: &str| kind == Kind::Subscription && name != "Gold";
    let unknown = api.check_policies(&known).map_err(|e| e.to_string());
    assert_eq!(unknown, Err("clientCertificates[0].policy: unknown subscription policy \"Gold\"".to_owned()));
    let with = |certificates: Value| {
        api_error(|api| {
            api["securitySchemes"] = json!(["mutualssl"]);
            api["clientCertificates"] = certificates;
        })
    };
    let at = |field: &str, problem: &str| format!("api \"petstore-v1\": {field}: {problem}");
    assert_eq!(with(Value::Null), at("clientCertificates", "required"));
    assert_eq!(with(json!([])), at("clientCertificates", "must not be empty"));
    assert_eq!(
        with(json!([{"alias": "a", "certificate": pem}, {"alias": "a", "certificate": pem}])),
        at("clientCertificates[1].alias", "duplicate alias \"a\"")
    );
    assert_eq!(
        with(json!([{"alias": "a", "certificate": "garbage"}])),
        at("clientCertificates[0].certificate", "must be a PEM holding exactly one certificate (found 0)")
    );
    assert_eq!(with(json!([{"certificate": pem}])), at("clientCertificates[0].alias", "required"));
    let mut unused = petstore();
    unused["clientCertificates"] = json!([{"alias": "a", "certificate": "not read without mutualssl"}]);
    assert!(valid::<Api>(&unused).guard.client_certificates.is_empty());
    Ok(())
}

#[test]
fn api_enums_and_headers_are_checked() {
    assert_eq!(
        api_error(|api| api["lifecycleState"] = json!("RETIRED")),
        "api \"petstore-v1\": lifecycleState: unknown value \"RETIRED\"; expected PUBLISHED, PROTOTYPED, DEPRECATED or BLOCKED"
    );
    assert_eq!(
        api_error(|api| api["securitySchemes"] = json!(["oauth2", "basic"])),
        "api \"petstore-v1\": securitySchemes[1]: unknown security scheme \"basic\"; known: oauth2, api_key, \
         mutualssl, mutualssl_mandatory, oauth_basic_auth_api_key_mandatory"
    );
    assert_eq!(
        api_error(|api| api["authorizationHeader"] = json!("bad header")),
        "api \"petstore-v1\": authorizationHeader: not a valid HTTP header name"
    );
    assert_eq!(
        api_error(|api| api["vhosts"] = json!(["ok.example", "bad/host"])),
        "api \"petstore-v1\": vhosts[1]: not a valid host name"
    );
}

#[test]
fn endpoint_rules_name_the_field() {
    let prefix = "api \"petstore-v1\": endpoints";
    assert_eq!(
        api_error(|api| api["endpoints"] = json!({})),
        format!("{prefix}: at least one of production and sandbox is required")
    );
    assert_eq!(
        api_error(|api| api["endpoints"]["production"]["urls"] = json!([])),
        format!("{prefix}.production.urls: must not be empty")
    );
    assert_eq!(
        api_error(|api| api["endpoints"]["sandbox"] = json!({"urls": ["ftp://x/y"]})),
        format!("{prefix}.sandbox.urls[0]: scheme must be http or https")
    );
    assert_eq!(
        api_error(|api| api["endpoints"]["production"]["type"] = json!("random")),
        format!("{prefix}.production.type: unknown value \"random\"; expected load_balance or failover")
    );
    assert_eq!(
        api_error(|api| api["endpoints"]["production"]["timeoutMs"] = json!(0)),
        format!("{prefix}.production.timeoutMs: must be between 1 and 3600000")
    );
    assert_eq!(
        api_error(|api| api["endpoints"]["production"]["connectTimeoutMs"] = json!(3_600_001)),
        format!("{prefix}.production.connectTimeoutMs: must be between 1 and 3600000")
    );
    assert_eq!(
        api_error(|api| api["endpoints"]["production"]["retries"] = json!({"count": 11})),
        format!("{prefix}.production.retries.count: must be between 0 and 10")
    );
    assert_eq!(
        api_error(|api| api["endpoints"]["production"]["retries"] = json!({"count": 1, "statusCodes": [503, 700]})),
        format!("{prefix}.production.retries.statusCodes[1]: not a valid HTTP status code (100-599)")
    );
    assert_eq!(
        api_error(|api| api["endpoints"]["production"]["protocol"] = json!("h3")),
        format!("{prefix}.production.protocol: unknown value \"h3\"; expected http1 or http2")
    );
}

#[test]
fn wrong_types_are_decode_errors_of_the_field() {
    assert_eq!(
        api_error(|api| api["endpoints"]["production"]["timeoutMs"] = json!("10")),
        "api \"petstore-v1\": endpoints.production.timeoutMs: invalid type: string \"10\", expected u64"
    );
    assert_eq!(
        api_error(|api| api["operations"][2]["secured"] = json!("yes")),
        "api \"petstore-v1\": operations[2].secured: invalid type: string \"yes\", expected a boolean"
    );
    let message = rejection::<Api>("apis[0]", &json!("not an object"));
    assert!(message.starts_with("api \"apis[0]\": invalid type: string"), "{message}");
}

#[test]
fn operation_rules_name_the_operation() {
    assert_eq!(
        api_error(|api| api["operations"][3]["target"] = json!("/store/*/x")),
        "api \"petstore-v1\": operations[3].target: '*' is only allowed as the last segment"
    );
    assert_eq!(
        api_error(|api| api["operations"][1]["target"] = json!("pets")),
        "api \"petstore-v1\": operations[1].target: target must start with '/'"
    );
    assert_eq!(
        api_error(|api| api["operations"][0]["verb"] = json!("get")),
        "api \"petstore-v1\": operations[0].verb: unknown value \"get\"; expected GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or *"
    );
    assert_eq!(
        api_error(|api| api["operations"][2]["target"] = json!("/pets/")),
        "api \"petstore-v1\": operations[2]: duplicate operation GET /pets"
    );
    assert_eq!(
        api_error(|api| api["operations"][0]["scopes"] = json!(["a", ""])),
        "api \"petstore-v1\": operations[0].scopes[1]: must not be empty"
    );
}

#[test]
fn cors_is_checked() {
    let mut value = petstore();
    value["cors"] =
        json!({"allowOrigins": ["https://app.example.com"], "allowMethods": ["GET"], "allowCredentials": true});
    let api: Api = valid(&value);
    assert!(api.cors.as_ref().is_some_and(|c| c.allow_credentials && c.allow_origins.len() == 1));
    assert_eq!(
        api_error(|api| api["cors"] = json!({"allowOrigins": ["app.example.com"]})),
        "api \"petstore-v1\": cors.allowOrigins[0]: must be an absolute http:// or https:// URL"
    );
    assert_eq!(
        api_error(|api| api["cors"] = json!({"allowHeaders": ["bad header"]})),
        "api \"petstore-v1\": cors.allowHeaders[0]: not a valid HTTP header name"
    );
    assert_eq!(
        api_error(|api| api["cors"] = json!({"maxAgeSeconds": 100_000})),
        "api \"petstore-v1\": cors.maxAgeSeconds: must be between 0 and 86400"
    );
}

#[test]
fn api_policy_references_are_checked_by_kind() {
    let mut value = petstore();
    value["operations"][2]["throttlingPolicy"] = json!("Gold");
    let api: Api = valid(&value);
    let known = |kind: PolicyKind, name: &str| kind == PolicyKind::Api && name == "10KPerMin";
    let error = api.check_policies(&known).err().map(|e| e.to_string());
    assert_eq!(error.as_deref(), Some("operations[2].throttlingPolicy: unknown api policy \"Gold\""));
}

#[test]
fn key_manager_defaults() {
    let km: KeyManager = valid(&key_manager());
    assert_eq!(km.keys, KeySource::Jwks { url: "https://idp/jwks".into() });
    assert_eq!((&*km.consumer_key_claim, &*km.scopes_claim), ("azp", "scope"));
    assert!(km.validate_subscription && km.enabled);
    assert_eq!(km.algorithms, tollgate_enforcer::model::AlgorithmSet::all());
    assert_eq!(km.clock_skew, Duration::from_secs(30));
    assert!(km.audiences.is_empty());
}

#[test]
fn key_manager_rules() {
    let prefix = "keyManager \"Resident\"";
    assert_eq!(
        km_error(|km| drop(km.as_object_mut().map(|o| o.remove("issuer")))),
        format!("{prefix}: issuer: required")
    );
    assert_eq!(
        km_error(|km| km["certificate"] = json!("x")),
        format!("{prefix}: exactly one of jwksUrl and certificate is required")
    );
    assert_eq!(
        km_error(|km| drop(km.as_object_mut().map(|o| o.remove("jwksUrl")))),
        format!("{prefix}: exactly one of jwksUrl and certificate is required")
    );
    assert_eq!(
        km_error(|km| km["jwksUrl"] = json!("ftp://idp/jwks")),
        format!("{prefix}: jwksUrl: must be an absolute http:// or https:// URL")
    );
    assert_eq!(
        km_error(|km| km["algorithms"] = json!(["RS256", "HS256"])),
        format!(
            "{prefix}: algorithms[1]: \"HS256\" is never accepted: 'none' and HMAC (HS*) algorithms are not allowed"
        )
    );
    assert_eq!(
        km_error(|km| km["algorithms"] = json!(["none"])),
        format!(
            "{prefix}: algorithms[0]: \"none\" is never accepted: 'none' and HMAC (HS*) algorithms are not allowed"
        )
    );
    assert_eq!(
        km_error(|km| km["algorithms"] = json!(["ES512"])),
        format!("{prefix}: algorithms[0]: unsupported algorithm \"ES512\"")
    );
    assert_eq!(km_error(|km| km["algorithms"] = json!([])), format!("{prefix}: algorithms: must not be empty"));
    assert_eq!(
        km_error(|km| km["clockSkewSeconds"] = json!(301)),
        format!("{prefix}: clockSkewSeconds: must be between 0 and 300")
    );
    let km: KeyManager = valid(
        &json!({"name": "k", "issuer": "i", "jwksUrl": "http://j", "algorithms": ["ES256"], "clockSkewSeconds": 0}),
    );
    assert!(km.algorithms.contains(Algorithm::ES256) && !km.algorithms.contains(Algorithm::RS256));
    assert_eq!(km.clock_skew, Duration::ZERO);
}

#[test]
fn key_manager_certificates_must_be_public() {
    let generated = rcgen::generate_simple_self_signed(vec!["idp".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
    let with_pem = |pem: String| json!({"name": "Resident", "issuer": "https://idp/token", "certificate": pem});
    let km: KeyManager = valid(&with_pem(generated.cert.pem()));
    assert!(matches!(km.keys, KeySource::Pem { .. }));
    let _: KeyManager = valid(&with_pem(generated.signing_key.public_key_pem()));
    let private = rejection::<KeyManager>("Resident", &with_pem(generated.signing_key.serialize_pem()));
    assert_eq!(
        private,
        "keyManager \"Resident\": certificate: a private key is not accepted; give the public key or the certificate"
    );
    let garbage = rejection::<KeyManager>(
        "Resident",
        &with_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into()),
    );
    assert_eq!(garbage, "keyManager \"Resident\": certificate: not a PEM public key or certificate");
}

#[test]
fn policy_rules() {
    let gold: Policy = valid(&json!({"kind": "subscription", "name": "Gold",
        "limit": {"requestCount": 5000, "unitTime": 1, "timeUnit": "min"}, "burst": {"requestCount": 100, "timeUnit": "sec"}}));
    assert_eq!(gold.limit.map(|q| (q.count.get(), q.period)), Some((5000, Duration::from_secs(60))));
    assert_eq!(gold.burst.map(|q| (q.count.get(), q.period)), Some((100, Duration::from_secs(1))));
    assert!(gold.stop_on_quota_reach);
    let daily: Policy = valid(
        &json!({"kind": "api", "name": "d", "limit": {"requestCount": 1, "unitTime": 2, "timeUnit": "day"}, "stopOnQuotaReach": false}),
    );
    assert_eq!(daily.limit.map(|q| q.period), Some(Duration::from_secs(2 * 86_400)));
    assert!(!daily.stop_on_quota_reach);
    let policy_error = |value: Value| rejection::<Policy>("api/x", &value);
    assert_eq!(
        policy_error(json!({"kind": "api", "name": "x", "burst": {"requestCount": 1, "timeUnit": "sec"}})),
        "policy \"api/x\": burst: only subscription policies may have a burst"
    );
    assert_eq!(
        policy_error(json!({"kind": "api", "name": "x", "limit": {"requestCount": 0, "timeUnit": "sec"}})),
        "policy \"api/x\": limit.requestCount: must be between 1 and 4294967295"
    );
    assert_eq!(
        policy_error(
            json!({"kind": "api", "name": "x", "limit": {"requestCount": 1, "unitTime": 0, "timeUnit": "sec"}})
        ),
        "policy \"api/x\": limit.unitTime: must be between 1 and 1000000"
    );
    assert_eq!(
        policy_error(json!({"kind": "api", "name": "x", "limit": {"requestCount": 1, "timeUnit": "week"}})),
        "policy \"api/x\": limit.timeUnit: unknown value \"week\"; expected sec, min, hour or day"
    );
    assert_eq!(
        policy_error(json!({"kind": "tenant", "name": "x"})),
        "policy \"api/x\": kind: unknown value \"tenant\"; expected subscription, application or api"
    );
}

#[test]
fn application_and_subscription_defaults_and_references() {
    let app: Application = valid(&json!({"id": "app-1"}));
    assert_eq!((&*app.policy, &*app.name), ("Unlimited", ""));
    let known = |kind: PolicyKind, name: &str| kind == PolicyKind::Application && name == "Unlimited";
    assert!(app.check_policies(&known).is_ok());
    let gold: Application = valid(&json!({"id": "app-1", "policy": "Gold"}));
    let error = gold.check_policies(&known).err().map(|e| e.to_string());
    assert_eq!(error.as_deref(), Some("policy: unknown application policy \"Gold\""));
    assert_eq!(
        rejection::<Application>("app-1", &json!({"id": "app-1", "attributes": {"tier": 3}})),
        "application \"app-1\": attributes.tier: invalid type: integer `3`, expected a string"
    );
    let sub: Subscription = valid(&json!({"id": "s", "apiId": "a", "applicationId": "b", "status": "ON_HOLD"}));
    assert_eq!((sub.status, &*sub.policy), (SubscriptionStatus::OnHold, "Unlimited"));
    assert_eq!(
        rejection::<Subscription>("s", &json!({"id": "s", "apiId": "a", "applicationId": "b", "status": "ACTIVE"})),
        "subscription \"s\": status: unknown value \"ACTIVE\"; expected UNBLOCKED, BLOCKED, PROD_ONLY_BLOCKED, ON_HOLD, REJECTED or TIER_UPDATE_PENDING"
    );
    assert_eq!(
        rejection::<Subscription>("s", &json!({"id": "s", "apiId": "a", "applicationId": "b"})),
        "subscription \"s\": status: required"
    );
}

#[test]
fn key_mapping_and_revoked_token_rules() {
    let mapping = json!({"applicationId": "app", "consumerKey": "ck", "keyType": "SANDBOX", "keyManager": "Resident Key Manager"});
    let parsed: KeyMapping = valid(&mapping);
    assert_eq!(KeyMapping::display_key(&parsed.key()), "Resident Key Manager/ck");
    assert_eq!(KeyMapping::raw_key(&mapping), Some(parsed.key()));
    let mut bad = mapping;
    bad["keyType"] = json!("TEST");
    assert_eq!(
        rejection::<KeyMapping>("Resident Key Manager/ck", &bad),
        "keyMapping \"Resident Key Manager/ck\": keyType: unknown value \"TEST\"; expected PRODUCTION or SANDBOX"
    );
    let jti: RevokedToken = valid(&json!({"jti": "j", "signature": "s", "expiresAt": 5}));
    assert_eq!(jti.id, RevokedId::Jti("j".into()));
    let signature: RevokedToken = valid(&json!({"signature": "s", "expiresAt": 5}));
    assert_eq!(signature.id, RevokedId::Signature("s".into()));
    assert_eq!(
        rejection::<RevokedToken>("#0", &json!({"expiresAt": 5})),
        "revokedToken \"#0\": one of jti and signature is required"
    );
    assert_eq!(rejection::<RevokedToken>("j", &json!({"jti": "j"})), "revokedToken \"j\": expiresAt: required");
}

#[test]
fn control_characters_never_pass() {
    assert_eq!(
        api_error(|api| api["id"] = json!("pet\nstore")),
        "api \"petstore-v1\": id: must not contain control characters"
    );
}

#[test]
fn unknown_keys_are_named_at_any_depth_only_when_there_are_some() {
    let api = json!({
        "id": "pets", "contxt": "/pets",
        "endpoints": {"production": {"urls": ["http://a"], "retries": {"cout": 1}}},
        "operations": [{"target": "/a"}, {"target": "/b", "scope": ["read"]}]
    });
    let expected = ["contxt", "endpoints.production.retries.cout", "operations[1].scope"];
    let (dto, unknown) = decode_dto::<Api>(&api);
    assert!(dto.is_ok());
    assert_eq!(unknown.iter().map(ToString::to_string).collect::<Vec<_>>(), expected);
    let text = api.to_string();
    let (dto, unknown) = decode_dto_text::<Api>(&text);
    assert!(dto.is_some());
    assert_eq!(unknown.iter().map(ToString::to_string).collect::<Vec<_>>(), expected);
    assert!(decode_dto::<Api>(&petstore()).1.is_empty());
    assert!(decode_dto_text::<Api>(&petstore().to_string()).1.is_empty());
    assert!(decode_dto_text::<Api>(r#"{"id": "pets"} {}"#).0.is_none(), "trailing characters");
}
