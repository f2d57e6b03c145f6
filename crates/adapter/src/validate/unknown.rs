//! Keys the model does not have, as each source treats them (model.md): the file source
//! rejects a document holding one, because a misspelt security setting (`scope:` on an
//! operation) must never be served as if it were absent; the control-plane source ignores
//! them, since a newer control plane may send more, and logs each key once per process.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};

use serde_json::Value;

use super::Entity;
use super::error::{EntityError, FieldError, Problem};
use crate::catalog::{KindFn, Stored, for_each_kind};
use crate::dto::Document;
use crate::dto::keys::{self, KeyPath};
use crate::rejected::EntityKind;

/// The (entity kind, key pattern) pairs already logged by this process.
static LOGGED: LazyLock<Mutex<HashSet<(EntityKind, String)>>> = LazyLock::new(Mutex::default);

/// Every unknown key of `document`, top level and in each entity, as messages naming the
/// entity, the key's path and the nearest known key
/// (`api "pets": operations[0].scope: unknown key; did you mean `scopes`?`). Empty when the
/// document has none.
pub(crate) fn document_errors(document: &Document) -> Vec<String> {
    let top = document.unknown_keys.iter().map(|path| {
        let suggestion = keys::nearest(path.key(), Document::known_keys());
        FieldError::new(path.to_string(), Problem::UnknownKey { suggestion }).to_string()
    });
    let mut errors: Vec<String> = top.collect();
    for_each_kind(&EntityKind::ENTITIES, &mut EntityErrors { document, errors: &mut errors });
    errors
}

/// The unknown keys of one raw entity, each as a field error with the nearest known key.
pub(crate) fn errors<T: Entity>(raw: &Value) -> Vec<FieldError> {
    let (_, unknown) = keys::decode_noting_unknown::<T::Dto<'_>, _>(raw);
    let error = |path: KeyPath| {
        let suggestion = keys::suggestion::<T::Dto<'_>>(&path);
        FieldError::new(path.to_string(), Problem::UnknownKey { suggestion })
    };
    unknown.into_iter().map(error).collect()
}

/// Logs each unknown key of a `T` the first time this process meets it (by its path without
/// indices, so a key every entity carries is one line), with the nearest known key.
pub(crate) fn log_once<T: Entity>(unknown: &[KeyPath]) {
    for path in unknown {
        let first = LOGGED.lock().unwrap_or_else(PoisonError::into_inner).insert((T::KIND, path.pattern()));
        if first {
            let suggestion = keys::suggestion::<T::Dto<'_>>(path);
            let error = FieldError::new(path.pattern(), Problem::UnknownKey { suggestion });
            tracing::warn!(entity = T::KIND.as_str(), %error, "ignoring a key the model does not have (logged once)");
        }
    }
}

/// The unknown keys of the entities of one kind of a document.
struct EntityErrors<'a> {
    document: &'a Document,
    errors: &'a mut Vec<String>,
}

impl KindFn for EntityErrors<'_> {
    type Output = ();
    fn call<T: Stored>(&mut self) {
        self.errors.extend(entity_errors::<T>(self.document));
    }
}

fn entity_errors<T: Entity>(document: &Document) -> Vec<String> {
    let mut messages = Vec::new();
    for (i, raw) in document.entities(T::KIND).iter().enumerate() {
        // A value that cannot be parsed is left to validation, which names why.
        let Ok(value) = raw.value() else { continue };
        let id =
            T::raw_key(&value).map_or_else(|| format!("{}[{i}]", T::KIND.array_name()), |key| T::display_key(&key));
        let found = errors::<T>(&value).into_iter().map(|error| EntityError::new(T::KIND, id.clone(), error));
        messages.extend(found.map(|error| error.to_string()));
    }
    messages
}
