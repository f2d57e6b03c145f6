//! `Application`, `KeyMapping`, `Subscription` and `RevokedToken` → the enforcer's model.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tollgate_enforcer::model::{
    Application, KeyMapping, KeyType, Policy, PolicyKind, RevokedId, RevokedToken, Subscription, SubscriptionStatus,
};

use super::error::{FieldError, Problem};
use super::text::{non_empty, one_of, optional_name, optional_text, plain, required};
use super::{Entity, UniqueKey, raw_str};
use crate::dto::{ApplicationDto, KeyMappingDto, RevokedTokenDto, SubscriptionDto, Text};
use crate::rejected::EntityKind;

const KEY_TYPES: [(&str, KeyType); 2] = [("PRODUCTION", KeyType::Production), ("SANDBOX", KeyType::Sandbox)];
const STATUSES: [(&str, SubscriptionStatus); 6] = [
    ("UNBLOCKED", SubscriptionStatus::Unblocked),
    ("BLOCKED", SubscriptionStatus::Blocked),
    ("PROD_ONLY_BLOCKED", SubscriptionStatus::ProdOnlyBlocked),
    ("ON_HOLD", SubscriptionStatus::OnHold),
    ("REJECTED", SubscriptionStatus::Rejected),
    ("TIER_UPDATE_PENDING", SubscriptionStatus::TierUpdatePending),
];
const STATUS_NAMES: &str = "UNBLOCKED, BLOCKED, PROD_ONLY_BLOCKED, ON_HOLD, REJECTED or TIER_UPDATE_PENDING";
/// Separates the two halves of a key mapping's key; control characters never pass
/// validation, so the key is unambiguous.
const KEY_SEPARATOR: char = '\u{1f}';

// === Application ===

impl TryFrom<ApplicationDto<'_>> for Application {
    type Error = FieldError;

    fn try_from(dto: ApplicationDto<'_>) -> Result<Self, FieldError> {
        let id: Arc<str> = required(dto.id, "id")?;
        let name: Arc<str> = optional_text(dto.name, "name")?;
        Ok(Application {
            id_header: Application::header_value(&id),
            name_header: Application::header_value(&name),
            id,
            name,
            owner: optional_text(dto.owner, "owner")?,
            policy: optional_name(dto.policy, "policy")?.unwrap_or_else(|| Policy::UNLIMITED.into()),
            attributes: attributes(dto.attributes.unwrap_or_default())?,
        })
    }
}

impl Entity for Application {
    const KIND: EntityKind = EntityKind::Application;
    type Dto<'de> = ApplicationDto<'de>;

    fn from_dto(dto: ApplicationDto<'_>) -> Result<Self, FieldError> {
        Self::try_from(dto)
    }

    fn key(&self) -> String {
        self.id.to_string()
    }

    fn raw_key(raw: &Value) -> Option<String> {
        raw_str(raw, "id")
    }

    fn check_policies(&self, known: &dyn Fn(PolicyKind, &str) -> bool) -> Result<(), FieldError> {
        check_policy(PolicyKind::Application, &self.policy, known)
    }

    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

fn attributes(map: BTreeMap<Text<'_>, Text<'_>>) -> Result<BTreeMap<Arc<str>, Arc<str>>, FieldError> {
    let check = |(key, value): (Text<'_>, Text<'_>)| {
        let valid = non_empty(&key).and_then(|()| plain(&value));
        valid
            .map(|()| (Arc::from(&*key), Arc::from(&*value)))
            .map_err(|p| FieldError::new(format!("attributes.{key}"), p))
    };
    map.into_iter().map(check).collect()
}

// === KeyMapping ===

impl TryFrom<KeyMappingDto<'_>> for KeyMapping {
    type Error = FieldError;

    fn try_from(dto: KeyMappingDto<'_>) -> Result<Self, FieldError> {
        let key_type = required(dto.key_type, "keyType")?;
        Ok(KeyMapping {
            application_id: required(dto.application_id, "applicationId")?,
            consumer_key: required(dto.consumer_key, "consumerKey")?,
            key_type: one_of(&key_type, &KEY_TYPES, "PRODUCTION or SANDBOX").map_err(FieldError::at("keyType"))?,
            key_manager: required(dto.key_manager, "keyManager")?,
        })
    }
}

impl Entity for KeyMapping {
    const KIND: EntityKind = EntityKind::KeyMapping;
    type Dto<'de> = KeyMappingDto<'de>;

