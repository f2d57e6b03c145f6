//! What the adapter refused, in the shape the status report, the log and `/config` show.

use serde::{Deserialize, Serialize};

/// The kind of a configuration entity (contract `model.md`), as named in rejections,
/// metrics labels and the `/config` status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EntityKind {
    Api,
    Application,
    KeyMapping,
    Subscription,
    Policy,
    KeyManager,
    RevokedToken,
    /// A whole document (a file of the file source, a snapshot or event page) that could not
    /// be decoded at all; none of its entities were read from it.
    Document,
}

/// One refused entity: it was not applied, and what was served before stays served.
/// (Deserialised from the last-known-good state, which keeps the rejections in force.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub entity: EntityKind,
    /// The entity's identifier as the document gave it (`id`, `name`, `kind/name`,
    /// `keyManager/consumerKey`, the `jti`), or its position (`apis[3]`) when it had none.
    pub id: String,
    /// The whole message: entity, id, field and the rule it broke.
    pub error: String,
}

// === impl EntityKind ===

impl EntityKind {
    /// The seven entity kinds of the model (everything but [`EntityKind::Document`]).
    pub const ENTITIES: [EntityKind; 7] = [
        EntityKind::Api,
        EntityKind::Application,
        EntityKind::KeyMapping,
        EntityKind::Subscription,
        EntityKind::Policy,
        EntityKind::KeyManager,
        EntityKind::RevokedToken,
    ];

    /// Every kind, [`EntityKind::Document`] included: the `entity` label's values.
    pub const ALL: [EntityKind; 8] = [
        EntityKind::Api,
        EntityKind::Application,
        EntityKind::KeyMapping,
        EntityKind::Subscription,
        EntityKind::Policy,
        EntityKind::KeyManager,
        EntityKind::RevokedToken,
        EntityKind::Document,
    ];

    /// The name used in messages, metric labels and JSON (`keyMapping`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Api => "api",
            EntityKind::Application => "application",
            EntityKind::KeyMapping => "keyMapping",
            EntityKind::Subscription => "subscription",
            EntityKind::Policy => "policy",
            EntityKind::KeyManager => "keyManager",
            EntityKind::RevokedToken => "revokedToken",
            EntityKind::Document => "document",
        }
    }

    /// The snapshot array that holds entities of this kind (`apis`, `keyMappings`, ...).
    pub fn array_name(self) -> &'static str {
        match self {
            EntityKind::Api => "apis",
            EntityKind::Application => "applications",
            EntityKind::KeyMapping => "keyMappings",
            EntityKind::Subscription => "subscriptions",
            EntityKind::Policy => "policies",
            EntityKind::KeyManager => "keyManagers",
            EntityKind::RevokedToken => "revokedTokens",
            EntityKind::Document => "documents",
        }
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// === impl Rejected ===

impl Rejected {
    /// A document that could not be read as a whole; `name` is the file name or the source.
    pub fn document(name: impl Into<String>, error: impl std::fmt::Display) -> Self {
        let id = name.into();
        let error = format!("{id}: {error}");
        Rejected { entity: EntityKind::Document, id, error }
    }

    /// The same rejection with its message prefixed by where it came from (a file name).
    pub fn located(mut self, origin: &str) -> Self {
        self.error = format!("{origin}: {}", self.error);
        self
    }
}
