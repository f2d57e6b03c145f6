//! Signature algorithms the gateway accepts, and the token attacks it must refuse with
//! 401 900901 (client.md, "Credentials"; model.md, KeyManager `algorithms`).

use serde_json::{Value, json};
use tollgate_tests::{Issuer, SigningKey, Upstream, now};

use super::catalog::{ApiSpec, Catalog, KeyType};
use super::{assert_rejected, get, get_with, token};
use crate::support::gateway;

/// `pets` with `GET /items`, and application `app` (consumer key `ck-app`) subscribed to it.
fn pets_catalog(issuer: &Issuer, up: &Upstream, key_manager: &str) -> Catalog {
    Catalog::new()
        .key_manager(issuer, key_manager)
        .api(ApiSpec::new("pets", up).get("/items", &[]))
        .application("app", "ck-app", KeyType::Production)
        .subscription("pets", "app", "UNBLOCKED")
}

#[tokio::test]
async fn rs256_ps256_es256_and_eddsa_tokens_are_accepted() {
    let keys = [SigningKey::rsa("rs"), SigningKey::rsa_pss("ps"), SigningKey::ec256("es"), SigningKey::ed25519("ed")];
    let issuer = Issuer::start(keys.to_vec()).await;
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &pets_catalog(&issuer, &up, "").yaml()).start().await;
    let client = gw.client();
    for key in &keys {
        let reply = get(&client, "/pets/1/items", Some(&token(&issuer, key, json!({"azp": "ck-app"})))).await;
        assert_eq!(reply.status, 200, "{:?}: {}", key.alg, reply.text());
        assert_eq!(reply.echo().headers["x-tollgate-application-id"], ["app"], "{:?}", key.alg);
    }
    assert_eq!(issuer.fetches(), 1, "one JWKS fetch serves every key");
}

#[tokio::test]
async fn the_attack_set_is_refused_with_401_900901() {
    let (k1, k2) = (SigningKey::rsa("k1"), SigningKey::ec256("k2"));
    let issuer = Issuer::start(vec![k1.clone(), k2.clone()]).await;
    let up = Upstream::start("up").await;
    let gw = gateway().api_file("a.yaml", &pets_catalog(&issuer, &up, "audiences: [pets]").yaml()).start().await;
    let client = gw.client();
    let claims = |extra: Value| merged(issuer.claims(json!({"azp": "ck-app", "aud": "pets"})), extra);
    let valid = k1.sign(&claims(json!({})));
    let attacks = attack_set(&issuer, &k1, &claims, &valid);
    for (attack, token) in &attacks {
        assert_rejected(&get(&client, "/pets/1/items", Some(token)).await, (401, "900901"), attack);
    }
    let basic = get_with(&client, "/pets/1/items", &[("authorization", &format!("Basic {valid}"))]).await;
    assert_rejected(&basic, (401, "900901"), "a valid token under another scheme");
    let huge =
        get_with(&client, "/pets/1/items", &[("authorization", &format!("Bearer {}", "a".repeat(70_000)))]).await;
    assert_eq!((huge.status.as_u16(), huge.code()), (431, "431".into()), "a credential header over the header limit");
    assert_eq!(up.requests(), 0, "no attack reaches the upstream");

    let within_skew = [("exp 10 s ago", json!({"exp": now() - 10})), ("nbf in 10 s", json!({"nbf": now() + 10}))];
    for (case, extra) in within_skew {
        let reply = get(&client, "/pets/1/items", Some(&k1.sign(&claims(extra)))).await;
        assert_eq!(reply.status, 200, "{case}, within the 30 s skew: {}", reply.text());
    }
    assert_eq!(get(&client, "/pets/1/items", Some(&valid)).await.status, 200, "the genuine token");
    let counted = gw.metric_sum("tollgate_auth_failures_total", &[("api", "pets"), ("code", "900901")]).await;
    assert_eq!(counted, (attacks.len() + 1) as f64, "every refused token is counted");
}

/// Each attack by name, against a gateway that trusts `k1` and `k2` of `issuer` with audience
/// `pets`; `claims` makes genuine claims (plus changes), `valid` is a genuine token.
fn attack_set(
    issuer: &Issuer,
    k1: &SigningKey,
    claims: &dyn Fn(Value) -> Value,
    valid: &str,
) -> Vec<(&'static str, String)> {
    let genuine = claims(json!({}));
    let signature = valid.rsplit('.').next().unwrap_or_default();
    let attacker = SigningKey::rsa("k1");
    let header = |alg: &str| json!({"alg": alg, "typ": "JWT", "kid": "k1"});
    vec![
        ("alg none, no signature", SigningKey::compact(&header("none"), &genuine, "")),
        ("alg none with a genuine signature", SigningKey::compact(&header("none"), &genuine, signature)),
        ("alg None", SigningKey::compact(&header("None"), &genuine, "")),
        ("HS256 keyed with the RSA public key PEM", k1.sign_hs256_with_public_pem(&genuine)),
        ("tampered payload", SigningKey::with_claims(valid, &claims(json!({"sub": "admin"})))),
        ("tampered payload, longer expiry", SigningKey::with_claims(valid, &claims(json!({"exp": now() + 86_400})))),
        ("the attacker's key under a trusted kid", attacker.sign(&genuine)),
        ("the attacker's key embedded in the header", attacker.sign_embedding_jwk("k1", &genuine)),
        ("wrong kid (another published key)", k1.sign_as(Some("k2"), &genuine)),
        ("unknown kid", k1.sign_as(Some("k-unknown"), &genuine)),
        ("no kid while the JWKS has two keys", k1.sign_as(None, &genuine)),
        ("expired an hour ago", k1.sign(&claims(json!({"exp": now() - 3600})))),
        ("expired beyond the 30 s skew", k1.sign(&claims(json!({"exp": now() - 60})))),
        ("not valid for an hour", k1.sign(&claims(json!({"nbf": now() + 3600})))),
        ("wrong audience", k1.sign(&claims(json!({"aud": "other"})))),
        ("wrong audiences (array)", k1.sign(&claims(json!({"aud": ["other", "pets-admin"]})))),
        ("no audience", k1.sign(&without(&genuine, "aud"))),
        ("unknown issuer", k1.sign(&claims(json!({"iss": "http://issuer.invalid"})))),
        ("issuer differing in case", k1.sign(&claims(json!({"iss": issuer.issuer().to_uppercase()})))),
        ("string exp", k1.sign(&claims(json!({"exp": (now() + 3600).to_string()})))),
        ("no exp", k1.sign(&without(&genuine, "exp"))),
        ("string nbf", k1.sign(&claims(json!({"nbf": "0"})))),
        ("a signed token over 16 KiB", k1.sign(&claims(json!({"pad": "p".repeat(17 * 1024)})))),
        ("two parts", valid.rsplit_once('.').map(|(input, _)| input.to_owned()).unwrap_or_default()),
        ("four parts", format!("{valid}.{signature}")),
        ("not base64url", valid.replacen('.', ".+", 1)),
        ("garbage", "not-a-jwt".into()),
    ]
}

fn without(claims: &Value, name: &str) -> Value {
    let mut claims = claims.clone();
    claims.as_object_mut().map(|o| o.remove(name));
    claims
}

/// `claims` with the fields of `extra` added or replaced.
fn merged(mut claims: Value, extra: Value) -> Value {
    if let (Some(object), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        object.extend(extra);
    }
    claims
}
