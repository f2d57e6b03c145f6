//! Key loading, claims, `exp`, rotation and the JWK Set, with principals made by hand, and the
//! cache of a client certificate alone (the cache of a verified credential, which needs one, is
//! tested with the authenticator in `token/tests/backend_jwt.rs`).

#![allow(clippy::expect_used, reason = "tests: a broken fixture must fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::*;
use crate::clock::{ManualClock, SharedClock};
use crate::guard::ApiGuard;
use crate::model::{Application, KeyType, Subscription, SubscriptionStatus};
use crate::principal::Principal;
use crate::schemes::SecuritySchemes;

const NOW: u64 = 1_700_000_000;

fn pem(alg: &'static rcgen::SignatureAlgorithm) -> String {
    rcgen::KeyPair::generate_for(alg).expect("a key pair").serialize_pem()
}

fn signer(pem: &str, clock: &Arc<ManualClock>) -> BackendJwtSigner {
    let settings = BackendJwtSettings {
        issuer: "tollgate".into(),
        header: HeaderName::from_static("x-jwt-assertion"),
        ttl: Duration::from_secs(900),
    };
    let shared: SharedClock = clock.clone();
    BackendJwtSigner::new(settings, SigningKey::from_pem(pem.as_bytes(), None).expect("a signing key"), shared)
}

pub(super) fn api() -> ApiGuard {
    ApiGuard {
        id: "pizza-1".into(),
        name: "pizza".into(),
        version: "1.0.0".into(),
        blocked: false,
        throttling_policy: None,
        schemes: SecuritySchemes::default(),
        base_paths: Box::new(["/pizza/1.0.0".into(), "/pizza".into()]),
        client_certificates: Default::default(),
    }
}

fn principal(application: Option<Application>) -> Principal {
    let subscription = Subscription {
        id: "s".into(),
        api_id: "pizza-1".into(),
        application_id: "app-1".into(),
        policy: "Gold".into(),
        status: SubscriptionStatus::Unblocked,
    };
    Principal {
        subject: "alice".into(),
        key_type: KeyType::Sandbox,
        subscription: application.is_some().then(|| Arc::new(subscription)),
        application: application.map(Arc::new),
        key_manager: "km".into(),
        credential: None,
        certificate: None,
    }
}

fn application() -> Application {
    Application {
        id: "app-1".into(),
        name: "shop".into(),
        owner: "bob".into(),
        policy: "10PerMin".into(),
        attributes: Default::default(),
        id_header: None,
        name_header: None,
    }
}

/// The claims of `jwt`, verified with the signer's JWK Set (as an upstream would).
fn verified(signer: &BackendJwtSigner, jwt: &str) -> Value {
    let header = jsonwebtoken::decode_header(jwt).expect("a JWT header");
    let jwks = signer.jwks();
    let jwk = jwks.find(header.kid.as_deref().unwrap_or_default()).expect("the kid is published");
    let key = DecodingKey::from_jwk(jwk).expect("a decoding key");
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(jwt, &key, &validation).expect("a valid signature").claims
}

#[test]
fn rsa_and_p256_keys_sign_with_rs256_and_es256_and_a_thumbprint_kid() {
    for (alg, expected) in
        [(&rcgen::PKCS_RSA_SHA256, Algorithm::RS256), (&rcgen::PKCS_ECDSA_P256_SHA256, Algorithm::ES256)]
    {
        let key = SigningKey::from_pem(pem(alg).as_bytes(), None).expect("a signing key");
        assert_eq!(key.algorithm(), expected);
        assert_eq!(key.kid().len(), 43, "a base64url SHA-256 thumbprint");
        let jwk = serde_json::to_value(key.public_jwk()).unwrap_or_default();
        assert_eq!((jwk["use"].as_str(), jwk["kid"].as_str()), (Some("sig"), Some(&**key.kid())));
        assert!(jwk.get("d").is_none(), "never the private part");
    }
    let named = SigningKey::from_pem(pem(&rcgen::PKCS_ECDSA_P256_SHA256).as_bytes(), Some("tollgate-1"));
    assert_eq!(named.map(|key| key.kid().to_string()), Ok("tollgate-1".to_owned()));
}

#[test]
fn what_cannot_sign_es256_or_rs256_is_refused() {
    let public = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a key pair").public_key_pem();
    let cases = [
        ("garbage", b"not a key".to_vec(), KeyError::NotASigningKey),
        ("a public key", public.into_bytes(), KeyError::NotASigningKey),
        ("P-384", pem(&rcgen::PKCS_ECDSA_P384_SHA384).into_bytes(), KeyError::NotASigningKey),
        ("Ed25519", pem(&rcgen::PKCS_ED25519).into_bytes(), KeyError::NotASigningKey),
        ("oversize", vec![b'A'; MAX_KEY_PEM_BYTES + 1], KeyError::TooLarge),
    ];
    for (case, pem, error) in cases {
        assert_eq!(SigningKey::from_pem(&pem, None).err(), Some(error), "{case}");
    }
    let pem = pem(&rcgen::PKCS_ECDSA_P256_SHA256);
    assert_eq!(SigningKey::from_pem(pem.as_bytes(), Some("a kid")).err(), Some(KeyError::BadKid));
}

