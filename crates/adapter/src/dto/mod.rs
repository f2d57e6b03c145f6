//! Wire DTOs of `contract/model.md` and `contract/control-plane.md`.
//!
//! Decoding is two-step: a document is read as far as its arrays of raw values
//! ([`Document`], JSON or YAML), then each entity is decoded on its own
//! (`validate`), so one broken entity is rejected while the others apply. Field names are
//! camelCase and every field is optional at this level: a missing required field is reported by
//! validation, with its name. Keys that no field reads are collected while decoding ([`keys`]):
//! the file source rejects a document holding one, the control-plane source logs it once.

use std::borrow::Cow;

mod api;
mod document;
mod enforcement;
mod event;
mod ignored;
pub mod keys;
mod raw;

pub use api::{ApiDto, ClientCertificateDto, CorsDto, EndpointDto, EndpointsDto, OperationDto, RetriesDto};
pub(crate) use document::decode_json;
pub use document::{DecodeError, Document, MAX_DOCUMENT_BYTES};
pub use enforcement::{
    ApplicationDto, IdDto, KeyManagerDto, KeyMappingDto, LimitDto, PolicyDto, RevokedTokenDto, SubscriptionDto,
};
pub use event::{Event, EventKind, EventPage};
pub(crate) use ignored::decode_seeing_ignored;
pub use raw::RawEntity;
pub(crate) use raw::{LiveRaw, RawSource};

/// A string of a DTO: borrowed from the raw document when it can be, so that decoding an
/// entity copies each string once, into its domain type.
pub type Text<'a> = Cow<'a, str>;
