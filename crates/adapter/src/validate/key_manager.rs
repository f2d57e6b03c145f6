//! `KeyManager` → [`KeyManager`].

use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use http::uri::Scheme;
use jsonwebtoken::DecodingKey;
use serde_json::Value;
use tollgate_enforcer::model::{Algorithm, AlgorithmSet, KeyManager, KeySource};

use super::error::{FieldError, Problem};
use super::text::{bounded, non_empty, required, text_list};
use super::{Entity, UniqueKey, raw_str};
use crate::dto::{KeyManagerDto, Text};
use crate::rejected::EntityKind;

/// Upper bound of `clockSkewSeconds`.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 300;
const DEFAULT_CLOCK_SKEW_SECONDS: u64 = 30;

impl TryFrom<KeyManagerDto<'_>> for KeyManager {
    type Error = FieldError;

    /// Applies the `KeyManager` rules of model.md: exactly one key source, only asymmetric
    /// algorithms (`none` and HMAC are refused with a message saying so), bounded clock skew.
    fn try_from(dto: KeyManagerDto<'_>) -> Result<Self, FieldError> {
        let clock_skew =
            bounded(dto.clock_skew_seconds.unwrap_or(DEFAULT_CLOCK_SKEW_SECONDS), 0, MAX_CLOCK_SKEW_SECONDS);
        Ok(KeyManager {
            name: required(dto.name, "name")?,
            issuer: required(dto.issuer, "issuer")?,
            keys: key_source(dto.jwks_url, dto.certificate)?,
            audiences: text_list(dto.audiences, "audiences")?,
            consumer_key_claim: claim(dto.consumer_key_claim.as_deref(), "azp")
                .map_err(FieldError::at("consumerKeyClaim"))?,
            scopes_claim: claim(dto.scopes_claim.as_deref(), "scope").map_err(FieldError::at("scopesClaim"))?,
            validate_subscription: dto.validate_subscription.unwrap_or(true),
            enabled: dto.enabled.unwrap_or(true),
            algorithms: algorithms(dto.algorithms)?,
            clock_skew: Duration::from_secs(clock_skew.map_err(FieldError::at("clockSkewSeconds"))?),
        })
    }
}

impl Entity for KeyManager {
    const KIND: EntityKind = EntityKind::KeyManager;
    type Dto<'de> = KeyManagerDto<'de>;

    fn from_dto(dto: KeyManagerDto<'_>) -> Result<Self, FieldError> {
        Self::try_from(dto)
    }

    fn key(&self) -> String {
        self.name.to_string()
    }

    fn raw_key(raw: &Value) -> Option<String> {
        raw_str(raw, "name")
    }

    /// Tokens find their key manager by `iss`: an issuer belongs to one key manager.
    fn unique_keys(&self) -> Vec<UniqueKey> {
        vec![UniqueKey::new("issuer", "issuer", format!("{:?}", self.issuer))]
    }

    fn same(&self, other: &Self) -> bool {
        self.name == other.name
            && self.issuer == other.issuer
            && self.keys == other.keys
            && self.audiences == other.audiences
            && self.consumer_key_claim == other.consumer_key_claim
            && self.scopes_claim == other.scopes_claim
            && self.validate_subscription == other.validate_subscription
            && self.enabled == other.enabled
            && self.algorithms == other.algorithms
            && self.clock_skew == other.clock_skew
    }
}

fn key_source(jwks_url: Option<Text<'_>>, certificate: Option<Text<'_>>) -> Result<KeySource, FieldError> {
    match (jwks_url, certificate) {
        (Some(url), None) => {
            check_url(&url).map(|()| KeySource::Jwks { url: Arc::from(&*url) }).map_err(FieldError::at("jwksUrl"))
        }
        (None, Some(pem)) => {
            check_pem(&pem).map(|()| KeySource::Pem { pem: Arc::from(&*pem) }).map_err(FieldError::at("certificate"))
        }
        (Some(_), Some(_)) | (None, None) => Err(FieldError::entity(Problem::KeySource)),
    }
}

fn check_url(url: &str) -> Result<(), Problem> {
    let uri: Uri = url.parse().map_err(|_| Problem::Url)?;
    let http = uri.scheme().is_some_and(|s| *s == Scheme::HTTP || *s == Scheme::HTTPS);
    match http && uri.authority().is_some_and(|a| !a.host().is_empty()) {
        true => Ok(()),
        false => Err(Problem::Url),
    }
}

/// The PEM must hold a public key (SPKI or PKCS#1 RSA) or a certificate that the token
/// verifier can read; a private key is refused outright.
fn check_pem(pem: &str) -> Result<(), Problem> {
    if pem.contains("PRIVATE KEY-----") {
        return Err(Problem::PrivateKey);
    }
    let bytes = pem.as_bytes();
    let readable = DecodingKey::from_rsa_pem(bytes).is_ok()
        || DecodingKey::from_ec_pem(bytes).is_ok()
        || DecodingKey::from_ed_pem(bytes).is_ok();
    match readable {
        true => Ok(()),
        false => Err(Problem::Pem),
    }
}

fn claim(value: Option<&str>, default: &str) -> Result<Arc<str>, Problem> {
    let value = value.unwrap_or(default);
    non_empty(value)?;
    Ok(Arc::from(value))
}

fn algorithms(names: Option<Vec<Text<'_>>>) -> Result<AlgorithmSet, FieldError> {
    let Some(names) = names else { return Ok(AlgorithmSet::all()) };
    if names.is_empty() {
        return Err(FieldError::new("algorithms", Problem::Empty));
    }
    let parse = |(i, name): (usize, &Text<'_>)| {
        algorithm(name).map_err(|problem| FieldError::new(format!("algorithms[{i}]"), problem))
    };
    names.iter().enumerate().map(parse).collect()
}

fn algorithm(name: &str) -> Result<Algorithm, Problem> {
    if name.eq_ignore_ascii_case("none") || name.to_ascii_uppercase().starts_with("HS") {
        return Err(Problem::ForbiddenAlgorithm(name.to_owned()));
    }
    Algorithm::from_name(name).ok_or_else(|| Problem::UnsupportedAlgorithm(name.to_owned()))
}
