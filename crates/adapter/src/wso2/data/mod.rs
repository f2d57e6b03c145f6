//! The JSON of API-M's internal data API (`/internal/data/v1`, INTERFACE.md §2) → the
//! model's entities (§6.2). Each resource has a serde type for WSO2's JSON (keys API-M adds
//! in newer versions are ignored; a missing required key is an error naming it) and a
//! mapping function onto the adapter's DTO, which the engine then validates like any other.

mod application;
mod key_manager;
mod policy;
mod revoked;

use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use application::{Application, KeyMapping, Subscription};
pub use key_manager::{KeyManager, key_manager_dto};
pub use policy::{ApiPolicy, ApplicationPolicy, RequestCount, SubscriptionPolicy, ThrottleLimit};
pub use revoked::{RevokedJwt, RevokedTokens, revoked_tokens};

/// Why a response of the internal data API could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("{resource}: not the expected JSON: {reason}")]
    Json { resource: &'static str, reason: String },
    #[error("{resource} {name:?}: {field} is missing")]
    Missing { resource: &'static str, name: String, field: &'static str },
    #[error("{resource} {name:?}: {feature} is not supported")]
    Unsupported { resource: &'static str, name: String, feature: String },
}

/// `{"count": n, "list": [...]}`, the shape of every list resource but two.
#[derive(Debug, Deserialize)]
struct List<T> {
    list: Vec<T>,
}

/// Decodes a list response (`/applications`, `/subscriptions`, `/application-key-mappings`,
/// `/…-policies`, `/apis`): the entries of its `list`.
pub fn decode_list<T: DeserializeOwned>(resource: &'static str, bytes: &[u8]) -> Result<Vec<T>, DataError> {
    decode::<List<T>>(resource, bytes).map(|list| list.list)
}

/// Decodes a whole response body as `T` (`/keymanagers` is a bare array).
pub fn decode<T: DeserializeOwned>(resource: &'static str, bytes: &[u8]) -> Result<T, DataError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value =
        serde_path_to_error::deserialize(&mut de).map_err(|e| DataError::Json { resource, reason: e.to_string() })?;
    de.end().map_err(|e| DataError::Json { resource, reason: e.to_string() })?;
    Ok(value)
}

/// `/apis` entries: the per-label metadata a source needs beside the artifacts (above all
/// the current `isDefaultVersion`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiMetadata {
    pub uuid: String,
    pub name: String,
    pub version: String,
    /// With the version, e.g. `/myapi/v1`.
    pub context: String,
    #[serde(default)]
    pub is_default_version: bool,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub api_type: Option<String>,
}

#[cfg(test)]
mod tests;
