//! Whether decoding ignored anything, without saying where: the fast path of the
//! unknown-key check (see [`super::keys`]).
//!
//! `serde_ignored` names the path of every ignored value, and to have it at hand it copies
//! every map key it passes into a new `String`, ignored or not: 13 % of the instructions of
//! a 10k-API snapshot build (benches/README.md), where an entity almost never holds an
//! unknown key. This
//! wrapper follows the same route through the decoding (the same forwarding, the same single
//! point where a value is ignored: `deserialize_ignored_any`) but only raises a flag, so
//! that the path-naming decode runs for the rare entity that has an unknown key. Hand-written
//! because no maintained crate offers it: `serde_ignored` has no mode without paths.

use std::cell::Cell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

/// Decodes `T`, also telling whether any value was ignored on the way (a key that no field
/// reads, at any depth): exactly when `serde_ignored` would have reported one.
pub(crate) fn decode_seeing_ignored<'de, T, D>(deserializer: D) -> (Result<T, D::Error>, bool)
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    let ignored = Cell::new(false);
    let value = T::deserialize(Watch { inner: deserializer, ignored: &ignored });
    (value, ignored.get())
}

/// A deserializer, visitor, seed or access wrapped so that what it hands on is wrapped too.
struct Watch<'f, X> {
    inner: X,
    ignored: &'f Cell<bool>,
}

impl<'f, X> Watch<'f, X> {
    fn wrap<Y>(&self, inner: Y) -> Watch<'f, Y> {
        Watch { inner, ignored: self.ignored }
    }
}

/// Forwards `deserialize_*` methods, wrapping the visitor.
macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $type:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $type,)* visitor: V) -> Result<V::Value, D::Error> {
                let visitor = self.wrap(visitor);
                self.inner.$method($($arg,)* visitor)
            }
        )*
    };
}

/// Forwards `visit_*` methods that carry a plain value.
macro_rules! forward_visit {
    ($($method:ident($type:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, value: $type) -> Result<X::Value, E> {
                self.inner.$method(value)
            }
        )*
    };
}

// === impl Watch: Deserializer ===

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Watch<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_i128(), deserialize_u8(), deserialize_u16(), deserialize_u32(),
        deserialize_u64(), deserialize_u128(), deserialize_f32(), deserialize_f64(), deserialize_char(),
        deserialize_str(), deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_option(), deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str), deserialize_seq(), deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize), deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]), deserialize_identifier(),
    }

    /// The one place a value is ignored: a key no field reads (or anything else the type
    /// skips).
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.ignored.set(true);
        self.inner.deserialize_ignored_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

// === impl Watch: Visitor ===

