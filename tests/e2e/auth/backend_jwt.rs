//! client.md, "Backend JWT", operator.md `[backend_jwt]` and `GET /jwks` (GitHub issue 13):
//! the upstream verifies what it received against the gateway's JWKS, as a real upstream
//! would — the claims for a bearer token and for an API key, the client's own copy replaced,
//! RSA and EC keys, the cache (per credential, and per client certificate for a certificate
//! alone), rotation by replacing the key file, and an Api asking for a backend JWT on a gateway
//! that has no key.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use tollgate_tests::backend_jwt::{
    VerifiedBackendJwt, backend_jwks_kids, ec_backend_jwt_pem, rsa_backend_jwt_pem, verify_backend_jwt,
};
use tollgate_tests::{
    ApiManager, Client, GatewayProcess, GatewaySetup, IssuedCert, Issuer, SigningKey, Upstream, eventually, now,
};

use super::catalog::{ApiSpec, Catalog, KeyType};
use super::{get_with, token};
use crate::support::{binary, gateway};

const HEADER: &str = "x-jwt-assertion";
const PIZZA: (&str, &str, &str, &str) = ("pizza", "1", "/pizza/1", "Gold");

/// One issuer, one API-M, and three Apis on `up`: `shop` (bearer tokens, backendJwt, with an
/// unsecured `GET /open`), `plain` (bearer tokens, no backendJwt) and `pizza` (API keys,
/// backendJwt); application `app-1` subscribed to `shop` and `plain` with the `Gold` tier.
struct World {
    issuer: Issuer,
    key: SigningKey,
    apim: ApiManager,
    up: Upstream,
}

impl World {
    async fn start() -> World {
        let key = SigningKey::rsa("k1");
        let issuer = Issuer::start(vec![key.clone()]).await;
        World { issuer, key, apim: ApiManager::new(), up: Upstream::start("up").await }
    }

    fn catalog(&self) -> String {
        Catalog::new()
            .key_manager(&self.issuer, "")
            .api_manager(&self.apim, "apim")
            .api(ApiSpec::new("shop", &self.up).backend_jwt().get("/items", &[]).open_get("/open"))
            .api(ApiSpec::new("plain", &self.up).get("/items", &[]))
            .api(ApiSpec::new("pizza", &self.up).schemes(&["api_key"]).backend_jwt().get("/menu", &[]))
            .application("app-1", "ck-1", KeyType::Production)
            .subscription("shop", "app-1", "UNBLOCKED")
            .subscription("plain", "app-1", "UNBLOCKED")
            .policy("subscription", "Gold", 1000)
            .yaml()
            .replace("status: UNBLOCKED}", "status: UNBLOCKED, policy: Gold}")
    }

    fn bearer(&self, exp: u64) -> String {
        token(&self.issuer, &self.key, json!({"azp": "ck-1", "exp": exp}))
    }
}

/// A gateway serving `world`'s catalog, signing with `pem` (written to a file in its
/// directory, returned), plus `[backend_jwt]` lines `extra`.
async fn start(world: &World, pem: &str, extra: &str) -> (GatewayProcess, PathBuf) {
    let setup = gateway().api_file("a.yaml", &world.catalog());
    let path = write_key(&setup, pem);
    let config = format!("[backend_jwt]\nkey = {path:?}\n{extra}");
    (setup.config(&config).start().await, path)
}

