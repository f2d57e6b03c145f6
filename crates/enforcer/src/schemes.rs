/// The Api's `securitySchemes` (model.md), as the enforcer decides with them (client.md,
/// "Combining schemes").
///
/// The default is `["oauth2"]`: bearer tokens only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecuritySchemes {
    /// `oauth2`: a bearer JWT in the Api's `authorizationHeader`.
    pub oauth2: bool,
    /// `api_key`: a WSO2 API key in the `apiKeyHeader` header or query parameter.
    pub api_key: bool,
    /// `mutualssl`: a TLS client certificate the Api lists (`clientCertificates`).
    pub mutual_tls: bool,
    /// `mutualssl_mandatory`: the certificate is required even when an application-level
    /// scheme is listed too.
    pub mutual_tls_mandatory: bool,
    /// `oauth_basic_auth_api_key_mandatory`: the application-level credential is required even
    /// when `mutualssl` is listed too.
    pub application_mandatory: bool,
}

/// One known `securitySchemes` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityScheme {
    OAuth2,
    ApiKey,
    MutualTls,
    /// `mutualssl_mandatory`; implies `mutualssl` (never less security than asked).
    MutualTlsMandatory,
    /// `oauth_basic_auth_api_key_mandatory`: the application-level credential is required.
    /// Without a transport-level scheme it is already, so it changes nothing on its own.
    ApplicationMandatory,
}

/// What a request must present under an Api's schemes, once the mandatory flags are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// Only an application-level credential (bearer token or API key) counts.
    Application,
    /// Only a client certificate counts.
    Certificate,
    /// Either passes: the application-level credential when presented, else the certificate.
    Either,
    /// The certificate, plus the application-level credential when presented.
    CertificateThenApplication,
    /// Both are required.
    Both,
}

// === impl SecuritySchemes ===

impl SecuritySchemes {
    /// No scheme at all; see [`SecuritySchemes::with`].
    pub const NONE: SecuritySchemes = SecuritySchemes {
        oauth2: false,
        api_key: false,
        mutual_tls: false,
        mutual_tls_mandatory: false,
        application_mandatory: false,
    };

    /// `oauth2` and `api_key`, nothing else.
    pub const BEARER_AND_API_KEY: SecuritySchemes = SecuritySchemes { oauth2: true, api_key: true, ..Self::NONE };

    /// `api_key` alone.
    pub const API_KEY: SecuritySchemes = SecuritySchemes { api_key: true, ..Self::NONE };

    /// These schemes plus `scheme`.
    pub fn with(self, scheme: SecurityScheme) -> Self {
        match scheme {
            SecurityScheme::OAuth2 => SecuritySchemes { oauth2: true, ..self },
            SecurityScheme::ApiKey => SecuritySchemes { api_key: true, ..self },
            SecurityScheme::MutualTls => SecuritySchemes { mutual_tls: true, ..self },
            SecurityScheme::MutualTlsMandatory => {
                SecuritySchemes { mutual_tls: true, mutual_tls_mandatory: true, ..self }
            }
            SecurityScheme::ApplicationMandatory => SecuritySchemes { application_mandatory: true, ..self },
        }
    }

    /// Whether some credential scheme is set (a request can pass at all).
    pub fn accepts_any(self) -> bool {
        self.application_level() || self.mutual_tls
    }

    /// Whether an application-level scheme (`oauth2`, `api_key`) is listed.
    pub fn application_level(self) -> bool {
        self.oauth2 || self.api_key
    }

    /// The row of client.md's "Combining schemes" table these schemes fall in.
    pub(crate) fn requirement(self) -> Requirement {
        match (self.application_level(), self.mutual_tls) {
            (true, false) | (false, false) => Requirement::Application,
            (false, true) => Requirement::Certificate,
            (true, true) => match (self.mutual_tls_mandatory, self.application_mandatory) {
                (false, false) => Requirement::Either,
                (true, false) => Requirement::CertificateThenApplication,
                (false, true) => Requirement::Application,
                (true, true) => Requirement::Both,
            },
        }
    }
}

impl Default for SecuritySchemes {
    /// `["oauth2"]`, the model's default.
    fn default() -> Self {
        SecuritySchemes { oauth2: true, ..SecuritySchemes::NONE }
    }
}

// === impl SecurityScheme ===

impl SecurityScheme {
    /// The scheme of a `securitySchemes` value, exactly as WSO2 spells it; `None` for a value
    /// this version does not know.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "oauth2" => Some(SecurityScheme::OAuth2),
            "api_key" => Some(SecurityScheme::ApiKey),
            "mutualssl" => Some(SecurityScheme::MutualTls),
            "mutualssl_mandatory" => Some(SecurityScheme::MutualTlsMandatory),
            "oauth_basic_auth_api_key_mandatory" => Some(SecurityScheme::ApplicationMandatory),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schemes(names: &[&str]) -> SecuritySchemes {
        let known = names.iter().filter_map(|name| SecurityScheme::from_name(name));
        known.fold(SecuritySchemes::NONE, SecuritySchemes::with)
    }

    #[test]
    fn each_row_of_the_combining_table() {
        let rows = [
            (&["oauth2"][..], Requirement::Application),
            (&["api_key", "oauth_basic_auth_api_key_mandatory"], Requirement::Application),
            (&["mutualssl"], Requirement::Certificate),
            (&["mutualssl_mandatory"], Requirement::Certificate),
            (&["mutualssl", "oauth2"], Requirement::Either),
            (&["mutualssl", "api_key", "mutualssl_mandatory"], Requirement::CertificateThenApplication),
            (&["mutualssl", "oauth2", "oauth_basic_auth_api_key_mandatory"], Requirement::Application),
            (&["mutualssl", "oauth2", "mutualssl_mandatory", "oauth_basic_auth_api_key_mandatory"], Requirement::Both),
        ];
        for (names, requirement) in rows {
            assert_eq!(schemes(names).requirement(), requirement, "{names:?}");
        }
    }

    #[test]
    fn mutualssl_mandatory_implies_mutualssl() {
        assert!(schemes(&["mutualssl_mandatory"]).mutual_tls);
        assert!(schemes(&["mutualssl_mandatory"]).accepts_any());
        assert!(!schemes(&["oauth_basic_auth_api_key_mandatory"]).accepts_any());
    }
}
