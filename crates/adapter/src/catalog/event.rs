//! Applying one control-plane event to the catalog.

use serde_json::Value;
use tollgate_enforcer::model::{
    Application, KeyManager, KeyMapping, Policy, PolicyKind, PolicyName, RevokedToken, Subscription,
};
use tollgate_router::api::Api;

use super::replace::{admit, rejection};
use super::set::Uniqueness;
use super::{Catalog, Stored, is_builtin, policy_exists};
use crate::dto::{Event, EventKind};
use crate::rejected::{EntityKind, Rejected};
use crate::validate::{Entity, FieldError, Problem, policy_kind};

// === impl Catalog ===

impl Catalog {
    /// Applies one event of control-plane.md. An upsert replaces by key after validation; a
    /// delete of something unknown is a no-op; `APPLICATION_DELETED` also removes the
    /// application's key mappings and subscriptions; a policy still referenced is not
    /// deleted. An unknown event type is skipped and logged once per type. Returns what was
    /// rejected (at most one entity).
    pub fn apply_event(&mut self, event: &Event) -> Vec<Rejected> {
        let payload = &event.payload;
        let result = match &event.kind {
            EventKind::ApiDeployed => self.upsert::<Api>(payload, event.revision),
            EventKind::ApiUndeployed => self.delete::<Api>(payload, event.revision),
            EventKind::ApplicationUpserted => self.upsert::<Application>(payload, event.revision),
            EventKind::ApplicationDeleted => self.delete_application(payload, event.revision),
            EventKind::KeyMappingUpserted => self.upsert::<KeyMapping>(payload, event.revision),
            EventKind::KeyMappingDeleted => self.delete::<KeyMapping>(payload, event.revision),
            EventKind::SubscriptionUpserted => self.upsert::<Subscription>(payload, event.revision),
            EventKind::SubscriptionDeleted => self.delete::<Subscription>(payload, event.revision),
            EventKind::PolicyUpserted => self.upsert::<Policy>(payload, event.revision),
            EventKind::PolicyDeleted => self.delete_policy(payload, event.revision),
            EventKind::KeyManagerUpserted => self.upsert::<KeyManager>(payload, event.revision),
            EventKind::KeyManagerDeleted => self.delete::<KeyManager>(payload, event.revision),
            EventKind::TokenRevoked => self.upsert::<RevokedToken>(payload, event.revision),
            EventKind::Unknown(name) => {
                self.skip(name, event.revision);
                Ok(())
            }
        };
        result.err().into_iter().collect()
    }

    fn upsert<T: Stored>(&mut self, payload: &Value, revision: u64) -> Result<(), Rejected> {
        let claimed = T::raw_key(payload);
        let policies = &self.policies;
        let known = |kind: PolicyKind, name: &str| policy_exists(policies, kind, name);
        match admit::<T>(T::set(self), payload, &known, Uniqueness::EventsTakeOver) {
            Ok(admitted) => {
                for evicted in T::set_mut(self).evict_holders(&admitted) {
                    self.outstanding.shift_remove(&(T::KIND, T::display_key(&evicted)));
                }
                self.outstanding.shift_remove(&(T::KIND, T::display_key(&admitted.key)));
                T::set_mut(self).upsert(admitted);
                Ok(())
            }
            Err(error) => Err(self.reject::<T>(claimed.as_deref(), revision, error)),
        }
    }

    fn delete<T: Stored>(&mut self, payload: &Value, revision: u64) -> Result<(), Rejected> {
        let key = self.key_of::<T>(payload, revision)?;
        self.outstanding.shift_remove(&(T::KIND, T::display_key(&key)));
        T::set_mut(self).remove(&key);
        Ok(())
    }

    fn delete_application(&mut self, payload: &Value, revision: u64) -> Result<(), Rejected> {
        let id = self.key_of::<Application>(payload, revision)?;
        self.delete::<Application>(payload, revision)?;
        for key in self.key_mappings.remove_where(|mapping| *mapping.application_id == *id) {
            self.outstanding.shift_remove(&(EntityKind::KeyMapping, KeyMapping::display_key(&key)));
        }
        for key in self.subscriptions.remove_where(|subscription| *subscription.application_id == *id) {
            self.outstanding.shift_remove(&(EntityKind::Subscription, key));
        }
        Ok(())
    }

    /// A policy that an API, application or subscription still names is not deleted
    /// (unless a built-in of that name takes over).
    fn delete_policy(&mut self, payload: &Value, revision: u64) -> Result<(), Rejected> {
        let key = self.key_of::<Policy>(payload, revision)?;
        let Some(policy) = self.policies.get(&key).cloned() else { return Ok(()) };
        if !is_builtin(policy.id.kind, &policy.id.name) {
            let name = PolicyName { kind: policy.id.kind, name: policy.id.name.clone() };
            if let Some((kind, id)) = self.first_reference(&name) {
                let error = FieldError::entity(Problem::StillReferenced { kind, id });
                return Err(self.reject::<Policy>(Some(&key), revision, error));
            }
        }
        self.delete::<Policy>(payload, revision)
    }

    /// The key a delete payload names; a payload without one is rejected.
    fn key_of<T: Stored>(&mut self, payload: &Value, revision: u64) -> Result<String, Rejected> {
        if let Some(kind) = payload.get("kind").and_then(Value::as_str).filter(|_| T::KIND == EntityKind::Policy) {
            policy_kind(kind).map_err(|p| self.reject::<T>(None, revision, FieldError::new("kind", p)))?;
        }
        T::raw_key(payload).ok_or_else(|| {
            let error = FieldError::entity(Problem::Decode(format!("the payload does not name a {}", T::KIND)));
            self.reject::<T>(None, revision, error)
        })
    }

    fn reject<T: Entity>(&mut self, key: Option<&str>, revision: u64, error: FieldError) -> Rejected {
        let rejected = rejection::<T>(key, || format!("event {revision}"), error, None);
        self.outstanding.insert((rejected.entity, rejected.id.clone()), rejected.clone());
        rejected
    }

    fn skip(&mut self, name: &str, revision: u64) {
        if self.skipped_event_types.insert(name.to_owned()) {
            tracing::warn!(event_type = name, revision, "skipping events of an unknown type");
        }
    }
}