fn write_key(setup: &GatewaySetup, pem: &str) -> PathBuf {
    let path = setup.dir().join("backend-jwt.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

/// Replaces the key file as operators do: a new file renamed over the old one.
fn replace_key(path: &Path, pem: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, pem).unwrap();
    std::fs::rename(&next, path).unwrap();
}

/// GETs `path` with `headers` and returns the backend JWTs the upstream received (every copy).
async fn received(client: &Client, path: &str, headers: &[(&str, &str)]) -> Vec<String> {
    let reply = get_with(client, path, headers).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    reply.echo().headers.get(HEADER).cloned().unwrap_or_default()
}

/// The one backend JWT a request brought the upstream, verified against `GET /jwks`.
async fn verified(gw: &GatewayProcess, path: &str, headers: &[(&str, &str)]) -> VerifiedBackendJwt {
    let jwts = received(&gw.client(), path, headers).await;
    assert_eq!(jwts.len(), 1, "{path}: exactly one backend JWT upstream: {jwts:?}");
    verify_backend_jwt(gw, &jwts[0], "tollgate").await.unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn wso2(claims: &Value, name: &str) -> Value {
    claims[format!("http://wso2.org/claims/{name}")].clone()
}

#[tokio::test]
async fn a_bearer_token_and_an_api_key_reach_the_upstream_with_a_verified_jwt_describing_the_caller() {
    let world = World::start().await;
    let (gw, _) = start(&world, &rsa_backend_jwt_pem(), "").await;
    let token_exp = now() + 600;
    let bearer = format!("Bearer {}", world.bearer(token_exp));
    let over_http2 = get_with(&gw.client().http2(), "/shop/1/items", &[("authorization", &bearer)]).await;
    assert_eq!(over_http2.echo().headers[HEADER].len(), 1, "HTTP/2 clients get one too");
    let jwt = verified(&gw, "/shop/1/items", &[("authorization", &bearer)]).await;
    assert_eq!(jwt.alg, jsonwebtoken::Algorithm::RS256);
    let claims = &jwt.claims;
    assert_eq!((claims["iss"].clone(), claims["sub"].clone()), (json!("tollgate"), json!("user-1")));
    assert_eq!(claims["exp"], token_exp, "the token expires before the default 900 s");
    let expected = [("apiname", "shop"), ("version", "1"), ("apicontext", "/shop/1"), ("applicationid", "app-1")];
    let more = [("applicationname", "app-1"), ("tier", "Gold"), ("keytype", "PRODUCTION"), ("enduser", "user-1")];
    for (name, value) in expected.into_iter().chain(more) {
        assert_eq!(wso2(claims, name), value, "bearer token: {name}");
    }
    assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()));

    let key = world.apim.sign(&world.apim.claims("app-key-1", &[PIZZA]));
    let jwt = verified(&gw, "/pizza/1/menu", &[("apikey", &key)]).await;
    let claims = &jwt.claims;
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["exp"].as_u64(), Some(iat + 900), "a key without exp: the ttl");
    let expected = [("apiname", "pizza"), ("apicontext", "/pizza/1"), ("applicationid", "app-key-1")];
    let more = [
        ("subscriber", "admin"),
        ("applicationtier", "Unlimited"),
        ("tier", "Gold"),
        ("enduser", "admin@carbon.super"),
    ];
    for (name, value) in expected.into_iter().chain(more) {
        assert_eq!(wso2(claims, name), value, "API key: {name}");
    }
}

#[tokio::test]
async fn the_clients_own_copy_is_replaced_or_removed_and_only_backend_jwt_apis_get_one() {
    let world = World::start().await;
    let (gw, _) = start(&world, &ec_backend_jwt_pem(), "").await;
    let client = gw.client();
    let bearer = format!("Bearer {}", world.bearer(now() + 600));
    let forged = world.bearer(now() + 600);
    let twice = [("authorization", bearer.as_str()), (HEADER, forged.as_str()), ("X-JWT-Assertion", "second")];
    let jwt = verified(&gw, "/shop/1/items", &twice).await;
    assert_eq!(wso2(&jwt.claims, "apiname"), "shop", "the gateway's, not the client's");
    let plain = received(&client, "/plain/1/items", &twice).await;
    assert!(plain.is_empty(), "an Api without backendJwt gets none, and never the client's: {plain:?}");
    let open = received(&client, "/shop/1/open", &[(HEADER, &forged)]).await;
    assert!(open.is_empty(), "an unsecured operation has no caller to describe: {open:?}");
}

#[tokio::test]
async fn an_ec_key_signs_es256_with_the_configured_kid_header_and_ttl_and_repeats_are_cached() {
    let world = World::start().await;
    let extra = "kid = \"tollgate-1\"\nheader = \"X-Caller\"\nttl_seconds = 60\nissuer = \"https://gw.example\"";
    let (gw, _) = start(&world, &ec_backend_jwt_pem(), extra).await;
    assert_eq!(backend_jwks_kids(&gw).await, ["tollgate-1"]);
    let bearer = format!("Bearer {}", world.bearer(now() + 600));
    let headers = [("authorization", bearer.as_str())];
    let first = get_with(&gw.client(), "/shop/1/items", &headers).await.echo().headers["x-caller"].clone();
    let jwt = verify_backend_jwt(&gw, &first[0], "https://gw.example").await.unwrap();
    assert_eq!((jwt.kid.as_str(), jwt.alg), ("tollgate-1", jsonwebtoken::Algorithm::ES256));
    let iat = jwt.claims["iat"].as_u64().unwrap();
    assert_eq!(jwt.claims["exp"].as_u64(), Some(iat + 60), "ttl_seconds before the token's exp");
    for _ in 0..3 {
        let again = get_with(&gw.client(), "/shop/1/items", &headers).await.echo().headers["x-caller"].clone();
        assert_eq!(again, first, "the same JWT (jti, iat) until it is due for renewal");
    }
}

