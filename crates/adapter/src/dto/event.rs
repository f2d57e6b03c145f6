use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::document::{DecodeError, check_size, decode_json};
use crate::engine::Action;
use crate::rejected::EntityKind;

/// One page of the control plane's event stream (`GET /events`).
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    /// The newest revision the control plane has.
    pub revision: u64,
    pub events: Vec<Event>,
}

/// One change. The envelope (revision, type) must decode or the whole page is unreadable;
/// the payload is decoded when the event is applied, as one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub revision: u64,
    pub kind: EventKind,
    pub payload: Value,
}

/// The event types of control-plane.md; anything else is kept by name and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    ApiDeployed,
    ApiUndeployed,
    ApplicationUpserted,
    ApplicationDeleted,
    KeyMappingUpserted,
    KeyMappingDeleted,
    SubscriptionUpserted,
    SubscriptionDeleted,
    PolicyUpserted,
    PolicyDeleted,
    KeyManagerUpserted,
    KeyManagerDeleted,
    TokenRevoked,
    Unknown(String),
}

#[derive(Debug, Deserialize)]
struct EventPageDto {
    revision: u64,
    #[serde(default)]
    events: Vec<EventDto>,
}

#[derive(Debug, Deserialize)]
struct EventDto {
    revision: u64,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Value,
}

// === impl EventPage ===

impl EventPage {
    /// Reads an events response. A malformed envelope fails the whole page (the source then
    /// fetches a new snapshot); payloads are only checked when applied.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        check_size(bytes.len())?;
        let dto: EventPageDto = decode_json(bytes)?;
        let events = dto.events.into_iter().map(Event::from_dto).collect();
        Ok(EventPage { revision: dto.revision, events })
    }
}

// === impl Event ===

impl Event {
    fn from_dto(dto: EventDto) -> Self {
        Event { revision: dto.revision, kind: EventKind::parse(dto.kind), payload: dto.payload }
    }
}

// === impl EventKind ===

impl EventKind {
    /// The values of the `type` label of `tollgate_source_events_total`: the event types of
    /// control-plane.md, and `unknown` for any other (a type name from the control plane is
    /// input, never a label value).
    pub const TYPES: [EventKind; 14] = [
        EventKind::ApiDeployed,
        EventKind::ApiUndeployed,
        EventKind::ApplicationUpserted,
        EventKind::ApplicationDeleted,
        EventKind::KeyMappingUpserted,
        EventKind::KeyMappingDeleted,
        EventKind::SubscriptionUpserted,
        EventKind::SubscriptionDeleted,
        EventKind::PolicyUpserted,
        EventKind::PolicyDeleted,
        EventKind::KeyManagerUpserted,
        EventKind::KeyManagerDeleted,
        EventKind::TokenRevoked,
        EventKind::Unknown(String::new()),
    ];

    pub fn parse(name: String) -> Self {
        match name.as_str() {
            "API_DEPLOYED" => EventKind::ApiDeployed,
            "API_UNDEPLOYED" => EventKind::ApiUndeployed,
            "APPLICATION_UPSERTED" => EventKind::ApplicationUpserted,
            "APPLICATION_DELETED" => EventKind::ApplicationDeleted,
            "KEY_MAPPING_UPSERTED" => EventKind::KeyMappingUpserted,
            "KEY_MAPPING_DELETED" => EventKind::KeyMappingDeleted,
            "SUBSCRIPTION_UPSERTED" => EventKind::SubscriptionUpserted,
            "SUBSCRIPTION_DELETED" => EventKind::SubscriptionDeleted,
            "POLICY_UPSERTED" => EventKind::PolicyUpserted,
            "POLICY_DELETED" => EventKind::PolicyDeleted,
            "KEY_MANAGER_UPSERTED" => EventKind::KeyManagerUpserted,
            "KEY_MANAGER_DELETED" => EventKind::KeyManagerDeleted,
            "TOKEN_REVOKED" => EventKind::TokenRevoked,
            _ => EventKind::Unknown(name),
        }
    }

