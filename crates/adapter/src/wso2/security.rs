//! The one decision on a WSO2 API's security: which model `securitySchemes` it becomes, with
//! the name API keys arrive under and the client certificates mutual TLS accepts, or why it
//! is refused.
//!
//! model.md takes WSO2's `securityScheme` values as they are (`oauth2`, `api_key`,
//! `mutualssl`, `mutualssl_mandatory`, `oauth_basic_auth_api_key_mandatory`), so they pass
//! through unchanged; `basic_auth` and unknown values refuse the API. The engine's validation
//! then decides what this version enforces (it names what it does not).

use super::api_yaml::ApiData;
use super::openapi::OpenApi;
use super::project::CertificateFile;
use super::refusal::Refusal;
use crate::dto::{ClientCertificateDto, Text};

/// WSO2's security values (api.yaml `securityScheme`, or gathered from an OpenAPI document).
const OAUTH2: &str = "oauth2";
const API_KEY: &str = "api_key";
const BASIC_AUTH: &str = "basic_auth";
const MUTUAL_TLS: &str = "mutualssl";
const MUTUAL_TLS_MANDATORY: &str = "mutualssl_mandatory";
const APPLICATION_MANDATORY: &str = "oauth_basic_auth_api_key_mandatory";
const KNOWN: [&str; 6] = [OAUTH2, API_KEY, BASIC_AUTH, MUTUAL_TLS, MUTUAL_TLS_MANDATORY, APPLICATION_MANDATORY];

/// An API's security in the model's terms: its schemes, the API-key name (when it takes API
/// keys under a name other than the default) and its client certificates (with mutual TLS).
#[derive(Debug, Clone, Default)]
pub(crate) struct Security {
    pub(crate) schemes: Vec<Text<'static>>,
    pub(crate) api_key_header: Option<Text<'static>>,
    pub(crate) client_certificates: Option<Vec<ClientCertificateDto<'static>>>,
}

/// The model's `securitySchemes` for WSO2's `securityScheme` values, in their order and
/// without repeats, or the refusal naming the scheme Tollgate cannot enforce. An empty list
/// is WSO2's default, OAuth2.
pub fn security_schemes(wso2: &[String]) -> Result<Vec<Text<'static>>, Refusal> {
    if let Some(unknown) = wso2.iter().find(|value| !KNOWN.contains(&value.as_str())) {
        return Err(Refusal::SecurityScheme(unknown.clone()));
    }
    if wso2.iter().any(|value| value == BASIC_AUTH) {
        return Err(Refusal::SecurityScheme(BASIC_AUTH.to_owned()));
    }
    let mut schemes: Vec<Text<'static>> = Vec::new();
    for known in KNOWN.into_iter().filter(|known| wso2.iter().any(|value| value == known)) {
        schemes.push(Text::Borrowed(known));
    }
    if schemes.is_empty() {
        schemes.push(Text::Borrowed(OAUTH2));
    }
    Ok(schemes)
}

// === impl Security ===

impl Security {
    /// An apictl project's or runtime artifact's security: api.yaml's `securityScheme` (else
    /// what the definition asks for) and api.yaml's `apiKeyHeader` (else the definition's).
    /// The client certificates come with [`Security::accept_certificates`].
    pub(crate) fn of_project(api: &ApiData, swagger: Option<&OpenApi>) -> Result<Self, Refusal> {
        let schemes = match (&api.security_scheme, swagger) {
            (Some(values), _) => security_schemes(values)?,
            (None, Some(swagger)) => security_schemes(&super::definition::security_values(swagger)?)?,
            (None, None) => security_schemes(&[])?,
        };
        let header = match api.api_key_header.as_deref().filter(|name| !name.is_empty()) {
            Some(name) => Some(name.to_owned()),
            None => swagger.map(super::definition::api_key_name).transpose()?.flatten(),
        };
        let mut security = Security { api_key_header: None, client_certificates: None, schemes };
        security.api_key_header = security.takes(API_KEY).then_some(header).flatten().map(Text::Owned);
        Ok(security)
    }

