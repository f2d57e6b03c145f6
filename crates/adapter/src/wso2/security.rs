//! The one decision on a WSO2 API's security: which model `securitySchemes` it becomes, or
//! why it is refused.
//!
//! Today Tollgate serves OAuth2 (JWT bearer) only: the model's API-key and mutual-TLS fields
//! (`apiKeyHeader`, `clientCertificates`) are not in the DTOs yet. So an API whose clients
//! may or must use an API key, or must present a client certificate, is refused naming the
//! scheme; an API whose optional client certificate comes on top of a mandatory OAuth2
//! token is served with OAuth2 alone, which admits exactly the clients API-M admits.
//!
//! When the DTOs gain those fields, [`security_schemes`] becomes: refuse `basic_auth` and
//! unknown values, pass every other value through unchanged (model.md takes WSO2's values
//! as they are), and the callers fill `apiKeyHeader` and `clientCertificates`, which they
//! already have at hand ([`super::ApiProject::client_certificates`], `apiKeyHeader` in
//! `api.yaml` and `x-wso2-api-key-header`).

use super::refusal::Refusal;
use crate::dto::Text;

/// WSO2's security values (api.yaml `securityScheme`, or gathered from an OpenAPI document).
const OAUTH2: &str = "oauth2";
const API_KEY: &str = "api_key";
const BASIC_AUTH: &str = "basic_auth";
const MUTUAL_TLS: &str = "mutualssl";
const MUTUAL_TLS_MANDATORY: &str = "mutualssl_mandatory";
const APPLICATION_MANDATORY: &str = "oauth_basic_auth_api_key_mandatory";

/// The model's `securitySchemes` for WSO2's `securityScheme` values, or the refusal naming
/// the scheme Tollgate cannot enforce. An empty list is WSO2's default, OAuth2.
///
/// WSO2's rules: application-level schemes (`oauth2`, `api_key`, `basic_auth`) are
/// alternatives; they are mandatory when `oauth_basic_auth_api_key_mandatory` is set or when
/// there is no mutual TLS; `mutualssl` is mandatory with `mutualssl_mandatory`.
pub fn security_schemes(wso2: &[String]) -> Result<Vec<Text<'static>>, Refusal> {
    if let Some(unknown) = wso2.iter().find(|value| !is_known(value)) {
        return Err(Refusal::SecurityScheme(unknown.clone()));
    }
    let has = |value: &str| wso2.iter().any(|v| v == value);
    if has(BASIC_AUTH) {
        return Err(Refusal::SecurityScheme(BASIC_AUTH.to_owned()));
    }
    if has(API_KEY) {
        return Err(Refusal::SchemeNotServedYet(API_KEY));
    }
    let mutual_tls = has(MUTUAL_TLS) || has(MUTUAL_TLS_MANDATORY);
    let oauth2_mandatory = has(OAUTH2) && (has(APPLICATION_MANDATORY) || !mutual_tls);
    if mutual_tls && (has(MUTUAL_TLS_MANDATORY) || !oauth2_mandatory) {
        return Err(Refusal::SchemeNotServedYet(MUTUAL_TLS));
    }
    Ok(vec![Text::Borrowed(OAUTH2)])
}

fn is_known(value: &str) -> bool {
    [OAUTH2, API_KEY, BASIC_AUTH, MUTUAL_TLS, MUTUAL_TLS_MANDATORY, APPLICATION_MANDATORY].contains(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(values: &[&str]) -> Result<Vec<String>, Refusal> {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        security_schemes(&values).map(|schemes| schemes.into_iter().map(Text::into_owned).collect())
    }

    #[test]
    fn oauth2_alone_or_mandatory_is_served_as_oauth2() {
        assert_eq!(decide(&[]), Ok(vec!["oauth2".to_owned()]));
        assert_eq!(decide(&["oauth2"]), Ok(vec!["oauth2".to_owned()]));
        assert_eq!(decide(&["oauth2", APPLICATION_MANDATORY]), Ok(vec!["oauth2".to_owned()]));
    }

    #[test]
    fn an_optional_certificate_on_top_of_a_mandatory_token_is_served_as_oauth2() {
        assert_eq!(decide(&["oauth2", APPLICATION_MANDATORY, "mutualssl"]), Ok(vec!["oauth2".to_owned()]));
    }

    #[test]
    fn a_needed_certificate_or_an_api_key_is_refused_naming_the_scheme() {
        let mtls = Err(Refusal::SchemeNotServedYet("mutualssl"));
        assert_eq!(decide(&["mutualssl"]), mtls);
        assert_eq!(decide(&["oauth2", "mutualssl", "mutualssl_mandatory"]), mtls);
        assert_eq!(decide(&["oauth2", "mutualssl"]), mtls, "application security optional: a certificate suffices");
        assert_eq!(decide(&["api_key"]), Err(Refusal::SchemeNotServedYet("api_key")));
        assert_eq!(decide(&["oauth2", "api_key", APPLICATION_MANDATORY]), Err(Refusal::SchemeNotServedYet("api_key")));
    }

    #[test]
    fn basic_auth_and_unknown_schemes_are_refused() {
        assert_eq!(decide(&["oauth2", "basic_auth"]), Err(Refusal::SecurityScheme("basic_auth".to_owned())));
        assert_eq!(decide(&["oauth2", "digest"]), Err(Refusal::SecurityScheme("digest".to_owned())));
    }
}
