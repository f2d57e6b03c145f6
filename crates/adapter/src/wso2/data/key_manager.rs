//! Key managers (`/keymanagers`, INTERFACE.md §2.4, §6.2). API-M ≤ 4.2 puts the settings in
//! `configuration`, newer versions in `additionalProperties`: both are read.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;

use super::DataError;
use super::application::owned;
use crate::dto::KeyManagerDto;

/// One `/keymanagers` entry (the response is a bare array of them).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyManager {
    pub name: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub tenant_domain: Option<String>,
    #[serde(default)]
    pub organization: Option<String>,
    #[serde(default)]
    pub configuration: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub additional_properties: Option<BTreeMap<String, Value>>,
}

const RESOURCE: &str = "key manager";

/// A key manager → the model's. It issues tokens Tollgate accepts only when enabled and
/// `self_validate_jwt` (Choreo Connect's rule); `issuer` is required. The JWKS URL is
/// `jwks_endpoint`, or `certificate_value` when `certificate_type` is `JWKS`; with `PEM`,
/// `certificate_value` is base64 of the PEM text (or of DER, wrapped as PEM here).
/// Audiences, algorithms and clock skew have no source and keep the model's defaults;
/// subscriptions are validated, as Choreo Connect does for every key manager.
pub fn key_manager_dto(km: &KeyManager) -> Result<KeyManagerDto<'static>, DataError> {
    let settings = km.settings();
    let text = |key: &str| settings.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let missing = |field| DataError::Missing { resource: RESOURCE, name: km.name.clone(), field };
    let issuer = text("issuer").ok_or_else(|| missing("configuration.issuer"))?;
    let certificate_value = text("certificate_value");
    let (jwks_url, certificate) = match text("certificate_type").map(str::to_ascii_uppercase).as_deref() {
        Some("PEM") => {
            (None, Some(pem(km, certificate_value.ok_or_else(|| missing("configuration.certificate_value"))?)?))
        }
        Some("JWKS") => (text("jwks_endpoint").or(certificate_value).map(owned), None),
        _ => (text("jwks_endpoint").map(owned), None),
    };
    Ok(KeyManagerDto {
        name: Some(owned(&km.name)),
        issuer: Some(owned(issuer)),
        jwks_url,
        certificate,
        consumer_key_claim: text("consumer_key_claim").map(owned),
        scopes_claim: text("scopes_claim").map(owned),
        validate_subscription: Some(true),
        enabled: Some(km.enabled.unwrap_or(true) && flag(settings.get("self_validate_jwt"))),
        ..KeyManagerDto::default()
    })
}

// === impl KeyManager ===

impl KeyManager {
    /// `additionalProperties` (newer) or `configuration` (≤ 4.2).
    fn settings(&self) -> &BTreeMap<String, Value> {
        static EMPTY: BTreeMap<String, Value> = BTreeMap::new();
        self.additional_properties.as_ref().or(self.configuration.as_ref()).unwrap_or(&EMPTY)
    }
}

/// A boolean setting written as a boolean or as `"true"`.
fn flag(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// `certificate_value` of a PEM key manager: base64 of PEM text, or of DER.
fn pem(km: &KeyManager, value: &str) -> Result<crate::dto::Text<'static>, DataError> {
    let unsupported = |feature: &str| DataError::Unsupported {
        resource: RESOURCE,
        name: km.name.clone(),
        feature: feature.to_owned(),
    };
    let bytes = STANDARD.decode(value.trim()).map_err(|_| unsupported("a certificate_value that is not base64"))?;
    match String::from_utf8(bytes.clone()) {
        Ok(text) if text.contains("-----BEGIN") => Ok(owned(&text)),
        _ => Ok(owned(&der_as_pem(&bytes))),
    }
}

fn der_as_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).filter_map(|chunk| std::str::from_utf8(chunk).ok()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}
