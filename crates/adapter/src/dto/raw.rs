//! One entity of a document, not yet decoded: a JSON value, or JSON text kept as received.

use std::borrow::Cow;
use std::sync::{Arc, Weak};

use serde_json::Value;

/// One entity as written, with where it came from (a file name) when that is useful.
///
/// It holds either a parsed value (YAML files, JSON files, tests) or the JSON text exactly as
/// received ([`Document::from_json_with_text`](super::Document::from_json_with_text), the
/// control-plane source). A text is parsed only when the entity is validated, one at a time
/// and on the validating threads, so a 10k-API snapshot never exists as one tree of values
/// (that tree was several times the size of the snapshot it was parsed from); the text is
/// what the last-known-good state is written from.
#[derive(Debug, Clone)]
pub struct RawEntity {
    raw: Raw,
    pub origin: Option<Arc<str>>,
}

/// Shared, so that merging cached documents does not copy them.
#[derive(Debug, Clone)]
enum Raw {
    Value(Arc<Value>),
    Text(Arc<str>),
}

/// Which raw entity an entity was validated from, without keeping its value alive: a later
/// document holding the very same raw entity (the file source's unchanged files) reuses the
/// validated entity, and the control-plane source finds the text of each entity it holds.
#[derive(Debug, Clone, Default)]
pub(crate) enum RawSource {
    /// Not from a document (an event, or a previous version kept).
    #[default]
    None,
    Value(Weak<Value>),
    Text(Weak<str>),
}

/// A raw entity upgraded from a [`RawSource`] whose document is still alive.
#[derive(Debug)]
pub(crate) enum LiveRaw {
    Value(Arc<Value>),
    Text(Arc<str>),
}

// === impl RawEntity ===

impl RawEntity {
    pub fn new(value: Value) -> Self {
        RawEntity { raw: Raw::Value(Arc::new(value)), origin: None }
    }

    /// An entity kept as JSON text (valid JSON: the caller read it as such), parsed when used.
    pub fn from_text(text: &str) -> Self {
        RawEntity { raw: Raw::Text(Arc::from(text)), origin: None }
    }

    /// The value: the one held, or parsed from the text (again at each call). Parsing fails
    /// only on limits (nesting depth) since the text was read as JSON.
    pub fn value(&self) -> Result<Cow<'_, Value>, serde_json::Error> {
        match &self.raw {
            Raw::Value(value) => Ok(Cow::Borrowed(value)),
            Raw::Text(text) => serde_json::from_str(text).map(Cow::Owned),
        }
    }

    /// The JSON text as received, when the entity was kept as text.
    pub fn text(&self) -> Option<&Arc<str>> {
        match &self.raw {
            Raw::Text(text) => Some(text),
            Raw::Value(_) => None,
        }
    }

    pub(crate) fn source(&self) -> RawSource {
        match &self.raw {
            Raw::Value(value) => RawSource::Value(Arc::downgrade(value)),
            Raw::Text(text) => RawSource::Text(Arc::downgrade(text)),
        }
    }

    /// Whether `source` points at this very raw entity (the same allocation).
    pub(crate) fn is(&self, source: &RawSource) -> bool {
        match (&self.raw, source) {
            (Raw::Value(value), RawSource::Value(weak)) => std::ptr::eq(weak.as_ptr(), Arc::as_ptr(value)),
            (Raw::Text(text), RawSource::Text(weak)) => std::ptr::addr_eq(weak.as_ptr(), Arc::as_ptr(text)),
            (Raw::Value(_) | Raw::Text(_), RawSource::None | RawSource::Value(_) | RawSource::Text(_)) => false,
        }
    }
}

// === impl RawSource ===

impl RawSource {
    /// The raw entity, if its document is still held somewhere.
    pub(crate) fn upgrade(&self) -> Option<LiveRaw> {
        match self {
            RawSource::None => None,
            RawSource::Value(weak) => weak.upgrade().map(LiveRaw::Value),
            RawSource::Text(weak) => weak.upgrade().map(LiveRaw::Text),
        }
    }
}
