//! Keys that no field of the model reads (model.md: the file source rejects them, the
//! control-plane source ignores them).
//!
//! They are found while decoding, by `serde_ignored`, so there is one definition of every
//! DTO for both sources. The nearest known key is looked up in the DTO's own field lists,
//! traced from its `Deserialize` impl by `serde-reflection`, so that the suggestions follow
//! the DTOs with no second list of keys to keep in step.

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_reflection::{ContainerFormat, Format, Registry, Tracer, TracerConfig};

/// Where an unknown key is: its path within the entity (`operations[0].scope`) or the
/// document (`api`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A value decoded with the keys it did not read (see [`decode_noting_unknown`]); also a
/// `Deserialize` wrapper for decoders that take a type rather than a deserializer.
#[derive(Debug)]
pub struct Noted<T> {
    pub value: T,
    pub unknown: Vec<KeyPath>,
}

/// Similarity (Jaro-Winkler, case-insensitive) from which a known key is offered as "did you
/// mean": close enough for a typo or a plural, far enough that unrelated keys are not.
const SUGGESTION_SIMILARITY: f64 = 0.8;

// === impl KeyPath ===

impl KeyPath {
    /// The path without array indices (`operations[].scope`): the same key in every entity
    /// and every array element is one key.
    pub fn pattern(&self) -> String {
        self.render(false)
    }

    /// The unknown key itself (the last one of the path).
    pub fn key(&self) -> &str {
        match self.0.last() {
            Some(Segment::Key(key)) => key,
            Some(Segment::Index(_)) | None => "",
        }
    }

    fn from_ignored(path: &serde_ignored::Path<'_>) -> Self {
        let mut segments = Vec::new();
        let mut current = path;
        loop {
            current = match current {
                serde_ignored::Path::Root => break,
                serde_ignored::Path::Seq { parent, index } => {
                    segments.push(Segment::Index(*index));
                    parent
                }
                serde_ignored::Path::Map { parent, key } => {
                    segments.push(Segment::Key(key.clone()));
                    parent
                }
                serde_ignored::Path::Some { parent }
                | serde_ignored::Path::NewtypeStruct { parent }
                | serde_ignored::Path::NewtypeVariant { parent } => parent,
            };
        }
        segments.reverse();
        KeyPath(segments)
    }

    fn render(&self, with_indices: bool) -> String {
        let mut text = String::new();
        for segment in &self.0 {
            match segment {
                Segment::Key(key) if text.is_empty() => text.push_str(key),
                Segment::Key(key) => text.extend([".", key.as_str()]),
                Segment::Index(index) if with_indices => text.push_str(&format!("[{index}]")),
                Segment::Index(_) => text.push_str("[]"),
            }
        }
        text
    }

    fn parent(&self) -> &[Segment] {
        self.0.split_last().map_or(&[], |(_, parent)| parent)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(true))
    }
}

// === impl Noted ===

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Noted<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut unknown = Vec::new();
        let value = serde_ignored::deserialize(deserializer, |path| unknown.push(KeyPath::from_ignored(&path)))?;
        Ok(Noted { value, unknown })
    }
}

/// Decodes `T`, collecting every key that no field of `T` reads. The keys found before a
/// decoding error are returned with the error.
pub fn decode_noting_unknown<'de, T, D>(deserializer: D) -> (Result<T, D::Error>, Vec<KeyPath>)
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    let mut unknown = Vec::new();
    let value = serde_ignored::deserialize(deserializer, |path| unknown.push(KeyPath::from_ignored(&path)));
    (value, unknown)
}

/// The key of `T` nearest to the unknown key at `path`, among those `T` accepts at that
/// place (`scope` in `operations[0]` → `scopes`); `None` when none is near enough.
pub fn suggestion<'de, T: Deserialize<'de>>(path: &KeyPath) -> Option<String> {
    let mut tracer = Tracer::new(TracerConfig::default());
    let (root, _) = tracer.trace_simple_type::<T>().ok()?;
    let registry = tracer.registry_unchecked();
    let fields = fields_at(&registry, &root, path.parent())?;
    nearest(path.key(), fields.iter().map(|field| field.name.as_str()))
}

/// The nearest of `known` to `key`, when near enough.
pub fn nearest<'k>(key: &str, known: impl IntoIterator<Item = &'k str>) -> Option<String> {
    let key = key.to_lowercase();
    let scored = known.into_iter().map(|name| (strsim::jaro_winkler(&key, &name.to_lowercase()), name));
    let (score, name) = scored.max_by(|(a, _), (b, _)| a.total_cmp(b))?;
    (score >= SUGGESTION_SIMILARITY).then(|| name.to_owned())
}

