//! Applications, key mappings and subscriptions (INTERFACE.md §2.2, §6.2).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::dto::{ApplicationDto, KeyMappingDto, SubscriptionDto, Text};

/// `/applications` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub uuid: String,
    /// The int id events name; keep an index from it to `uuid`.
    #[serde(default)]
    pub id: Option<i64>,
    pub name: String,
    /// The owner.
    #[serde(default)]
    pub sub_name: Option<String>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub attributes: Option<BTreeMap<String, String>>,
}

/// `/application-key-mappings` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyMapping {
    #[serde(default)]
    pub application_id: Option<i64>,
    #[serde(rename = "applicationUUID")]
    pub application_uuid: String,
    pub consumer_key: String,
    pub key_type: String,
    /// The key manager's name.
    pub key_manager: String,
}

/// `/subscriptions` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    #[serde(rename = "subscriptionUUID")]
    pub subscription_uuid: String,
    #[serde(default)]
    pub subscription_id: Option<i64>,
    /// The tier name (`Gold`).
    pub policy_id: String,
    #[serde(rename = "apiUUID")]
    pub api_uuid: String,
    #[serde(rename = "applicationUUID")]
    pub application_uuid: String,
    pub subscription_state: String,
}

// === impl Application ===

impl Application {
    /// `tokenType`, `groupIds` and `organization` have no equivalent and are dropped.
    pub fn to_dto(&self) -> ApplicationDto<'static> {
        let attributes = self.attributes.iter().flatten().map(|(k, v)| (owned(k), owned(v))).collect();
        ApplicationDto {
            id: Some(owned(&self.uuid)),
            name: Some(owned(&self.name)),
            owner: self.sub_name.as_deref().map(owned),
            policy: self.policy.as_deref().filter(|p| !p.is_empty()).map(owned),
            attributes: Some(attributes),
        }
    }
}

// === impl KeyMapping ===

impl KeyMapping {
    pub fn to_dto(&self) -> KeyMappingDto<'static> {
        KeyMappingDto {
            application_id: Some(owned(&self.application_uuid)),
            consumer_key: Some(owned(&self.consumer_key)),
            key_type: Some(owned(&self.key_type)),
            key_manager: Some(owned(&self.key_manager)),
        }
    }
}

// === impl Subscription ===

impl Subscription {
    /// The statuses are the model's, one to one.
    pub fn to_dto(&self) -> SubscriptionDto<'static> {
        SubscriptionDto {
            id: Some(owned(&self.subscription_uuid)),
            api_id: Some(owned(&self.api_uuid)),
            application_id: Some(owned(&self.application_uuid)),
            policy: Some(owned(&self.policy_id)),
            status: Some(owned(&self.subscription_state)),
        }
    }
}

pub(super) fn owned(text: &str) -> Text<'static> {
    Text::Owned(text.to_owned())
}