#[test]
fn the_claims_describe_the_caller_the_application_and_the_api() {
    let clock = ManualClock::at(NOW);
    let signer = signer(&pem(&rcgen::PKCS_ECDSA_P256_SHA256), &clock);
    let jwt = signer.assertion(&principal(Some(application())), &api()).expect("a JWT");
    let claims = verified(&signer, jwt.to_str().unwrap_or_default());
    let wso2 = |name: &str| claims[format!("http://wso2.org/claims/{name}")].clone();
    assert_eq!((claims["iss"].clone(), claims["sub"].clone()), ("tollgate".into(), "alice".into()));
    assert_eq!((claims["iat"].as_u64(), claims["exp"].as_u64()), (Some(NOW), Some(NOW + 900)));
    assert_eq!(claims["jti"].as_str().map(str::len), Some(32));
    let expected = [
        ("apiname", "pizza"),
        ("version", "1.0.0"),
        ("apicontext", "/pizza/1.0.0"),
        ("applicationid", "app-1"),
        ("applicationname", "shop"),
        ("applicationtier", "10PerMin"),
        ("subscriber", "bob"),
        ("tier", "Gold"),
        ("keytype", "SANDBOX"),
        ("enduser", "alice"),
    ];
    for (name, value) in expected {
        assert_eq!(wso2(name), value, "{name}");
    }
    let without_application = signer.assertion(&principal(None), &api()).expect("a JWT");
    let claims = verified(&signer, without_application.to_str().unwrap_or_default());
    assert!(claims.get("http://wso2.org/claims/applicationid").is_none());
    assert!(claims.get("http://wso2.org/claims/tier").is_none());
}

#[test]
fn a_rotated_key_signs_and_the_old_one_is_published_until_its_jwts_expire() {
    let clock = ManualClock::at(NOW);
    let signer = signer(&pem(&rcgen::PKCS_RSA_SHA256), &clock);
    let old_kid = signer.current_kid();
    let old_jwt = signer.assertion(&principal(None), &api()).expect("a JWT");
    let replacement = SigningKey::from_pem(pem(&rcgen::PKCS_ECDSA_P256_SHA256).as_bytes(), None).expect("a key");
    let new_kid = replacement.kid().clone();
    assert!(signer.rotate(replacement));
    assert_eq!(signer.current_kid(), new_kid);
    let kids = |signer: &BackendJwtSigner| {
        signer.jwks().keys.iter().filter_map(|k| k.common.key_id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(kids(&signer), [new_kid.to_string(), old_kid.to_string()], "the signing key first");
    assert_eq!(verified(&signer, old_jwt.to_str().unwrap_or_default())["sub"], "alice", "old JWTs still verify");
    let new_jwt = signer.assertion(&principal(None), &api()).expect("a JWT");
    let header = jsonwebtoken::decode_header(new_jwt.to_str().unwrap_or_default()).expect("a header");
    assert_eq!((header.kid.as_deref(), header.alg), (Some(&*new_kid), Algorithm::ES256));
    clock.advance(Duration::from_secs(901));
    assert_eq!(kids(&signer), [new_kid.to_string()], "gone once every JWT it signed has expired");
}

#[test]
fn rotating_to_the_same_key_changes_nothing() {
    let clock = ManualClock::at(NOW);
    let pem = pem(&rcgen::PKCS_ECDSA_P256_SHA256);
    let signer = signer(&pem, &clock);
    assert!(!signer.rotate(SigningKey::from_pem(pem.as_bytes(), None).expect("a key")));
    assert_eq!(signer.jwks().keys.len(), 1);
}

/// A principal admitted by client certificate `fingerprint` alone, valid until `not_after`.
fn certificate_only(fingerprint: u8, not_after: u64) -> Principal {
    let accepted = crate::client_cert::AcceptedCertificate {
        api: "pizza-1".into(),
        alias: "partner".into(),
        policy: "Silver".into(),
        fingerprint: crate::client_cert::Fingerprint([fingerprint; 32]),
        not_after,
    };
    Principal { subject: "partner".into(), key_type: KeyType::Production, ..principal(None) }.with_certificate(accepted)
}

fn jti(signer: &BackendJwtSigner, principal: &Principal) -> Value {
    let jwt = signer.assertion(principal, &api()).expect("a JWT");
    verified(signer, jwt.to_str().unwrap_or_default())["jti"].clone()
}

#[test]
fn a_certificate_alone_is_cached_per_certificate_and_api_until_its_renewal() {
    let clock = ManualClock::at(NOW);
    let signer = signer(&pem(&rcgen::PKCS_ECDSA_P256_SHA256), &clock);
    let first = jti(&signer, &certificate_only(1, u64::MAX));
    assert_eq!(jti(&signer, &certificate_only(1, u64::MAX)), first, "the same certificate: the same JWT");
    assert_ne!(jti(&signer, &certificate_only(2, u64::MAX)), first, "another certificate: its own JWT");
    clock.advance(Duration::from_secs(900 - 30));
    assert_ne!(jti(&signer, &certificate_only(1, u64::MAX)), first, "renewed 30 s before its exp");
}

#[test]
fn a_certificate_alones_jwt_ends_with_the_certificate_and_names_its_policy() {
    let clock = ManualClock::at(NOW);
    let signer = signer(&pem(&rcgen::PKCS_ECDSA_P256_SHA256), &clock);
    let jwt = signer.assertion(&certificate_only(1, NOW + 100), &api()).expect("a JWT");
    let claims = verified(&signer, jwt.to_str().unwrap_or_default());
    assert_eq!(claims["exp"].as_u64(), Some(NOW + 100), "the certificate's notAfter before the ttl");
    assert_eq!(claims["http://wso2.org/claims/tier"], "Silver");
    assert_eq!(
        (claims["sub"].clone(), claims["http://wso2.org/claims/enduser"].clone()),
        ("partner".into(), "partner".into())
    );
    clock.advance(Duration::from_secs(100 - 25));
    let renewed = signer.assertion(&certificate_only(1, NOW + 100), &api()).expect("a JWT");
    assert_ne!(renewed, jwt, "renewed a quarter of its life before the certificate ends");
}
