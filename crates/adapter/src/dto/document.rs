use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::RawEntity;
use super::keys::{KeyPath, Noted};
use crate::rejected::{EntityKind, Rejected};

/// The largest document (file, snapshot body) the adapter reads; larger ones are refused
/// before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// A snapshot or partial snapshot read as far as its arrays: the entities are still raw
/// values, decoded one by one later so that a broken entity does not sink the others.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub revision: Option<u64>,
    pub environment: Option<String>,
    pub apis: Vec<RawEntity>,
    pub applications: Vec<RawEntity>,
    pub key_mappings: Vec<RawEntity>,
    pub subscriptions: Vec<RawEntity>,
    pub policies: Vec<RawEntity>,
    pub key_managers: Vec<RawEntity>,
    pub revoked_tokens: Vec<RawEntity>,
    /// Parts that could not be read at all (the file source: a broken file). They are
    /// reported with the entities' rejections.
    pub errors: Vec<Rejected>,
    /// Top-level keys that are none of the above ([`Document::from_json`] and
    /// [`Document::from_yaml`]; the keys inside entities are found when they are decoded).
    pub unknown_keys: Vec<KeyPath>,
}

/// Why a whole document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{0}")]
    Json(#[from] serde_path_to_error::Error<serde_json::Error>),
    #[error("trailing data: {0}")]
    Trailing(serde_json::Error),
    /// The YAML parser's message, on one line (no source snippet).
    #[error("{0}")]
    Yaml(String),
    #[error("document is {len} bytes; the limit is {max}")]
    TooLarge { len: usize, max: usize },
}

/// A snapshot's arrays as unparsed JSON texts, borrowed from the input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TextDocumentDto<'a> {
    revision: Option<u64>,
    environment: Option<String>,
    #[serde(borrow)]
    apis: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    applications: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    key_mappings: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    subscriptions: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    policies: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    key_managers: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    revoked_tokens: Option<Vec<&'a RawValue>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DocumentDto {
    revision: Option<u64>,
    environment: Option<String>,
    apis: Option<Vec<Value>>,
    applications: Option<Vec<Value>>,
    key_mappings: Option<Vec<Value>>,
    subscriptions: Option<Vec<Value>>,
    policies: Option<Vec<Value>>,
    key_managers: Option<Vec<Value>>,
    revoked_tokens: Option<Vec<Value>>,
}

// === impl Document ===

