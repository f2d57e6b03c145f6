use std::sync::Arc;

use super::verified::VerifiedToken;
use crate::enforcement::Enforcement;
use crate::guard::ApiGuard;
use crate::model::{Application, KeyType, Subscription, SubscriptionStatus};
use crate::rejection::{NotSubscribed, Rejection};

/// What a verified token is entitled to on one API: decided from the request's snapshot on
/// every request (hash lookups only), never cached.
#[derive(Debug, Clone)]
pub(crate) struct Entitlement {
    pub(crate) key_type: KeyType,
    pub(crate) application: Option<Arc<Application>>,
    pub(crate) subscription: Option<Arc<Subscription>>,
}

// === impl Entitlement ===

impl Entitlement {
    /// With `validateSubscription`: consumer key → key mapping (of this key manager) →
    /// application → subscription to `api` → its status, the key type coming from the mapping.
    /// Without it, every token is entitled, as a `PRODUCTION` key with no application.
    ///
    /// Errors: [`Rejection::NotSubscribed`] for a missing link, [`Rejection::SubscriptionBlocked`]
    /// (`BLOCKED`, or `PROD_ONLY_BLOCKED` with a production key), [`Rejection::SubscriptionInactive`]
    /// (`ON_HOLD`, `REJECTED`).
    pub(crate) fn check(data: &Enforcement, api: &ApiGuard, token: &VerifiedToken) -> Result<Self, Rejection> {
        let key_manager = token.key_manager();
        if !key_manager.validate_subscription {
            return Ok(Entitlement { key_type: KeyType::Production, application: None, subscription: None });
        }
        let consumer_key = token.consumer_key().ok_or(NotSubscribed::NoConsumerKey)?;
        let mapping = data.key_mappings.get(&key_manager.name, consumer_key).ok_or(NotSubscribed::NoKeyMapping)?;
        let application = data.applications.get(&mapping.application_id).ok_or(NotSubscribed::NoApplication)?;
        let subscription = data.subscriptions.get(&api.id, &application.id).ok_or(NotSubscribed::NoSubscription)?;
        admit(subscription.status, mapping.key_type)?;
        Ok(Entitlement {
            key_type: mapping.key_type,
            application: Some(application.clone()),
            subscription: Some(subscription.clone()),
        })
    }
}

fn admit(status: SubscriptionStatus, key_type: KeyType) -> Result<(), Rejection> {
    match status {
        SubscriptionStatus::Unblocked | SubscriptionStatus::TierUpdatePending => Ok(()),
        SubscriptionStatus::Blocked => Err(Rejection::SubscriptionBlocked),
        SubscriptionStatus::ProdOnlyBlocked => match key_type {
            KeyType::Production => Err(Rejection::SubscriptionBlocked),
            KeyType::Sandbox => Ok(()),
        },
        SubscriptionStatus::OnHold | SubscriptionStatus::Rejected => Err(Rejection::SubscriptionInactive),
    }
}
