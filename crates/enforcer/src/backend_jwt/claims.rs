use serde::Serialize;

use crate::guard::ApiGuard;
use crate::model::KeyType;
use crate::principal::Principal;

/// The claims of a backend JWT (client.md, "Backend JWT"). The application claims are absent
/// when the principal has no application (a key manager without `validateSubscription`);
/// `tier` is the subscription's policy, else an accepted client certificate's (a certificate
/// alone), else absent.
#[derive(Debug, Serialize)]
pub(super) struct BackendClaims<'a> {
    pub(super) iss: &'a str,
    pub(super) iat: u64,
    pub(super) exp: u64,
    pub(super) jti: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub(super) sub: &'a str,
    #[serde(rename = "http://wso2.org/claims/apiname")]
    api_name: &'a str,
    #[serde(rename = "http://wso2.org/claims/version")]
    version: &'a str,
    #[serde(rename = "http://wso2.org/claims/apicontext")]
    api_context: &'a str,
    #[serde(rename = "http://wso2.org/claims/applicationid", skip_serializing_if = "Option::is_none")]
    application_id: Option<&'a str>,
    #[serde(rename = "http://wso2.org/claims/applicationname", skip_serializing_if = "Option::is_none")]
    application_name: Option<&'a str>,
    #[serde(rename = "http://wso2.org/claims/applicationtier", skip_serializing_if = "Option::is_none")]
    application_tier: Option<&'a str>,
    #[serde(rename = "http://wso2.org/claims/subscriber", skip_serializing_if = "Option::is_none")]
    subscriber: Option<&'a str>,
    #[serde(rename = "http://wso2.org/claims/tier", skip_serializing_if = "Option::is_none")]
    tier: Option<&'a str>,
    #[serde(rename = "http://wso2.org/claims/keytype")]
    key_type: &'static str,
    #[serde(rename = "http://wso2.org/claims/enduser", skip_serializing_if = "str::is_empty")]
    end_user: &'a str,
}

/// When and by whom a backend JWT is issued.
#[derive(Debug, Clone, Copy)]
pub(super) struct Issue<'a> {
    pub(super) issuer: &'a str,
    pub(super) issued_at: u64,
    pub(super) expires_at: u64,
    pub(super) jti: &'a str,
}

// === impl BackendClaims ===

impl<'a> BackendClaims<'a> {
    pub(super) fn new(issue: Issue<'a>, principal: &'a Principal, api: &'a ApiGuard) -> Self {
        let application = principal.application.as_deref();
        BackendClaims {
            iss: issue.issuer,
            iat: issue.issued_at,
            exp: issue.expires_at,
            jti: issue.jti,
            sub: &principal.subject,
            api_name: &api.name,
            version: &api.version,
            api_context: api_context(api),
            application_id: application.map(|app| &*app.id),
            application_name: application.map(|app| &*app.name),
            application_tier: application.map(|app| &*app.policy),
            subscriber: application.map(|app| &*app.owner),
            tier: tier(principal),
            key_type: key_type_name(principal.key_type),
            end_user: &principal.subject,
        }
    }
}

/// The versioned base path (WSO2's `apicontext`, e.g. `/pizzashack/1.0.0`): the first of the
/// Api's base paths.
pub(super) fn api_context(api: &ApiGuard) -> &str {
    api.base_paths.first().map_or("", |path| &**path)
}

fn tier(principal: &Principal) -> Option<&str> {
    let certificate = || principal.certificate.as_ref().map(|accepted| &*accepted.policy);
    principal.subscription.as_deref().map(|sub| &*sub.policy).or_else(certificate)
}

fn key_type_name(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::Production => "PRODUCTION",
        KeyType::Sandbox => "SANDBOX",
    }
}
