//! Applying one change of one entity to the catalog.

use serde_json::Value;
use tollgate_enforcer::model::{Application, KeyMapping, Policy, PolicyKind, PolicyName, Subscription};

use super::replace::{Known, admit, rejection};
use super::set::Uniqueness;
use super::{Catalog, KindFn, Stored, is_builtin, policy_exists, with_kind};
use crate::dto::Event;
use crate::engine::{Action, Change};
use crate::rejected::{EntityKind, Rejected};
use crate::validate::{Entity, FieldError, Problem, policy_kind};

/// How a rejection names a change whose payload names no entity (`event 12`).
type Name<'a> = &'a dyn Fn() -> String;

// === impl Catalog ===

impl Catalog {
    /// Applies one event of control-plane.md (see [`Catalog::apply_change`]). An unknown
    /// event type is skipped and logged once per type.
    pub fn apply_event(&mut self, event: &Event) -> Vec<Rejected> {
        let name = || format!("event {}", event.revision);
        match event.kind.change() {
            Some((kind, action)) => self.apply(kind, action, &event.payload, &name),
            None => {
                event.kind.log_skipped(event.revision, &mut self.skipped_event_types);
                Vec::new()
            }
        }
    }

    /// Applies one change. An upsert replaces by key after validation; a delete of something
    /// unknown is a no-op; deleting an application also removes its key mappings and
    /// subscriptions; a policy still referenced is not deleted; a revocation is never
    /// withdrawn (it ends with the token). Returns what was rejected (at most one entity).
    pub fn apply_change(&mut self, change: &Change) -> Vec<Rejected> {
        self.apply(change.kind, change.action, &change.payload, &|| change.name.clone())
    }

    /// Whether the catalog holds the entity `change` names (`false` when it names none).
    pub(crate) fn holds(&self, change: &Change) -> bool {
        with_kind(change.kind, &mut Holds { catalog: self, payload: &change.payload }).unwrap_or(false)
    }

    fn apply(&mut self, kind: EntityKind, action: Action, payload: &Value, name: Name<'_>) -> Vec<Rejected> {
        let result = match (kind, action) {
            (EntityKind::Application, Action::Delete) => self.delete_application(payload, name),
            (EntityKind::Policy, Action::Delete) => self.delete_policy(payload, name),
            (EntityKind::RevokedToken, Action::Delete) => {
                let error = FieldError::entity(Problem::NotSupported("withdrawing a revocation"));
                Err(self.reject_kind(kind, name, error))
            }
            (_, Action::Upsert) => {
                with_kind(kind, &mut Upsert { catalog: self, payload, name }).unwrap_or_else(|| Err(no_kind(name)))
            }
            (_, Action::Delete) => {
                with_kind(kind, &mut Delete { catalog: self, payload, name }).unwrap_or_else(|| Err(no_kind(name)))
            }
        };
        result.err().into_iter().collect()
    }

    fn upsert<T: Stored>(&mut self, payload: &Value, name: Name<'_>) -> Result<(), Rejected> {
        let claimed = T::raw_key(payload);
        let policies = self.set::<Policy>();
        let policy = |kind: PolicyKind, name: &str| policy_exists(policies, kind, name);
        let known = Known { policy: &policy, settings: self.settings };
        match admit::<T>(self.set::<T>(), payload, &known, Uniqueness::EventsTakeOver) {
            Ok(admitted) => {
                for evicted in self.set_mut::<T>().evict_holders(&admitted) {
                    self.outstanding.shift_remove(&(T::KIND, T::display_key(&evicted)));
                }
                self.outstanding.shift_remove(&(T::KIND, T::display_key(&admitted.key)));
                self.set_mut::<T>().upsert(admitted);
                Ok(())
            }
            Err(error) => Err(self.reject::<T>(claimed.as_deref(), name, error)),
        }
    }

    fn delete<T: Stored>(&mut self, payload: &Value, name: Name<'_>) -> Result<(), Rejected> {
        let key = self.key_of::<T>(payload, name)?;
        self.outstanding.shift_remove(&(T::KIND, T::display_key(&key)));
        self.set_mut::<T>().remove(&key);
        Ok(())
    }

