//! Validation: wire DTOs → the domain types of the router and the enforcer.
//!
//! Each entity converts with `TryFrom<Dto>`; the error is a [`FieldError`] naming the field
//! (`operations[3].target`) and the rule, which the catalog wraps into an [`EntityError`]
//! naming the entity (`api "petstore-v1": operations[3].target: ...`). Rules that need other
//! entities (unique names, policy references) are expressed here ([`Entity::unique_keys`],
//! [`Entity::check_policies`]) and enforced by the catalog.

mod api;
mod client_certificates;
mod endpoint;
mod error;
mod key_manager;
mod location;
mod policy;
mod settings;
mod subscription;
mod text;
mod unknown;

use serde::Deserialize;
use serde_json::Value;
use tollgate_enforcer::model::PolicyKind;

use crate::dto::decode_seeing_ignored;
use crate::dto::keys::{KeyPath, decode_noting_unknown};
use crate::rejected::EntityKind;

pub use endpoint::{MAX_CORS_MAX_AGE, MAX_RETRIES, MAX_TIMEOUT_MS};
pub use error::{EntityError, FieldError, Problem};
pub use key_manager::MAX_CLOCK_SKEW_SECONDS;
pub use policy::MAX_UNIT_TIME;
pub use settings::ValidationSettings;

pub(crate) use policy::{policy_key, policy_kind};
pub(crate) use unknown::document_errors as unknown_keys;

/// A validated entity of one kind, as the catalog stores it.
pub(crate) trait Entity: Sized + Send + Sync + 'static {
    const KIND: EntityKind;
    /// The wire type, borrowing strings from the raw value.
    type Dto<'de>: Deserialize<'de>;

    /// The `TryFrom` conversion: every rule that needs only the entity itself.
    fn from_dto(dto: Self::Dto<'_>) -> Result<Self, FieldError>;

    /// The identity within the kind: an upsert with the same key replaces.
    fn key(&self) -> String;

    /// The key a raw (maybe undecodable) value claims, to name it and to find the version
    /// it would have replaced.
    fn raw_key(raw: &Value) -> Option<String>;

    /// How a key reads in messages and rejections.
    fn display_key(key: &str) -> String {
        key.to_owned()
    }

    /// Values that must be unique among the entities of this kind besides the key.
    fn unique_keys(&self) -> Vec<UniqueKey> {
        Vec::new()
    }

    /// Checks the rules that depend on the gateway's configuration.
    fn check_settings(&self, _settings: &ValidationSettings) -> Result<(), FieldError> {
        Ok(())
    }

    /// Checks every policy reference; `known(kind, name)` says whether the policy exists.
    fn check_policies(&self, _known: &dyn Fn(PolicyKind, &str) -> bool) -> Result<(), FieldError> {
        Ok(())
    }

    /// Whether `other` would behave identically (lets an unchanged entity keep its `Arc`).
    fn same(&self, other: &Self) -> bool;
}

/// One value that must be unique within a kind, and the field reported when it is not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct UniqueKey {
    pub(crate) field: &'static str,
    pub(crate) what: &'static str,
    pub(crate) value: String,
    /// An event that upserts another entity with this value takes it over (the holder is
    /// removed) instead of being rejected. Within one document a duplicate is rejected.
    pub(crate) taken_over_by_events: bool,
}

// === impl UniqueKey ===

impl UniqueKey {
    pub(crate) fn new(field: &'static str, what: &'static str, value: String) -> Self {
        UniqueKey { field, what, value, taken_over_by_events: false }
    }

    /// See [`UniqueKey::taken_over_by_events`].
    pub(crate) fn taken_over_by_events(mut self) -> Self {
        self.taken_over_by_events = true;
        self
    }
}

/// Decodes and validates one raw entity. Type errors name the path of the offending value.
/// Keys the wire type does not have are ignored, and logged once (the file source rejected
/// its documents holding one before they got here).
pub(crate) fn decode<T: Entity>(raw: &Value) -> Result<T, FieldError> {
    // The fast path decodes without tracking the path; only a failure is decoded again to
    // name the field.
    let (dto, unknown) = decode_dto::<T>(raw);
    unknown::log_once::<T>(&unknown);
    match dto {
        Ok(dto) => T::from_dto(dto),
        Err(_) => Err(decode_error::<T::Dto<'_>>(raw)),
    }
}

/// Decodes and validates one entity straight from its JSON text, without a tree of values
/// (the bulk of a large snapshot), ignoring and logging unknown keys like [`decode`]. `None`
/// when the text does not decode into the wire type: the caller then goes through
/// [`decode`] on the value, whose error names the field.
pub(crate) fn decode_text<T: Entity>(text: &str) -> Option<Result<T, FieldError>> {
    let (dto, unknown) = decode_dto_text::<T>(text);
    unknown::log_once::<T>(&unknown);
    dto.map(T::from_dto)
}

/// The wire type decoded from `raw`, and the keys it does not have. They are seen by a flag
/// and named by decoding again only for an entity that has one: naming them on the way
/// costs a `String` per key of every entity.
fn decode_dto<T: Entity>(raw: &Value) -> (Result<T::Dto<'_>, serde_json::Error>, Vec<KeyPath>) {
    let (dto, any_unknown) = decode_seeing_ignored::<T::Dto<'_>, _>(raw);
    let unknown = match any_unknown {
        true => decode_noting_unknown::<T::Dto<'_>, _>(raw).1,
        false => Vec::new(),
    };
    (dto, unknown)
}

/// [`decode_dto`] from JSON text; `None` when the text is not one wire value.
fn decode_dto_text<T: Entity>(text: &str) -> (Option<T::Dto<'_>>, Vec<KeyPath>) {
    let mut json = serde_json::Deserializer::from_str(text);
    let (dto, any_unknown) = decode_seeing_ignored::<T::Dto<'_>, _>(&mut json);
    let unknown = match any_unknown {
        true => decode_noting_unknown::<T::Dto<'_>, _>(&mut serde_json::Deserializer::from_str(text)).1,
        false => Vec::new(),
    };
    (json.end().ok().and(dto.ok()), unknown)
}

fn decode_error<'de, D: Deserialize<'de>>(raw: &'de Value) -> FieldError {
    match serde_path_to_error::deserialize::<_, D>(raw) {
        Ok(_) => FieldError::entity(Problem::Decode("cannot be decoded".to_owned())),
        Err(error) => {
            let path = error.path().to_string();
            let field = if path == "." { String::new() } else { path };
            FieldError::new(field, Problem::Decode(error.into_inner().to_string()))
        }
    }
}

/// A string field of a raw value, if it is one and carries no control characters.
pub(crate) fn raw_str(raw: &Value, field: &str) -> Option<String> {
    let value = raw.get(field)?.as_str()?;
    text::non_empty(value).ok().map(|()| value.to_owned())
}

#[cfg(test)]
mod tests;