    /// The change an event of this type makes: to which kind, and how; `None` for an
    /// unknown type.
    pub fn change(&self) -> Option<(EntityKind, Action)> {
        let (kind, action) = match self {
            EventKind::ApiDeployed => (EntityKind::Api, Action::Upsert),
            EventKind::ApiUndeployed => (EntityKind::Api, Action::Delete),
            EventKind::ApplicationUpserted => (EntityKind::Application, Action::Upsert),
            EventKind::ApplicationDeleted => (EntityKind::Application, Action::Delete),
            EventKind::KeyMappingUpserted => (EntityKind::KeyMapping, Action::Upsert),
            EventKind::KeyMappingDeleted => (EntityKind::KeyMapping, Action::Delete),
            EventKind::SubscriptionUpserted => (EntityKind::Subscription, Action::Upsert),
            EventKind::SubscriptionDeleted => (EntityKind::Subscription, Action::Delete),
            EventKind::PolicyUpserted => (EntityKind::Policy, Action::Upsert),
            EventKind::PolicyDeleted => (EntityKind::Policy, Action::Delete),
            EventKind::KeyManagerUpserted => (EntityKind::KeyManager, Action::Upsert),
            EventKind::KeyManagerDeleted => (EntityKind::KeyManager, Action::Delete),
            EventKind::TokenRevoked => (EntityKind::RevokedToken, Action::Upsert),
            EventKind::Unknown(_) => return None,
        };
        Some((kind, action))
    }

    /// The event type that makes `action` on `kind` (the inverse of [`EventKind::change`]);
    /// `Unknown` for a change no event type makes. Every source's changes are counted under
    /// these types.
    pub fn of(kind: EntityKind, action: Action) -> Self {
        Self::TYPES
            .into_iter()
            .find(|known| known.change() == Some((kind, action)))
            .unwrap_or(EventKind::Unknown(String::new()))
    }

    /// Logs an event of an unknown type that is skipped, once per type name (`logged`
    /// holds the names logged so far); other types are not logged.
    pub fn log_skipped(&self, revision: u64, logged: &mut HashSet<String>) {
        if let EventKind::Unknown(name) = self
            && logged.insert(name.clone())
        {
            tracing::warn!(event_type = %name, revision, "skipping events of an unknown type");
        }
    }

    /// The type as control-plane.md names it; `unknown` for a type it does not name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::ApiDeployed => "API_DEPLOYED",
            EventKind::ApiUndeployed => "API_UNDEPLOYED",
            EventKind::ApplicationUpserted => "APPLICATION_UPSERTED",
            EventKind::ApplicationDeleted => "APPLICATION_DELETED",
            EventKind::KeyMappingUpserted => "KEY_MAPPING_UPSERTED",
            EventKind::KeyMappingDeleted => "KEY_MAPPING_DELETED",
            EventKind::SubscriptionUpserted => "SUBSCRIPTION_UPSERTED",
            EventKind::SubscriptionDeleted => "SUBSCRIPTION_DELETED",
            EventKind::PolicyUpserted => "POLICY_UPSERTED",
            EventKind::PolicyDeleted => "POLICY_DELETED",
            EventKind::KeyManagerUpserted => "KEY_MANAGER_UPSERTED",
            EventKind::KeyManagerDeleted => "KEY_MANAGER_DELETED",
            EventKind::TokenRevoked => "TOKEN_REVOKED",
            EventKind::Unknown(_) => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_is_one_change_and_back() {
        for kind in EventKind::TYPES {
            match kind.change() {
                Some((entity, action)) => assert_eq!(EventKind::of(entity, action), kind),
                None => assert_eq!(kind.as_str(), "unknown"),
            }
        }
        let withdrawn = EventKind::of(EntityKind::RevokedToken, Action::Delete);
        assert_eq!(withdrawn.as_str(), "unknown", "no event type withdraws a revocation");
    }
}