    /// With mutual TLS, the project's client certificates (`Client-certificates/`), each
    /// with its WSO2 tier as `policy`, and none is refused (no client could ever pass);
    /// without it they are not needed and are left out.
    pub(crate) fn accept_certificates(&mut self, certificates: &[CertificateFile]) -> Result<(), Refusal> {
        if !(self.takes(MUTUAL_TLS) || self.takes(MUTUAL_TLS_MANDATORY)) {
            return Ok(());
        }
        if certificates.is_empty() {
            return Err(Refusal::NoClientCertificates);
        }
        self.client_certificates = Some(certificates.iter().map(client_certificate).collect::<Result<_, _>>()?);
        Ok(())
    }

    /// An OpenAPI document's security alone. Mutual TLS is refused: a document carries no
    /// client certificates (an apictl project's `Client-certificates/` does).
    pub(crate) fn of_openapi(doc: &OpenApi) -> Result<Self, Refusal> {
        let schemes = security_schemes(&super::definition::security_values(doc)?)?;
        let mut security = Security { schemes, ..Security::default() };
        if security.takes(MUTUAL_TLS) || security.takes(MUTUAL_TLS_MANDATORY) {
            return Err(Refusal::ClientCertificatesOutsideProject);
        }
        if security.takes(API_KEY) {
            security.api_key_header = super::definition::api_key_name(doc)?.map(Text::Owned);
        }
        Ok(security)
    }

    fn takes(&self, scheme: &str) -> bool {
        self.schemes.iter().any(|taken| taken == scheme)
    }
}

/// One `client_certificates.json` entry with its PEM; an entry whose `.crt` file the
/// project does not hold is refused (it would accept no certificate: never silently).
fn client_certificate(file: &CertificateFile) -> Result<ClientCertificateDto<'static>, Refusal> {
    let alias = file.entry.alias.clone();
    let pem = file.pem.clone().ok_or_else(|| Refusal::ClientCertificateFile(alias.clone()))?;
    let policy = file.entry.tier_name.clone().filter(|tier| !tier.is_empty());
    Ok(ClientCertificateDto {
        alias: Some(Text::Owned(alias)),
        certificate: Some(Text::Owned(pem)),
        policy: policy.map(Text::Owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(values: &[&str]) -> Result<Vec<String>, Refusal> {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        security_schemes(&values).map(|schemes| schemes.into_iter().map(Text::into_owned).collect())
    }

    fn owned(values: &[&str]) -> Result<Vec<String>, Refusal> {
        Ok(values.iter().map(|v| (*v).to_owned()).collect())
    }

    #[test]
    fn no_value_is_oauth2() {
        assert_eq!(decide(&[]), owned(&["oauth2"]));
    }

    #[test]
    fn api_keys_and_mutual_tls_carry_over_as_they_are_without_repeats() {
        assert_eq!(decide(&["api_key"]), owned(&["api_key"]));
        assert_eq!(decide(&["api_key", "oauth2", "api_key"]), owned(&["oauth2", "api_key"]));
        let all = ["oauth2", "api_key", "mutualssl", "mutualssl_mandatory", APPLICATION_MANDATORY];
        assert_eq!(decide(&all), owned(&all));
        assert_eq!(decide(&["mutualssl"]), owned(&["mutualssl"]));
    }

    #[test]
    fn basic_auth_and_unknown_schemes_are_refused() {
        assert_eq!(decide(&["oauth2", "basic_auth"]), Err(Refusal::SecurityScheme("basic_auth".to_owned())));
        assert_eq!(decide(&["oauth2", "digest"]), Err(Refusal::SecurityScheme("digest".to_owned())));
    }

    #[test]
    fn a_client_certificate_without_its_file_is_refused_and_its_tier_becomes_its_policy() {
        let entry = |tier: &str| super::super::api_yaml::CertificateEntry {
            alias: "c1".into(),
            certificate: Some("c1.crt".into()),
            tier_name: Some(tier.into()),
            endpoint: None,
        };
        let missing = CertificateFile { entry: entry("Gold"), pem: None };
        assert_eq!(client_certificate(&missing).err(), Some(Refusal::ClientCertificateFile("c1".into())));
        let present = CertificateFile { entry: entry("Gold"), pem: Some("PEM".into()) };
        let dto = client_certificate(&present).unwrap_or_default();
        assert_eq!((dto.certificate.as_deref(), dto.policy.as_deref()), (Some("PEM"), Some("Gold")));
        let untiered = CertificateFile { entry: entry(""), pem: Some("PEM".into()) };
        assert_eq!(client_certificate(&untiered).unwrap_or_default().policy, None, "no tier: Unlimited");
    }
}
