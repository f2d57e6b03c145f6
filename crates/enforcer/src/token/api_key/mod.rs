//! WSO2 API keys (client.md, "Credentials (securitySchemes api_key)"): the claims API-M puts in
//! the keys it signs, read once when a key is verified, and the per-request decision they make
//! for one Api.
//!
//! The key's signature, algorithm, expiry and revocation go through the same authenticator,
//! key stores and caches as bearer tokens; this module only adds what an API key says beyond
//! a token: the APIs it is subscribed to, from where and for which referrers it may be used,
//! its application and key type.

mod permitted;

use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderValue;
use serde::Deserialize;
use serde_json::Value;

pub use self::permitted::{PermittedIps, PermittedReferers};
use super::claims::Claims;
use crate::enforcement::Policies;
use crate::guard::ApiGuard;
use crate::model::{Application, KeyType, Policy, PolicyKind, Subscription, SubscriptionStatus};
use crate::rejection::{NotSubscribed, Rejection, TokenError};

/// What a verified API key grants, parsed from its claims once (then cached with the key).
#[derive(Debug)]
pub struct ApiKeyGrant {
    /// The `application` claim; its `tier` is the application policy.
    pub application: Arc<Application>,
    /// `keytype`, `PRODUCTION` when absent.
    pub key_type: KeyType,
    subscribed: Box<[SubscribedApi]>,
    permitted_ips: PermittedIps,
    permitted_referers: PermittedReferers,
}

/// One `subscribedAPIs` entry, with the subscription it stands for (its `subscriptionTier`
/// is the subscription policy).
#[derive(Debug)]
struct SubscribedApi {
    name: Option<Box<str>>,
    version: Option<Box<str>>,
    context: Option<Box<str>>,
    subscription: Arc<Subscription>,
}

#[derive(Deserialize)]
struct ApplicationClaim {
    uuid: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    tier: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribedApiClaim {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    subscription_tier: Option<String>,
}

// === impl ApiKeyGrant ===

impl ApiKeyGrant {
    /// Reads the API-M claims of a verified key. Every shape error is
    /// [`TokenError::MalformedClaims`] (401 900901): `application` not an object with a string
    /// `uuid`, `subscribedAPIs` absent or not a list of objects, `keytype` neither
    /// `PRODUCTION` nor `SANDBOX`, `permittedIP`/`permittedReferer` not strings or with an
    /// unparsable entry.
    pub fn from_claims(claims: &Claims) -> Result<Self, TokenError> {
        let application = application(claims.get("application"))?;
        let subscribed = subscribed(claims.get("subscribedAPIs"), &application.id)?;
        Ok(ApiKeyGrant {
            key_type: key_type(claims.get("keytype"))?,
            permitted_ips: PermittedIps::parse(optional_text(claims.get("permittedIP"))?)?,
            permitted_referers: PermittedReferers::parse(optional_text(claims.get("permittedReferer"))?),
            application: Arc::new(application),
            subscribed,
        })
    }

    /// The key's subscription to `api`, when the key may be used on it from `client_ip` with
    /// `referer`: [`NotSubscribed`] (403 900908) otherwise.
    pub fn admit(
        &self,
        api: &ApiGuard,
        client_ip: IpAddr,
        referer: Option<&HeaderValue>,
    ) -> Result<&Arc<Subscription>, Rejection> {
        let entry = self.subscribed.iter().find(|entry| entry.names(api)).ok_or(NotSubscribed::ApiNotInKey)?;
        if !self.permitted_ips.contains(client_ip) {
            return Err(NotSubscribed::IpNotPermitted.into());
        }
        if !self.permitted_referers.admit(referer) {
            return Err(NotSubscribed::RefererNotPermitted.into());
        }
        Ok(&entry.subscription)
    }