impl Document {
    /// Reads a JSON snapshot (or partial snapshot). Each array present must be an array;
    /// its elements are checked later, one by one.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        check_size(bytes.len())?;
        let dto: Noted<DocumentDto> = decode_json(bytes)?;
        Ok(Document::from_dto(dto))
    }

    /// Reads a JSON snapshot like [`Document::from_json`], keeping each entity as its JSON
    /// text ([`RawEntity::text`]), parsed only when validated: the control-plane source, whose
    /// snapshots are large and whose last-known-good state is written from the texts. Accepts
    /// the documents `from_json` does; the nesting limit then counts from each entity, and an
    /// entity beyond it is rejected alone.
    pub fn from_json_with_text(bytes: &[u8]) -> Result<Self, DecodeError> {
        check_size(bytes.len())?;
        let dto: TextDocumentDto<'_> = decode_json(bytes)?;
        Ok(Document {
            revision: dto.revision,
            environment: dto.environment,
            apis: with_text(dto.apis),
            applications: with_text(dto.applications),
            key_mappings: with_text(dto.key_mappings),
            subscriptions: with_text(dto.subscriptions),
            policies: with_text(dto.policies),
            key_managers: with_text(dto.key_managers),
            revoked_tokens: with_text(dto.revoked_tokens),
            errors: Vec::new(),
            unknown_keys: Vec::new(),
        })
    }

    /// Reads a YAML partial snapshot, within a budget that refuses alias bombs and
    /// oversized documents. An empty document is an empty snapshot.
    pub fn from_yaml(text: &str) -> Result<Self, DecodeError> {
        check_size(text.len())?;
        let dto: Option<Noted<DocumentDto>> = serde_saphyr::from_str_with_options(text, yaml_options())
            .map_err(|error| DecodeError::Yaml(error.without_snippet().to_string()))?;
        Ok(dto.map(Document::from_dto).unwrap_or_default())
    }

    /// The keys a document may have at its top level.
    pub fn known_keys() -> impl Iterator<Item = &'static str> {
        ["revision", "environment"].into_iter().chain(EntityKind::ENTITIES.map(EntityKind::array_name))
    }

    /// The raw entities of one kind (none for [`EntityKind::Document`]).
    pub fn entities(&self, kind: EntityKind) -> &[RawEntity] {
        slot(kind).map_or(&[][..], |i| self.arrays()[i].as_slice())
    }

    /// The raw entities of one kind, to add to; `None` for [`EntityKind::Document`].
    pub fn entities_mut(&mut self, kind: EntityKind) -> Option<&mut Vec<RawEntity>> {
        let i = slot(kind)?;
        self.arrays_mut().into_iter().nth(i)
    }

    /// Appends `other`'s entities after this document's (file-name order merge).
    pub fn append(&mut self, mut other: Document) {
        for (mine, theirs) in self.arrays_mut().into_iter().zip(other.arrays_mut()) {
            mine.append(theirs);
        }
        self.errors.extend(other.errors);
        self.unknown_keys.extend(other.unknown_keys);
    }

    /// Marks every entity as coming from `origin` (a file name), for error messages.
    pub fn with_origin(mut self, origin: &Arc<str>) -> Self {
        for entities in self.arrays_mut() {
            entities.iter_mut().for_each(|raw| raw.origin = Some(origin.clone()));
        }
        self
    }

    /// The number of raw entities of every kind.
    pub fn len(&self) -> usize {
        self.arrays().iter().map(|entities| entities.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The arrays in [`EntityKind::ENTITIES`] order. The fields stay (the DTO's users name
    /// them); these two are the only places that list them.
    fn arrays(&self) -> [&Vec<RawEntity>; 7] {
        [
            &self.apis,
            &self.applications,
            &self.key_mappings,
            &self.subscriptions,
            &self.policies,
            &self.key_managers,
            &self.revoked_tokens,
        ]
    }

    fn arrays_mut(&mut self) -> [&mut Vec<RawEntity>; 7] {
        [
            &mut self.apis,
            &mut self.applications,
            &mut self.key_mappings,
            &mut self.subscriptions,
            &mut self.policies,
            &mut self.key_managers,
            &mut self.revoked_tokens,
        ]
    }

    fn from_dto(Noted { value: dto, unknown }: Noted<DocumentDto>) -> Self {
        Document {
            revision: dto.revision,
            environment: dto.environment,
            apis: raw(dto.apis),
            applications: raw(dto.applications),
            key_mappings: raw(dto.key_mappings),
            subscriptions: raw(dto.subscriptions),
            policies: raw(dto.policies),
            key_managers: raw(dto.key_managers),
            revoked_tokens: raw(dto.revoked_tokens),
            errors: Vec::new(),
            unknown_keys: unknown,
        }
    }
}

/// The position of an entity kind in [`EntityKind::ENTITIES`].
fn slot(kind: EntityKind) -> Option<usize> {
    EntityKind::ENTITIES.iter().position(|entity| *entity == kind)
}

/// Decodes a whole JSON value, naming the path of the first problem.
pub(crate) fn decode_json<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de)?;
    de.end().map_err(DecodeError::Trailing)?;
    Ok(value)
}

pub(crate) fn check_size(len: usize) -> Result<(), DecodeError> {
    match len > MAX_DOCUMENT_BYTES {
        true => Err(DecodeError::TooLarge { len, max: MAX_DOCUMENT_BYTES }),
        false => Ok(()),
    }
}

fn with_text(texts: Option<Vec<&RawValue>>) -> Vec<RawEntity> {
    texts.unwrap_or_default().into_iter().map(|text| RawEntity::from_text(text.get())).collect()
}

fn raw(values: Option<Vec<Value>>) -> Vec<RawEntity> {
    values.unwrap_or_default().into_iter().map(RawEntity::new).collect()
}

/// YAML limits: large enough for 10k APIs in one file, small enough that an alias bomb or a
/// deeply nested document fails fast. Booleans are YAML 1.2 only (`no` stays a string).
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 8_000_000,
            max_nodes: 4_000_000,
            max_depth: 32,
            max_documents: 1,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_total_scalar_bytes: MAX_DOCUMENT_BYTES,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
        },
        strict_booleans: true,
    }
}