impl<'de, X: Visitor<'de>> Visitor<'de> for Watch<'_, X> {
    type Value = X::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64), visit_i128(i128),
        visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64), visit_u128(u128), visit_f32(f32),
        visit_f64(f64), visit_char(char), visit_str(&str), visit_borrowed_str(&'de str), visit_string(String),
        visit_bytes(&[u8]), visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }

    fn visit_none<E: de::Error>(self) -> Result<X::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<X::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<X::Value, D::Error> {
        let deserializer = self.wrap(deserializer);
        self.inner.visit_some(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<X::Value, D::Error> {
        let deserializer = self.wrap(deserializer);
        self.inner.visit_newtype_struct(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<X::Value, A::Error> {
        let seq = self.wrap(seq);
        self.inner.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<X::Value, A::Error> {
        let map = self.wrap(map);
        self.inner.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<X::Value, A::Error> {
        let data = self.wrap(data);
        self.inner.visit_enum(data)
    }
}

// === impl Watch: accesses and seeds ===

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Watch<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// Keys are decoded as they are: an ignored value inside a key is no unknown key (nor is it
/// one for `serde_ignored`).
impl<'de, A: MapAccess<'de>> MapAccess<'de> for Watch<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, 'f, A: EnumAccess<'de>> EnumAccess<'de> for Watch<'f, A> {
    type Error = A::Error;
    type Variant = Watch<'f, A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant), A::Error> {
        let ignored = self.ignored;
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((value, Watch { inner: variant, ignored }))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Watch<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        self.inner.struct_variant(fields, visitor)
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Watch<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        let deserializer = self.wrap(deserializer);
        self.inner.deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::{Value, json};

    use super::decode_seeing_ignored;
    use crate::dto::keys::decode_noting_unknown;
    use crate::dto::{ApiDto, ApplicationDto, PolicyDto};

    /// The flag for `value` decoded as `T`, after checking that it agrees with
    /// `serde_ignored` and that the wrapper decodes what a plain decode does.
    fn sees_ignored<'de, T: Deserialize<'de> + serde::Serialize>(value: &'de Value) -> bool {
        let (decoded, ignored) = decode_seeing_ignored::<T, _>(value);
        let (_, unknown) = decode_noting_unknown::<T, _>(value);
        assert_eq!(ignored, !unknown.is_empty(), "{unknown:?}");
        let plain = T::deserialize(value).ok().and_then(|dto| serde_json::to_value(dto).ok());
        assert_eq!(decoded.ok().and_then(|dto| serde_json::to_value(dto).ok()), plain);
        ignored
    }

    #[test]
    fn an_entity_of_known_keys_ignores_nothing() {
        let api = json!({
            "id": "pets", "context": "/pets", "vhosts": ["a.example"],
            "endpoints": {"production": {"urls": ["http://a"], "retries": {"count": 1, "statusCodes": [502]}}},
            "operations": [{"target": "/a", "verb": "GET", "scopes": ["read"]}]
        });
        assert!(!sees_ignored::<ApiDto<'_>>(&api));
        let application = json!({"id": "app", "attributes": {"anything": "goes"}});
        assert!(!sees_ignored::<ApplicationDto<'_>>(&application), "a map of free keys");
    }

    #[test]
    fn an_unknown_key_is_seen_at_the_top_in_a_list_and_in_a_nested_object() {
        let top = json!({"id": "pets", "contxt": "/pets"});
        let in_list = json!({"operations": [{"target": "/a"}, {"target": "/b", "scope": ["read"]}]});
        let nested = json!({"endpoints": {"production": {"urls": ["http://a"], "retries": {"cout": 1}}}});
        for api in [top, in_list, nested] {
            assert!(sees_ignored::<ApiDto<'_>>(&api), "{api}");
        }
        let policy = json!({"kind": "api", "name": "p", "limit": {"requestCont": 5}});
        assert!(sees_ignored::<PolicyDto<'_>>(&policy));
    }

    #[test]
    fn a_decoding_error_still_tells_what_was_ignored_before_it() {
        // A value's keys are in order: `aaa` comes before `id`, `zzz` after.
        let before = json!({"aaa": 1, "id": 7});
        let after = json!({"id": 7, "zzz": 1});
        for (api, ignored) in [(before, true), (after, false)] {
            let (decoded, seen) = decode_seeing_ignored::<ApiDto<'_>, _>(&api);
            let (_, unknown) = decode_noting_unknown::<ApiDto<'_>, _>(&api);
            assert!(decoded.is_err());
            assert_eq!((seen, !unknown.is_empty()), (ignored, ignored), "{api}");
        }
    }

    #[test]
    fn json_text_and_enum_variants_are_watched_too() {
        let text = r#"{"id": "pets", "operations": [{"verb": "GET", "secure": false}]}"#;
        let (decoded, ignored) = decode_seeing_ignored::<ApiDto<'_>, _>(&mut serde_json::Deserializer::from_str(text));
        assert!(decoded.is_ok() && ignored);
        #[derive(Debug, Deserialize, serde::Serialize)]
        enum Shape {
            Unit,
            Struct { x: u8 },
            Newtype(Option<Inner>),
        }
        #[derive(Debug, Deserialize, serde::Serialize)]
        struct Inner {
            y: u8,
        }
        let cases = [
            (json!("Unit"), false),
            (json!({"Struct": {"x": 1}}), false),
            (json!({"Struct": {"x": 1, "z": 2}}), true),
            (json!({"Newtype": {"y": 1}}), false),
            (json!({"Newtype": {"y": 1, "z": 2}}), true),
        ];
        for (value, ignored) in cases {
            assert_eq!(sees_ignored::<Shape>(&value), ignored, "{value}");
        }
    }
}