    /// [`NotSubscribed::UnknownPolicy`] (403 900908) when `subscription`'s tier or the
    /// application's tier names no policy in `policies`: API-M's key says how it is limited,
    /// and counting it as Unlimited would serve it with less limiting than asked.
    pub fn check_policies(&self, subscription: &Subscription, policies: &Policies) -> Result<(), Rejection> {
        let known = policies.get(PolicyKind::Subscription, &subscription.policy).is_some()
            && policies.get(PolicyKind::Application, &self.application.policy).is_some();
        match known {
            true => Ok(()),
            false => Err(NotSubscribed::UnknownPolicy.into()),
        }
    }
}

// === impl SubscribedApi ===

impl SubscribedApi {
    /// The entry with a subscription whose id is unique per (application, API), so that every
    /// key of one application shares the subscription's rate-limit counter on one API.
    fn new(claim: SubscribedApiClaim, application: &Arc<str>) -> Self {
        let api = match (&claim.name, &claim.version, &claim.context) {
            (Some(name), Some(version), _) => format!("{}.{name}:{version}", name.len()),
            (_, _, context) => format!("context:{}", context.as_deref().unwrap_or_default()),
        };
        let subscription = Subscription {
            id: format!("api-key:{}.{application}:{api}", application.len()).into(),
            // An API key names APIs by name, version and context, not by id.
            api_id: Arc::from(""),
            application_id: application.clone(),
            policy: claim.subscription_tier.as_deref().unwrap_or(Policy::UNLIMITED).into(),
            status: SubscriptionStatus::Unblocked,
        };
        SubscribedApi {
            name: claim.name.map(String::into_boxed_str),
            version: claim.version.map(String::into_boxed_str),
            context: claim.context.map(String::into_boxed_str),
            subscription: Arc::new(subscription),
        }
    }

    /// Whether this entry names `api`: the same name and version, or a context equal to one
    /// of the Api's base paths (API-M writes the versioned context).
    fn names(&self, api: &ApiGuard) -> bool {
        let same_name = self.name.as_deref() == Some(&*api.name) && self.version.as_deref() == Some(&*api.version);
        same_name || self.context.as_deref().is_some_and(|context| api.base_paths.iter().any(|p| **p == *context))
    }
}

fn application(claim: Option<&Value>) -> Result<Application, TokenError> {
    let claim = ApplicationClaim::deserialize(claim.ok_or(TokenError::MalformedClaims)?)
        .map_err(|_| TokenError::MalformedClaims)?;
    if claim.uuid.is_empty() {
        return Err(TokenError::MalformedClaims);
    }
    Ok(Application {
        id_header: Application::header_value(&claim.uuid),
        name_header: Application::header_value(&claim.name),
        id: claim.uuid.into(),
        name: claim.name.into(),
        owner: claim.owner.into(),
        policy: claim.tier.as_deref().unwrap_or(Policy::UNLIMITED).into(),
        attributes: Default::default(),
    })
}

/// The `subscribedAPIs` entries, each with its subscription.
fn subscribed(claim: Option<&Value>, application: &Arc<str>) -> Result<Box<[SubscribedApi]>, TokenError> {
    let claims = Vec::<SubscribedApiClaim>::deserialize(claim.ok_or(TokenError::MalformedClaims)?)
        .map_err(|_| TokenError::MalformedClaims)?;
    Ok(claims.into_iter().map(|claim| SubscribedApi::new(claim, application)).collect())
}

fn key_type(claim: Option<&Value>) -> Result<KeyType, TokenError> {
    match claim.map(|value| value.as_str()) {
        None => Ok(KeyType::Production),
        Some(Some("PRODUCTION")) => Ok(KeyType::Production),
        Some(Some("SANDBOX")) => Ok(KeyType::Sandbox),
        Some(_) => Err(TokenError::MalformedClaims),
    }
}

/// A string claim; absent or JSON `null` is empty, another type is malformed.
fn optional_text(claim: Option<&Value>) -> Result<&str, TokenError> {
    match claim {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(TokenError::MalformedClaims),
    }
}

#[cfg(test)]
mod tests;