#[tokio::test]
async fn a_certificate_alone_gets_one_jwt_per_certificate_reused_across_connections() {
    let up = Upstream::start("up").await;
    let setup = gateway();
    let (partner, other) = (setup.pki().issue_client("partner"), setup.pki().issue_client("other"));
    let vault = ApiSpec::new("vault", &up)
        .schemes(&["mutualssl"])
        .client_certificates(&[("partner-ca", setup.pki().ca_pem(), Some("Gold"))])
        .backend_jwt()
        .get("/gold", &[]);
    let catalog = Catalog::new().api(vault).policy("subscription", "Gold", 1000).yaml();
    let setup = setup.api_file("a.yaml", &catalog);
    let path = write_key(&setup, &ec_backend_jwt_pem());
    let gw = setup.config(&format!("[backend_jwt]\nkey = {path:?}\n")).start().await;
    let jwt_of = async |cert: &IssuedCert| {
        let jwts = received(&gw.client().client_certificate(cert), "/vault/1/gold", &[]).await;
        assert_eq!(jwts.len(), 1, "exactly one backend JWT upstream: {jwts:?}");
        verify_backend_jwt(&gw, &jwts[0], "tollgate").await.unwrap_or_else(|e| panic!("{e}"))
    };
    let first = jwt_of(&partner).await;
    assert_eq!((first.claims["sub"].clone(), wso2(&first.claims, "tier")), (json!("partner-ca"), json!("Gold")));
    let iat = first.claims["iat"].as_u64().unwrap();
    assert_eq!(first.claims["exp"].as_u64(), Some(iat + 900), "the certificate outlives the ttl");
    for _ in 0..2 {
        assert_eq!(jwt_of(&partner).await.claims["jti"], first.claims["jti"], "a new connection, the same certificate");
    }
    assert_ne!(jwt_of(&other).await.claims["jti"], first.claims["jti"], "another certificate gets its own JWT");
}

#[tokio::test]
async fn replacing_the_key_file_rotates_the_key_and_a_broken_replacement_keeps_the_old_one() {
    let world = World::start().await;
    let (gw, path) = start(&world, &rsa_backend_jwt_pem(), "").await;
    let bearer = format!("Bearer {}", world.bearer(now() + 600));
    let headers = [("authorization", bearer.as_str())];
    let old = verified(&gw, "/shop/1/items", &headers).await;
    assert_eq!(backend_jwks_kids(&gw).await, std::slice::from_ref(&old.kid));

    replace_key(&path, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
    let refused = eventually(Duration::from_secs(15), async || gw.logs().all().contains("replacement refused")).await;
    assert!(refused, "the broken replacement is refused with a log line");
    assert_eq!(backend_jwks_kids(&gw).await, std::slice::from_ref(&old.kid), "the old key is still the only one");
    assert_eq!(verified(&gw, "/shop/1/items", &headers).await.kid, old.kid, "and still signs");

    replace_key(&path, &ec_backend_jwt_pem());
    let rotated = eventually(Duration::from_secs(15), async || backend_jwks_kids(&gw).await.len() == 2).await;
    assert!(rotated, "the new key is published within 10 s");
    let kids = backend_jwks_kids(&gw).await;
    assert_eq!(kids[1], old.kid, "the old key stays published while its JWTs may be valid");
    let new = verified(&gw, "/shop/1/items", &headers).await;
    assert_eq!((new.kid.as_str(), new.alg), (kids[0].as_str(), jsonwebtoken::Algorithm::ES256));
    assert_ne!(new.claims["jti"], old.claims["jti"], "a JWT cached under the old key is not served");
}

#[tokio::test]
async fn without_backend_jwt_configured_an_api_asking_for_one_is_refused_with_its_reason() {
    let world = World::start().await;
    let gw = gateway().api_file("a.yaml", &world.catalog()).start().await;
    let shown = gw.admin().get("/config").await.json();
    let rejected = shown["sync"]["rejected"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = rejected.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["shop", "pizza"], "{shown}");
    let reason = rejected[0]["error"].as_str().unwrap_or_default();
    assert!(reason.contains("backendJwt: needs a backend JWT signing key"), "{reason}");
    let bearer = format!("Bearer {}", world.bearer(now() + 600));
    let reply = get_with(&gw.client(), "/shop/1/items", &[("authorization", &bearer)]).await;
    assert_eq!(reply.status, 404, "not served without its JWT");
    assert_eq!(received(&gw.client(), "/plain/1/items", &[("authorization", &bearer)]).await, Vec::<String>::new());
    assert_eq!(gw.admin().get("/jwks").await.status, 404, "no key, no JWKS");
}

#[tokio::test]
async fn check_names_the_refused_api_and_an_unusable_key_is_a_configuration_error() {
    let world = World::start().await;
    let setup = gateway().api_file("a.yaml", &world.catalog());
    let out = Command::new(binary()).args(["check", "--config"]).arg(setup.write_config()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("shop") && stdout.contains("needs a backend JWT signing key"), "{stdout}");

    let setup = gateway().api_file("a.yaml", &world.catalog());
    let path = write_key(&setup, &SigningKey::ec256("k").public_pem());
    let setup = setup.config(&format!("[backend_jwt]\nkey = {path:?}\n"));
    let out = Command::new(binary()).args(["check", "--config"]).arg(setup.write_config()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("backend_jwt.key") && stderr.contains("not a PEM private key"), "{stderr}");
}
