//! The entity types of the model, listed once: where the catalog stores each, and how code
//! that works on every kind reaches each kind's type ([`KindFn`]).

use tollgate_enforcer::model::{Application, KeyManager, KeyMapping, Policy, RevokedToken, Subscription};
use tollgate_router::api::Api;

use super::set::EntitySet;
use crate::rejected::EntityKind;
use crate::validate::Entity;

/// An entity type the catalog stores, and where.
pub(crate) trait Stored: Entity {
    fn set(sets: &Sets) -> &EntitySet<Self>;
    fn set_mut(sets: &mut Sets) -> &mut EntitySet<Self>;
}

/// Work done for one entity kind with its type: the way to write, once, code that would
/// otherwise repeat itself for each of the seven types. Run it with [`with_kind`] or
/// [`for_each_kind`].
pub(crate) trait KindFn {
    type Output;
    fn call<T: Stored>(&mut self) -> Self::Output;
}

macro_rules! entity_types {
    ($($type:ty => $field:ident),* $(,)?) => {
        /// The validated entities, one set per kind.
        #[derive(Debug, Default)]
        pub(crate) struct Sets {
            $($field: EntitySet<$type>,)*
        }

        $(
            impl Stored for $type {
                fn set(sets: &Sets) -> &EntitySet<Self> {
                    &sets.$field
                }
                fn set_mut(sets: &mut Sets) -> &mut EntitySet<Self> {
                    &mut sets.$field
                }
            }
        )*

        /// Runs `f` with the type of `kind`; `None` for [`EntityKind::Document`], which is no
        /// entity type.
        pub(crate) fn with_kind<F: KindFn>(kind: EntityKind, f: &mut F) -> Option<F::Output> {
            $(
                if kind == <$type as Entity>::KIND {
                    return Some(f.call::<$type>());
                }
            )*
            None
        }
    };
}

entity_types! {
    Api => apis,
    Application => applications,
    KeyMapping => key_mappings,
    Subscription => subscriptions,
    Policy => policies,
    KeyManager => key_managers,
    RevokedToken => revoked_tokens,
}

/// Runs `f` for every entity kind, in the order of `kinds`.
pub(crate) fn for_each_kind<F: KindFn>(kinds: &[EntityKind], f: &mut F) {
    for kind in kinds {
        with_kind(*kind, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Name;

    impl KindFn for Name {
        type Output = EntityKind;
        fn call<T: Stored>(&mut self) -> EntityKind {
            T::KIND
        }
    }

    #[test]
    fn every_entity_kind_has_its_type() {
        for kind in EntityKind::ENTITIES {
            assert_eq!(with_kind(kind, &mut Name), Some(kind));
        }
        assert_eq!(with_kind(EntityKind::Document, &mut Name), None);
    }
}
