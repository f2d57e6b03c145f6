//! `Policy` → [`Policy`].

use std::num::NonZeroU32;
use std::time::Duration;

use serde_json::Value;
use tollgate_enforcer::model::{Policy, PolicyKind, PolicyName, Quota};

use super::error::{FieldError, Problem};
use super::text::{bounded, one_of, required};
use super::{Entity, raw_str};
use crate::dto::{LimitDto, PolicyDto};
use crate::rejected::EntityKind;

/// Upper bound of a limit's `unitTime`.
pub const MAX_UNIT_TIME: u64 = 1_000_000;

const KINDS: [(&str, PolicyKind); 3] =
    [("subscription", PolicyKind::Subscription), ("application", PolicyKind::Application), ("api", PolicyKind::Api)];
const TIME_UNITS: [(&str, u64); 4] = [("sec", 1), ("min", 60), ("hour", 3_600), ("day", 86_400)];

impl TryFrom<PolicyDto<'_>> for Policy {
    type Error = FieldError;

    /// Applies the `Policy` rules of model.md. A policy without `limit` is unlimited.
    fn try_from(dto: PolicyDto<'_>) -> Result<Self, FieldError> {
        let kind = required(dto.kind, "kind")?;
        let kind = policy_kind(&kind).map_err(FieldError::at("kind"))?;
        let name = required(dto.name, "name")?;
        if dto.burst.is_some() && kind != PolicyKind::Subscription {
            return Err(FieldError::new("burst", Problem::BurstNotAllowed));
        }
        Ok(Policy {
            id: PolicyName { kind, name },
            limit: dto.limit.map(quota).transpose().map_err(|e| e.within("limit"))?,
            burst: dto.burst.map(quota).transpose().map_err(|e| e.within("burst"))?,
            stop_on_quota_reach: dto.stop_on_quota_reach.unwrap_or(true),
        })
    }
}

impl Entity for Policy {
    const KIND: EntityKind = EntityKind::Policy;
    type Dto<'de> = PolicyDto<'de>;

    fn from_dto(dto: PolicyDto<'_>) -> Result<Self, FieldError> {
        Self::try_from(dto)
    }

    fn key(&self) -> String {
        policy_key(self.id.kind.as_str(), &self.id.name)
    }

    fn raw_key(raw: &Value) -> Option<String> {
        Some(policy_key(&raw_str(raw, "kind")?, &raw_str(raw, "name")?))
    }

    fn same(&self, other: &Self) -> bool {
        self == other
    }
}

/// `subscription/Gold`: how a policy is named in keys and messages.
pub(crate) fn policy_key(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

pub(crate) fn policy_kind(kind: &str) -> Result<PolicyKind, Problem> {
    one_of(kind, &KINDS, "subscription, application or api")
}

fn quota(dto: LimitDto<'_>) -> Result<Quota, FieldError> {
    let count = dto.request_count.ok_or(FieldError::new("requestCount", Problem::Missing))?;
    let count = u32::try_from(count).ok().and_then(NonZeroU32::new);
    let count = count.ok_or(FieldError::new("requestCount", Problem::OutOfRange { min: 1, max: u32::MAX.into() }))?;
    let unit_time = bounded(dto.unit_time.unwrap_or(1), 1, MAX_UNIT_TIME).map_err(FieldError::at("unitTime"))?;
    let unit = required(dto.time_unit, "timeUnit")?;
    let unit = one_of(&unit, &TIME_UNITS, "sec, min, hour or day").map_err(FieldError::at("timeUnit"))?;
    Ok(Quota { count, period: Duration::from_secs(unit_time * unit) })
}