    fn delete_application(&mut self, payload: &Value, name: Name<'_>) -> Result<(), Rejected> {
        let id = self.key_of::<Application>(payload, name)?;
        self.delete::<Application>(payload, name)?;
        for key in self.set_mut::<KeyMapping>().remove_where(|mapping| *mapping.application_id == *id) {
            self.outstanding.shift_remove(&(EntityKind::KeyMapping, KeyMapping::display_key(&key)));
        }
        for key in self.set_mut::<Subscription>().remove_where(|subscription| *subscription.application_id == *id) {
            self.outstanding.shift_remove(&(EntityKind::Subscription, key));
        }
        Ok(())
    }

    /// A policy that an API, application or subscription still names is not deleted
    /// (unless a built-in of that name takes over).
    fn delete_policy(&mut self, payload: &Value, name: Name<'_>) -> Result<(), Rejected> {
        let key = self.key_of::<Policy>(payload, name)?;
        let Some(policy) = self.set::<Policy>().get(&key).cloned() else { return Ok(()) };
        if !is_builtin(policy.id.kind, &policy.id.name) {
            let policy_name = PolicyName { kind: policy.id.kind, name: policy.id.name.clone() };
            if let Some((kind, id)) = self.first_reference(&policy_name) {
                let error = FieldError::entity(Problem::StillReferenced { kind, id });
                return Err(self.reject::<Policy>(Some(&key), name, error));
            }
        }
        self.delete::<Policy>(payload, name)
    }

    /// The key a delete payload names; a payload without one is rejected.
    fn key_of<T: Stored>(&mut self, payload: &Value, name: Name<'_>) -> Result<String, Rejected> {
        if let Some(kind) = payload.get("kind").and_then(Value::as_str).filter(|_| T::KIND == EntityKind::Policy) {
            policy_kind(kind).map_err(|p| self.reject::<T>(None, name, FieldError::new("kind", p)))?;
        }
        T::raw_key(payload).ok_or_else(|| {
            let error = FieldError::entity(Problem::Decode(format!("the payload does not name a {}", T::KIND)));
            self.reject::<T>(None, name, error)
        })
    }

    fn reject<T: Entity>(&mut self, key: Option<&str>, name: Name<'_>, error: FieldError) -> Rejected {
        let rejected = rejection::<T>(key, name, error, None);
        self.outstanding.insert((rejected.entity, rejected.id.clone()), rejected.clone());
        rejected
    }

    /// The rejection of a change refused whatever its payload (named by the change).
    fn reject_kind(&mut self, kind: EntityKind, name: Name<'_>, error: FieldError) -> Rejected {
        let rejected = Rejected::from(crate::validate::EntityError::new(kind, name(), error));
        self.outstanding.insert((rejected.entity, rejected.id.clone()), rejected.clone());
        rejected
    }
}

/// A change of [`EntityKind::Document`], which names no entity kind.
fn no_kind(name: Name<'_>) -> Rejected {
    Rejected::document(name(), "a change must name an entity kind")
}

struct Upsert<'a, 'n> {
    catalog: &'a mut Catalog,
    payload: &'a Value,
    name: Name<'n>,
}

impl KindFn for Upsert<'_, '_> {
    type Output = Result<(), Rejected>;
    fn call<T: Stored>(&mut self) -> Self::Output {
        self.catalog.upsert::<T>(self.payload, self.name)
    }
}

struct Delete<'a, 'n> {
    catalog: &'a mut Catalog,
    payload: &'a Value,
    name: Name<'n>,
}

impl KindFn for Delete<'_, '_> {
    type Output = Result<(), Rejected>;
    fn call<T: Stored>(&mut self) -> Self::Output {
        self.catalog.delete::<T>(self.payload, self.name)
    }
}

struct Holds<'a> {
    catalog: &'a Catalog,
    payload: &'a Value,
}

impl KindFn for Holds<'_> {
    type Output = bool;
    fn call<T: Stored>(&mut self) -> bool {
        T::raw_key(self.payload).is_some_and(|key| self.catalog.set::<T>().contains(&key))
    }
}
