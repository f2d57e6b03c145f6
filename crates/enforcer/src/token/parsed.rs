use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::claims::Claims;
use crate::model::Algorithm;
use crate::rejection::TokenError;

/// Tokens longer than this are rejected before any decoding.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A compact JWS split and decoded. **Not a validation**: nothing about the signature, the
/// issuer or the claims' values has been checked; only the shape.
#[derive(Debug)]
pub struct ParsedToken<'t> {
    algorithm: Algorithm,
    kid: Option<Box<str>>,
    claims: Claims,
    signing_input: &'t str,
    signature: &'t str,
}

/// The JOSE header fields Tollgate reads. Embedded keys (`jwk`, `jku`, `x5u`, `x5c`) are
/// ignored on purpose: keys only ever come from the key manager.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Tollgate understands no header extension, so any `crit` list makes the token unusable
    /// (RFC 7515 §4.1.11).
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// Splits and decodes a compact JWS, in the contract's order: size, three base64url parts
/// (no padding), header JSON, `alg` (only the asymmetric algorithms of [`Algorithm`]; `none`
/// and HMAC fail here, before any key is looked up), claims JSON (an object), signature
/// alphabet.
///
/// **Not a validation**: the result says nothing about who signed the token. Never panics.
///
/// Errors: [`TokenError::Malformed`] for the shape, [`TokenError::UnsupportedAlgorithm`]
/// for an `alg` Tollgate never accepts.
pub fn parse_unverified(token: &str) -> Result<ParsedToken<'_>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
    if payload.contains('.') {
        return Err(TokenError::Malformed);
    }
    let header: Header = serde_json::from_slice(&decode_part(header)?).map_err(|_| TokenError::Malformed)?;
    if header.crit.is_some() {
        return Err(TokenError::Malformed);
    }
    let algorithm = Algorithm::from_name(&header.alg).ok_or(TokenError::UnsupportedAlgorithm)?;
    let claims = Claims::from_json(&decode_part(payload)?)?;
    if signature.is_empty() || !signature.bytes().all(is_base64url) {
        return Err(TokenError::Malformed);
    }
    let kid = header.kid.map(String::into_boxed_str);
    Ok(ParsedToken { algorithm, kid, claims, signing_input, signature })
}

// === impl ParsedToken ===

impl<'t> ParsedToken<'t> {
    /// The header's `alg`, one Tollgate may accept.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The header's `kid`, when present.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// `header.payload`, the bytes the signature covers.
    pub(crate) fn signing_input(&self) -> &'t str {
        self.signing_input
    }

    /// The third part, still base64url; also how a token without `jti` is revoked.
    pub(crate) fn signature(&self) -> &'t str {
        self.signature
    }
}

fn decode_part(part: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed)
}

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "tests: a broken fixture must fail loudly")]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn token(header: &str, claims: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(claims))
    }

    #[test]
    fn reads_alg_kid_and_claims() {
        let token = token(r#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#, r#"{"iss":"me"}"#);
        let parsed = parse_unverified(&token).expect("parses");
        assert_eq!(parsed.algorithm(), Algorithm::ES256);
        assert_eq!(parsed.kid(), Some("k1"));
        assert_eq!(parsed.claims().issuer(), Some("me"));
        assert_eq!(parsed.signature(), "c2ln");
    }

    #[test]
    fn none_and_hmac_are_unsupported() {
        for alg in ["none", "HS256", "HS512", "rs256", ""] {
            let token = token(&format!(r#"{{"alg":"{alg}"}}"#), "{}");
            assert_eq!(parse_unverified(&token).err(), Some(TokenError::UnsupportedAlgorithm), "{alg}");
        }
    }

    #[test]
    fn shape_errors_are_malformed() {
        let good_header = b64(r#"{"alg":"RS256"}"#);
        let cases = [
            String::new(),
            "a.b".to_owned(),
            format!("{good_header}.{}.c2ln.x", b64("{}")),
            format!("{good_header}.{}=.c2ln", b64("{}")),
            format!("{good_header}.{}.", b64("{}")),
            format!("{good_header}.{}.c2l+", b64("{}")),
            format!("{good_header}.{}.c2ln", b64("[]")),
            token(r#"{"alg":"RS256","crit":["b64"]}"#, "{}"),
            token(r#"{"alg":"RS256","alg":"RS256"}"#, "{}"),
            token(r#"{"alg":"RS256","kid":7}"#, "{}"),
            token(r#"{"kid":"k"}"#, "{}"),
            "x".repeat(MAX_TOKEN_BYTES + 1),
        ];
        for case in cases {
            assert_eq!(parse_unverified(&case).err(), Some(TokenError::Malformed), "{case:.80}");
        }
    }
}
