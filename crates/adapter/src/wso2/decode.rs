//! JSON and YAML text of WSO2 files, decoded into typed values with errors naming the file.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::archive::ArchiveError;

/// The nesting and size budget of a WSO2 YAML file: an alias bomb or a deeply nested
/// document fails fast. Booleans are YAML 1.2 only (`no` stays a string).
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 2_000_000,
            max_nodes: 1_000_000,
            max_depth: 64,
            max_documents: 1,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_total_scalar_bytes: 16 * 1024 * 1024,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
        },
        strict_booleans: true,
    }
}

/// Decodes a WSO2 file by its content: JSON when its first non-blank byte is `{` or `[`,
/// YAML otherwise (apictl writes either; YAML 1.2 is a superset of JSON in practice, but the
/// JSON parser gives the better errors).
pub(crate) fn decode_file<T: DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<T, ArchiveError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ArchiveError::TextNotUtf8 { name: name.to_owned() })?;
    match text.trim_start().starts_with(['{', '[']) {
        true => decode_json(name, text),
        false => decode_yaml(name, text),
    }
}

fn decode_json<T: DeserializeOwned>(name: &str, text: &str) -> Result<T, ArchiveError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| ArchiveError::Json { name: name.to_owned(), reason: e.to_string() })?;
    de.end().map_err(|e| ArchiveError::Json { name: name.to_owned(), reason: e.to_string() })?;
    Ok(value)
}

fn decode_yaml<T: DeserializeOwned>(name: &str, text: &str) -> Result<T, ArchiveError> {
    let value: Option<T> = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| ArchiveError::Yaml { name: name.to_owned(), reason: e.without_snippet().to_string() })?;
    value.ok_or_else(|| ArchiveError::Yaml { name: name.to_owned(), reason: "the document is empty".to_owned() })
}

/// A scalar that YAML may have read as a number (`version: 1.0`), as its text; required.
pub(crate) fn scalar_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    optional_scalar_text(deserializer)?.ok_or_else(|| D::Error::custom("expected a string, found null"))
}

/// [`scalar_text`] for an optional field (null is none).
pub(crate) fn optional_scalar_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        Value::Number(number) => Ok(Some(number.to_string())),
        other @ (Value::Bool(_) | Value::Array(_) | Value::Object(_)) => {
            Err(D::Error::custom(format!("expected a string, found {other}")))
        }
    }
}