    fn from_dto(dto: KeyMappingDto<'_>) -> Result<Self, FieldError> {
        Self::try_from(dto)
    }

    /// (keyManager, consumerKey) is the key: a consumer key names one application per
    /// key manager.
    fn key(&self) -> String {
        key_mapping_key(&self.key_manager, &self.consumer_key)
    }

    fn raw_key(raw: &Value) -> Option<String> {
        Some(key_mapping_key(&raw_str(raw, "keyManager")?, &raw_str(raw, "consumerKey")?))
    }

    fn display_key(key: &str) -> String {
        key.replace(KEY_SEPARATOR, "/")
    }

    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

fn key_mapping_key(key_manager: &str, consumer_key: &str) -> String {
    format!("{key_manager}{KEY_SEPARATOR}{consumer_key}")
}

// === Subscription ===

impl TryFrom<SubscriptionDto<'_>> for Subscription {
    type Error = FieldError;

    fn try_from(dto: SubscriptionDto<'_>) -> Result<Self, FieldError> {
        let status = required(dto.status, "status")?;
        Ok(Subscription {
            id: required(dto.id, "id")?,
            api_id: required(dto.api_id, "apiId")?,
            application_id: required(dto.application_id, "applicationId")?,
            policy: optional_name(dto.policy, "policy")?.unwrap_or_else(|| Policy::UNLIMITED.into()),
            status: one_of(&status, &STATUSES, STATUS_NAMES).map_err(FieldError::at("status"))?,
        })
    }
}

impl Entity for Subscription {
    const KIND: EntityKind = EntityKind::Subscription;
    type Dto<'de> = SubscriptionDto<'de>;

    fn from_dto(dto: SubscriptionDto<'_>) -> Result<Self, FieldError> {
        Self::try_from(dto)
    }

    fn key(&self) -> String {
        self.id.to_string()
    }

    fn raw_key(raw: &Value) -> Option<String> {
        raw_str(raw, "id")
    }

    /// An application subscribes to an API once. A `SUBSCRIPTION_UPSERTED` event with a new
    /// id for the same pair replaces the old subscription (the control plane re-created it).
    fn unique_keys(&self) -> Vec<UniqueKey> {
        let value = format!("{:?} with application {:?}", self.api_id, self.application_id);
        vec![UniqueKey::new("applicationId", "subscription to api", value).taken_over_by_events()]
    }

    fn check_policies(&self, known: &dyn Fn(PolicyKind, &str) -> bool) -> Result<(), FieldError> {
        check_policy(PolicyKind::Subscription, &self.policy, known)
    }

    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

// === RevokedToken ===

impl TryFrom<RevokedTokenDto<'_>> for RevokedToken {
    type Error = FieldError;

    /// A `jti` identifies the token when given; `signature` only for tokens without one.
    fn try_from(dto: RevokedTokenDto<'_>) -> Result<Self, FieldError> {
        let id = match (dto.jti, dto.signature) {
            (Some(jti), _) => RevokedId::Jti(required(Some(jti), "jti")?),
            (None, Some(signature)) => RevokedId::Signature(required(Some(signature), "signature")?),
            (None, None) => return Err(FieldError::entity(Problem::NoRevokedId)),
        };
        let expires_at = dto.expires_at.ok_or(FieldError::new("expiresAt", Problem::Missing))?;
        Ok(RevokedToken { id, expires_at })
    }
}

impl Entity for RevokedToken {
    const KIND: EntityKind = EntityKind::RevokedToken;
    type Dto<'de> = RevokedTokenDto<'de>;

    fn from_dto(dto: RevokedTokenDto<'_>) -> Result<Self, FieldError> {
        Self::try_from(dto)
    }

    fn key(&self) -> String {
        match &self.id {
            RevokedId::Jti(jti) => format!("jti:{jti}"),
            RevokedId::Signature(signature) => format!("signature:{signature}"),
        }
    }

    fn raw_key(raw: &Value) -> Option<String> {
        let jti = raw_str(raw, "jti").map(|jti| format!("jti:{jti}"));
        jti.or_else(|| raw_str(raw, "signature").map(|signature| format!("signature:{signature}")))
    }

    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

fn check_policy(kind: PolicyKind, name: &str, known: &dyn Fn(PolicyKind, &str) -> bool) -> Result<(), FieldError> {
    match known(kind, name) {
        true => Ok(()),
        false => Err(FieldError::new("policy", Problem::UnknownPolicy { kind: kind.as_str(), name: name.to_owned() })),
    }
}
