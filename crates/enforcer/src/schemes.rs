/// The Api's `securitySchemes` (model.md), as the enforcer decides with them.
///
/// The default is `["oauth2"]`: bearer tokens only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecuritySchemes {
    /// `oauth2`: a bearer JWT in the Api's `authorizationHeader`.
    pub oauth2: bool,
    /// `api_key`: a WSO2 API key in the `apiKeyHeader` header or query parameter.
    pub api_key: bool,
}

/// One known `securitySchemes` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityScheme {
    OAuth2,
    ApiKey,
    /// `oauth_basic_auth_api_key_mandatory`: the application-level credential is required.
    /// Without a transport-level scheme it is already, so it changes nothing on its own.
    ApplicationMandatory,
}

// === impl SecuritySchemes ===

impl SecuritySchemes {
    /// No scheme at all; see [`SecuritySchemes::with`].
    pub const NONE: SecuritySchemes = SecuritySchemes { oauth2: false, api_key: false };

    /// These schemes plus `scheme`.
    pub fn with(self, scheme: SecurityScheme) -> Self {
        match scheme {
            SecurityScheme::OAuth2 => SecuritySchemes { oauth2: true, ..self },
            SecurityScheme::ApiKey => SecuritySchemes { api_key: true, ..self },
            SecurityScheme::ApplicationMandatory => self,
        }
    }

    /// Whether some credential scheme is set (a request can pass at all).
    pub fn accepts_any(self) -> bool {
        self.oauth2 || self.api_key
    }
}

impl Default for SecuritySchemes {
    /// `["oauth2"]`, the model's default.
    fn default() -> Self {
        SecuritySchemes { oauth2: true, api_key: false }
    }
}

// === impl SecurityScheme ===

impl SecurityScheme {
    /// The scheme of a `securitySchemes` value, exactly as WSO2 spells it; `None` for a value
    /// this version does not enforce.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "oauth2" => Some(SecurityScheme::OAuth2),
            "api_key" => Some(SecurityScheme::ApiKey),
            "oauth_basic_auth_api_key_mandatory" => Some(SecurityScheme::ApplicationMandatory),
            _ => None,
        }
    }
}