/// The fields of the struct reached from `format` by `path`.
fn fields_at<'r>(
    registry: &'r Registry,
    format: &'r Format,
    path: &[Segment],
) -> Option<&'r [serde_reflection::Named<Format>]> {
    match (format, path.split_first()) {
        (Format::Option(inner), _) => fields_at(registry, inner, path),
        (Format::Seq(inner), Some((Segment::Index(_), rest))) => fields_at(registry, inner, rest),
        (Format::TypeName(name), _) => match registry.get(name)? {
            ContainerFormat::Struct(fields) => match path.split_first() {
                None => Some(fields),
                Some((Segment::Key(key), rest)) => {
                    let field = fields.iter().find(|field| field.name == *key)?;
                    fields_at(registry, &field.value, rest)
                }
                Some((Segment::Index(_), _)) => None,
            },
            ContainerFormat::UnitStruct
            | ContainerFormat::NewTypeStruct(_)
            | ContainerFormat::TupleStruct(_)
            | ContainerFormat::Enum(_) => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::dto::{ApiDto, PolicyDto};

    fn unknown_in_api(value: &serde_json::Value) -> Vec<(String, Option<String>)> {
        let (decoded, unknown) = decode_noting_unknown::<ApiDto<'_>, _>(value);
        assert!(decoded.is_ok());
        unknown.iter().map(|path| (path.to_string(), suggestion::<ApiDto<'_>>(path))).collect()
    }

    #[test]
    fn unknown_keys_are_found_at_every_depth_with_the_nearest_known_key_there() {
        let api = json!({
            "id": "pets", "contxt": "/pets",
            "endpoints": {"production": {"urls": ["http://a"], "timeoutMS": 5, "retries": {"cout": 1}}},
            "operations": [{"target": "/a"}, {"target": "/b", "scope": ["read"], "zzz": 1}]
        });
        assert_eq!(
            unknown_in_api(&api),
            [
                ("contxt".to_owned(), Some("context".to_owned())),
                ("endpoints.production.retries.cout".to_owned(), Some("count".to_owned())),
                ("endpoints.production.timeoutMS".to_owned(), Some("timeoutMs".to_owned())),
                ("operations[1].scope".to_owned(), Some("scopes".to_owned())),
                ("operations[1].zzz".to_owned(), None),
            ]
        );
    }

    #[test]
    fn a_pattern_is_the_same_key_in_every_element() {
        let api = json!({"operations": [{"scope": []}, {"target": "/b", "scope": []}]});
        let (_, unknown) = decode_noting_unknown::<ApiDto<'_>, _>(&api);
        let patterns: Vec<String> = unknown.iter().map(KeyPath::pattern).collect();
        assert_eq!(patterns, ["operations[].scope", "operations[].scope"]);
        assert_eq!(unknown.first().map(KeyPath::key), Some("scope"));
    }

    #[test]
    fn nested_objects_of_other_entities_are_known_too() {
        let policy = json!({"kind": "api", "name": "p", "limit": {"requestCont": 5, "timeUnit": "min"}});
        let (_, unknown) = decode_noting_unknown::<PolicyDto<'_>, _>(&policy);
        let found: Vec<_> = unknown.iter().map(|p| (p.to_string(), suggestion::<PolicyDto<'_>>(p))).collect();
        assert_eq!(found, [("limit.requestCont".to_owned(), Some("requestCount".to_owned()))]);
    }

    #[test]
    fn maps_of_free_keys_and_known_keys_are_not_reported() {
        let application = json!({"id": "app", "attributes": {"anything": "goes"}});
        let (decoded, unknown) = decode_noting_unknown::<crate::dto::ApplicationDto<'_>, _>(&application);
        assert!(decoded.is_ok() && unknown.is_empty(), "{unknown:?}");
    }

    #[test]
    fn a_text_decodes_as_without_the_check_and_names_its_unknown_keys() {
        let text = r#"{"id": "pets", "extra": {"deep": 1}, "operations": [{"verb": "GET", "secure": false}]}"#;
        let (decoded, unknown) = decode_noting_unknown::<ApiDto<'_>, _>(&mut serde_json::Deserializer::from_str(text));
        let decoded = decoded.ok();
        assert_eq!(decoded.as_ref().and_then(|api| api.id.as_deref()), Some("pets"));
        let verbs = decoded.and_then(|api| api.operations).map(|ops| ops.iter().map(|op| op.verb.clone()).collect());
        assert_eq!(verbs, Some(vec![Some("GET".into())]));
        let paths: Vec<String> = unknown.iter().map(ToString::to_string).collect();
        assert_eq!(paths, ["extra", "operations[0].secure"]);
        assert_eq!(unknown.get(1).and_then(suggestion::<ApiDto<'_>>), Some("secured".to_owned()));
    }
}
