use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;
use serde_json::Value;

use super::verification_key::{KeyError, KeyKind, VerificationKey};
use crate::model::Algorithm;

/// Why a JWKS response cannot be used at all (the previous keys keep serving).
#[derive(Debug, thiserror::Error)]
pub(crate) enum JwksError {
    #[error("not a JWKS document: {0}")]
    NotJwks(#[from] serde_json::Error),
    #[error("the JWKS has no usable key")]
    NoUsableKey,
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<Value>,
}

/// The JWK members Tollgate reads (RFC 7517, RFC 7518 §6, RFC 8037).
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// Base64url as JWKs are found in the wild: padding tolerated.
const JWK_BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parses a JWKS document into ready-to-verify keys. A key Tollgate cannot use (`kty: oct`,
/// an unknown curve, an encryption key, bad encoding) is skipped and logged; the document is
/// refused only when it is not a JWKS or has no usable key at all.
pub(crate) fn parse_jwks(body: &[u8], key_manager: &str) -> Result<Vec<VerificationKey>, JwksError> {
    let document: JwksDocument = serde_json::from_slice(body)?;
    let keys: Vec<VerificationKey> = document.keys.into_iter().filter_map(|jwk| usable_key(jwk, key_manager)).collect();
    match keys.is_empty() {
        true => Err(JwksError::NoUsableKey),
        false => Ok(keys),
    }
}

fn usable_key(jwk: Value, key_manager: &str) -> Option<VerificationKey> {
    let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
    let key = serde_json::from_value::<Jwk>(jwk).map_err(|_| KeyError::BadField("kty")).and_then(verification_key);
    key.inspect_err(|error| tracing::debug!(key_manager, kid, %error, "JWKS: key skipped")).ok()
}

fn verification_key(jwk: Jwk) -> Result<VerificationKey, KeyError> {
    let not_for_verify = jwk.key_ops.as_ref().is_some_and(|ops| !ops.iter().any(|op| op == "verify"));
    if jwk.usage.as_deref().is_some_and(|usage| usage != "sig") || not_for_verify {
        return Err(KeyError::NotForSignatures);
    }
    let alg = match jwk.alg {
        None => None,
        Some(name) => Some(Algorithm::from_name(&name).ok_or(KeyError::UnsupportedAlgorithm(name))?),
    };
    let kid = jwk.kid.map(String::into_boxed_str);
    match jwk.kty.as_str() {
        "RSA" => VerificationKey::rsa(kid, alg, &decode(jwk.n, "n")?, &decode(jwk.e, "e")?),
        "EC" => {
            let kind = curve(jwk.crv, &[("P-256", KeyKind::P256), ("P-384", KeyKind::P384)])?;
            let (x, y) = (decode(jwk.x, "x")?, decode(jwk.y, "y")?);
            if x.len() != y.len() {
                return Err(KeyError::BadEcPoint);
            }
            VerificationKey::ec(kid, alg, kind, &[&[0x04][..], &x, &y].concat())
        }
        "OKP" => {
            curve(jwk.crv, &[("Ed25519", KeyKind::Ed25519)])?;
            VerificationKey::ed25519(kid, alg, &decode(jwk.x, "x")?)
        }
        _ => Err(KeyError::UnsupportedKeyType(jwk.kty)),
    }
}

fn curve(crv: Option<String>, known: &[(&str, KeyKind)]) -> Result<KeyKind, KeyError> {
    let crv = crv.ok_or(KeyError::BadField("crv"))?;
    known.iter().find(|(name, _)| *name == crv).map(|(_, kind)| *kind).ok_or(KeyError::UnsupportedCurve(crv))
}

fn decode(field: Option<String>, name: &'static str) -> Result<Vec<u8>, KeyError> {
    let encoded = field.ok_or(KeyError::BadField(name))?;
    JWK_BASE64.decode(encoded).map_err(|_| KeyError::BadField(name))
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "tests: a broken fixture must fail loudly")]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn ed(kid: &str) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(&[9; 32])})
    }

    #[test]
    fn unusable_keys_are_skipped_not_the_set() {
        let point = b64(&[1; 32]);
        let document = json!({"keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "crv": "P-521", "kid": "p521", "x": point, "y": point},
            {"kty": "EC", "crv": "P-256", "kid": "short", "x": point, "y": b64(&[1; 31])},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "tiny", "n": "AQAB", "e": "AQAB"},
            {"kty": "OKP", "crv": "X25519", "kid": "x", "x": point},
            {"kty": "EC", "crv": "P-256", "kid": "hs", "alg": "HS256", "x": point, "y": point},
            {"kty": "EC", "crv": "P-256", "kid": "mismatch", "alg": "RS256", "x": point, "y": point},
            {"kid": "no-kty"},
            "not an object",
            {"kty": "EC", "crv": "P-256", "kid": "good", "alg": "ES256", "x": point, "y": point},
            ed("ed"),
        ]});
        let keys = parse_jwks(document.to_string().as_bytes(), "km").expect("two usable keys");
        let kids: Vec<_> = keys.iter().filter_map(VerificationKey::kid).collect();
        assert_eq!(kids, ["good", "ed"]);
    }

    #[test]
    fn documents_without_usable_keys_are_refused() {
        assert!(matches!(parse_jwks(b"<html>", "km"), Err(JwksError::NotJwks(_))));
        assert!(matches!(parse_jwks(br#"{"keys": {}}"#, "km"), Err(JwksError::NotJwks(_))));
        let only_hmac = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string();
        assert!(matches!(parse_jwks(only_hmac.as_bytes(), "km"), Err(JwksError::NoUsableKey)));
        let padded = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": format!("{}=", b64(&[9; 32]))}]});
        assert_eq!(parse_jwks(padded.to_string().as_bytes(), "km").map(|k| k.len()).ok(), Some(1));
    }
}
