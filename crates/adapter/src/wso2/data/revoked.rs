//! Revoked tokens (`/revokedjwt`, INTERFACE.md §2.7, §6.2): a bare array up to API-M 4.2,
//! an object of three lists after.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use super::DataError;
use super::application::owned;
use crate::dto::RevokedTokenDto;

/// One revoked token as API-M lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RevokedJwt {
    /// The token's jti, or its signature when it has none (or, from some notifiers, the
    /// whole token).
    pub jwt_signature: String,
    /// Milliseconds (a value below 10^11 is taken as seconds already).
    pub expiry_time: u64,
}

/// The response in either form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
enum Response {
    List(Vec<RevokedJwt>),
    Lists(RevokedLists),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevokedLists {
    #[serde(default, rename = "revokedJWTList")]
    revoked_jwt_list: Vec<RevokedJwt>,
    #[serde(default, rename = "revokedJWTConsumerKeyList")]
    consumer_keys: Vec<Value>,
    #[serde(default, rename = "revokedJWTSubjectEntityList")]
    subject_entities: Vec<Value>,
}

/// The revoked tokens, and how many revocations by consumer key or by subject were listed
/// (no equivalent yet: the caller logs them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedTokens {
    pub tokens: Vec<RevokedJwt>,
    pub unsupported: usize,
}

/// Timestamps at or above this are milliseconds (10^11 s is the year 5138).
const MILLISECONDS_FROM: u64 = 100_000_000_000;
/// A value this long in the base64url alphabet is a signature (ES256's is 86 characters);
/// API-M's jtis are UUIDs.
const SIGNATURE_MIN_LEN: usize = 80;

/// Decodes `/revokedjwt` in either form.
pub fn revoked_tokens(bytes: &[u8]) -> Result<RevokedTokens, DataError> {
    match super::decode::<Response>("revoked tokens", bytes)? {
        Response::List(tokens) => Ok(RevokedTokens { tokens, unsupported: 0 }),
        Response::Lists(lists) => Ok(RevokedTokens {
            tokens: lists.revoked_jwt_list,
            unsupported: lists.consumer_keys.len() + lists.subject_entities.len(),
        }),
    }
}

// === impl RevokedJwt ===

impl RevokedJwt {
    /// The model's entry: a whole JWT gives its jti (else its signature); a long base64url
    /// value is a signature; anything else a jti. `expiresAt` in seconds.
    pub fn to_dto(&self) -> RevokedTokenDto<'static> {
        let value = self.jwt_signature.trim();
        let (jti, signature) = match value.split('.').collect::<Vec<_>>().as_slice() {
            [_, payload, signature] => match jwt_id(payload) {
                Some(jti) => (Some(jti), None),
                None => (None, Some((*signature).to_owned())),
            },
            _ if is_signature(value) => (None, Some(value.to_owned())),
            _ => (Some(value.to_owned()), None),
        };
        RevokedTokenDto {
            jti: jti.as_deref().map(owned),
            signature: signature.as_deref().map(owned),
            expires_at: Some(seconds(self.expiry_time)),
        }
    }
}

/// Milliseconds (or seconds already) → seconds.
pub(crate) fn seconds(time: u64) -> u64 {
    match time >= MILLISECONDS_FROM {
        true => time / 1000,
        false => time,
    }
}

fn jwt_id(payload: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("jti")?.as_str().map(str::to_owned)
}

fn is_signature(value: &str) -> bool {
    value.len() >= SIGNATURE_MIN_LEN && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
