use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Text;

/// An `Application`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationDto<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    #[serde(borrow)]
    pub owner: Option<Text<'a>>,
    #[serde(borrow)]
    pub policy: Option<Text<'a>>,
    #[serde(borrow)]
    pub attributes: Option<BTreeMap<Text<'a>, Text<'a>>>,
}

/// A `KeyMapping`; also the payload of `KEY_MAPPING_DELETED` (only the key fields).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyMappingDto<'a> {
    #[serde(borrow)]
    pub application_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub consumer_key: Option<Text<'a>>,
    #[serde(borrow)]
    pub key_type: Option<Text<'a>>,
    #[serde(borrow)]
    pub key_manager: Option<Text<'a>>,
}

/// A `Subscription`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionDto<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub api_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub application_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub policy: Option<Text<'a>>,
    #[serde(borrow)]
    pub status: Option<Text<'a>>,
}

/// A `Policy`; also the payload of `POLICY_DELETED` (only `kind` and `name`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicyDto<'a> {
    #[serde(borrow)]
    pub kind: Option<Text<'a>>,
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    #[serde(borrow)]
    pub limit: Option<LimitDto<'a>>,
    #[serde(borrow)]
    pub burst: Option<LimitDto<'a>>,
    pub stop_on_quota_reach: Option<bool>,
}

/// A policy's `limit` or `burst`: `requestCount` per `unitTime` `timeUnit`s (unitTime
/// defaults to 1).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LimitDto<'a> {
    pub request_count: Option<u64>,
    pub unit_time: Option<u64>,
    #[serde(borrow)]
    pub time_unit: Option<Text<'a>>,
}

/// A `KeyManager`; also the payload of `KEY_MANAGER_DELETED` (only `name`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyManagerDto<'a> {
    #[serde(borrow)]
    pub name: Option<Text<'a>>,
    #[serde(borrow)]
    pub issuer: Option<Text<'a>>,
    #[serde(borrow)]
    pub jwks_url: Option<Text<'a>>,
    #[serde(borrow)]
    pub certificate: Option<Text<'a>>,
    #[serde(borrow)]
    pub audiences: Option<Vec<Text<'a>>>,
    #[serde(borrow)]
    pub consumer_key_claim: Option<Text<'a>>,
    #[serde(borrow)]
    pub scopes_claim: Option<Text<'a>>,
    pub validate_subscription: Option<bool>,
    pub enabled: Option<bool>,
    #[serde(borrow)]
    pub algorithms: Option<Vec<Text<'a>>>,
    pub clock_skew_seconds: Option<u64>,
}

/// A `RevokedToken`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RevokedTokenDto<'a> {
    #[serde(borrow)]
    pub jti: Option<Text<'a>>,
    #[serde(borrow)]
    pub signature: Option<Text<'a>>,
    pub expires_at: Option<u64>,
}

/// The payload of the `*_DELETED` / `API_UNDEPLOYED` events that name an entity by `id`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct IdDto<'a> {
    #[serde(borrow)]
    pub id: Option<Text<'a>>,
}
