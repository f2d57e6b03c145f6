//! Subscription, application and API policies (INTERFACE.md §2.3, §6.2). Only request-count
//! quotas have an equivalent; the limit is `defaultLimit.requestCount`.

use serde::Deserialize;
use tracing::warn;

use super::DataError;
use super::application::owned;
use crate::dto::{LimitDto, PolicyDto, Text};

/// `/subscription-policies` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionPolicy {
    pub name: String,
    pub default_limit: ThrottleLimit,
    /// Spike arrest: 0 / "" for none.
    #[serde(default)]
    pub rate_limit_count: Option<u64>,
    #[serde(default)]
    pub rate_limit_time_unit: Option<String>,
    #[serde(default)]
    pub stop_on_quota_reach: Option<bool>,
}

/// `/application-policies` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationPolicy {
    pub name: String,
    pub default_limit: ThrottleLimit,
}

/// `/api-policies` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiPolicy {
    pub name: String,
    pub default_limit: ThrottleLimit,
    #[serde(default)]
    pub condition_groups: Option<Vec<serde_json::Value>>,
}

/// `defaultLimit`: only the member named by `quotaType` is set.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleLimit {
    pub quota_type: String,
    #[serde(default)]
    pub request_count: Option<RequestCount>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCount {
    pub time_unit: String,
    #[serde(default)]
    pub unit_time: Option<u64>,
    pub request_count: u64,
}

const REQUEST_COUNT: &str = "requestCount";

// === impl SubscriptionPolicy ===

impl SubscriptionPolicy {
    /// `burst` ← `rateLimitCount` per one `rateLimitTimeUnit` when both are set.
    pub fn to_dto(&self) -> Result<PolicyDto<'static>, DataError> {
        let limit = self.default_limit.limit("subscription policy", &self.name)?;
        let burst = match (self.rate_limit_count.filter(|n| *n > 0), self.rate_limit_time_unit.as_deref()) {
            (Some(count), Some(unit)) if !unit.is_empty() => {
                Some(LimitDto { request_count: Some(count), unit_time: Some(1), time_unit: Some(owned(unit)) })
            }
            _ => None,
        };
        Ok(PolicyDto {
            burst,
            stop_on_quota_reach: self.stop_on_quota_reach,
            ..policy("subscription", &self.name, limit)
        })
    }
}

// === impl ApplicationPolicy ===

impl ApplicationPolicy {
    /// The newest `burstLimit` has no equivalent (burst is for subscriptions only) and is
    /// not read.
    pub fn to_dto(&self) -> Result<PolicyDto<'static>, DataError> {
        Ok(policy("application", &self.name, self.default_limit.limit("application policy", &self.name)?))
    }
}

// === impl ApiPolicy ===

impl ApiPolicy {
    /// Condition groups (header, query, IP, claim conditions) have no equivalent: the
    /// default limit applies to every request, and a warning says so.
    pub fn to_dto(&self) -> Result<PolicyDto<'static>, DataError> {
        let limit = self.default_limit.limit("api policy", &self.name)?;
        if self.condition_groups.as_ref().is_some_and(|groups| !groups.is_empty()) {
            warn!(policy = %self.name, "WSO2 API policy condition groups are not supported; its default limit applies to every request");
        }
        Ok(policy("api", &self.name, limit))
    }
}

// === impl ThrottleLimit ===

impl ThrottleLimit {
    fn limit(&self, resource: &'static str, name: &str) -> Result<LimitDto<'static>, DataError> {
        if self.quota_type != REQUEST_COUNT {
            let feature = format!("quota type {}", self.quota_type);
            return Err(DataError::Unsupported { resource, name: name.to_owned(), feature });
        }
        let missing = || DataError::Missing { resource, name: name.to_owned(), field: "defaultLimit.requestCount" };
        let count = self.request_count.as_ref().ok_or_else(missing)?;
        Ok(LimitDto {
            request_count: Some(count.request_count),
            unit_time: count.unit_time,
            time_unit: Some(owned(&count.time_unit)),
        })
    }
}

fn policy(kind: &'static str, name: &str, limit: LimitDto<'static>) -> PolicyDto<'static> {
    PolicyDto {
        kind: Some(Text::Borrowed(kind)),
        name: Some(owned(name)),
        limit: Some(limit),
        burst: None,
        stop_on_quota_reach: None,
    }
}
