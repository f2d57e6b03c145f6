//! A small builder for the file-source YAML of the auth tests: APIs, a key manager,
//! applications with one key each, subscriptions and revoked tokens.

use std::fmt::Write;

use tollgate_tests::{ApiManager, Issuer, Upstream, now};

/// The name of the key manager every application's key belongs to.
pub(super) const KM: &str = "km";

/// One file-source document, built entity by entity and rendered with [`Catalog::yaml`].
#[derive(Default)]
pub(crate) struct Catalog {
    apis: Vec<ApiSpec>,
    key_managers: Vec<String>,
    applications: Vec<String>,
    key_mappings: Vec<String>,
    subscriptions: Vec<String>,
    revoked: Vec<String>,
    policies: Vec<String>,
}

/// An API named `id`, version `"1"`, served at `/{id}/1`, with GET operations.
pub(super) struct ApiSpec {
    id: String,
    production: Option<String>,
    sandbox: Option<String>,
    fields: Vec<String>,
    operations: Vec<String>,
}

/// A key's type, as the key mapping states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyType {
    Production,
    Sandbox,
}

// === impl Catalog ===

impl Catalog {
    pub(super) fn new() -> Self {
        Catalog::default()
    }

    /// The simplest secured setup: the key manager for `issuer`, API `pets` with `GET /items`
    /// to `up`, and application `app` (production key `consumer_key`) subscribed to it.
    pub(crate) fn one_subscriber(issuer: &Issuer, up: &Upstream, app: &str, consumer_key: &str) -> Self {
        Catalog::new()
            .key_manager(issuer, "")
            .api(ApiSpec::new("pets", up).get("/items", &[]))
            .application(app, consumer_key, KeyType::Production)
            .subscription("pets", app, "UNBLOCKED")
    }

    /// The key manager [`KM`] for `issuer`, plus extra YAML fields (e.g. `audiences: [pets]`).
    pub(super) fn key_manager(mut self, issuer: &Issuer, extra: &str) -> Self {
        let yaml = issuer.key_manager_yaml(KM, extra);
        self.key_managers.push(yaml.trim_start_matches("keyManagers:\n").to_owned());
        self
    }

    /// A key manager `name` for the API keys `apim` signs (its public key as `certificate`).
    pub(super) fn api_manager(mut self, apim: &ApiManager, name: &str) -> Self {
        let yaml = apim.key_manager_yaml(name);
        self.key_managers.push(yaml.trim_start_matches("keyManagers:\n").to_owned());
        self
    }

    /// A rate-limit policy of `kind` named `name`: `count` requests per minute.
    pub(super) fn policy(mut self, kind: &str, name: &str, count: u32) -> Self {
        self.policies.push(format!(
            "  - {{kind: {kind}, name: {name}, limit: {{requestCount: {count}, unitTime: 1, timeUnit: min}}}}\n"
        ));
        self
    }

    pub(super) fn api(mut self, api: ApiSpec) -> Self {
        self.apis.push(api);
        self
    }

    /// An application `id` (named `id` too) whose key `consumer_key` at [`KM`] is of `key_type`.
    pub(super) fn application(mut self, id: &str, consumer_key: &str, key_type: KeyType) -> Self {
        let key_type = match key_type {
            KeyType::Production => "PRODUCTION",
            KeyType::Sandbox => "SANDBOX",
        };
        self.applications.push(format!("  - {{id: {id}, name: {id}}}\n"));
        self.key_mappings.push(format!(
            "  - {{applicationId: {id}, consumerKey: {consumer_key}, keyType: {key_type}, keyManager: {KM}}}\n"
        ));
        self
    }

    /// A subscription of `application` to `api` with `status` (`UNBLOCKED`, `BLOCKED`, ...).
    pub(super) fn subscription(mut self, api: &str, application: &str, status: &str) -> Self {
        let id = format!("{api}-{application}");
        self.subscriptions
            .push(format!("  - {{id: {id}, apiId: {api}, applicationId: {application}, status: {status}}}\n"));
        self
    }

    /// Revokes the tokens with this `jti` for the next hour.
    pub(super) fn revoked_jti(mut self, jti: &str) -> Self {
        self.revoked.push(format!("  - {{jti: {jti}, expiresAt: {}}}\n", now() + 3600));
        self
    }

    /// Revokes the token (without `jti`) whose third part is `signature`, for the next hour.
    pub(super) fn revoked_signature(mut self, signature: &str) -> Self {
        self.revoked.push(format!("  - {{signature: \"{signature}\", expiresAt: {}}}\n", now() + 3600));
        self
    }

    /// The YAML document (only the sections that have entries).
    pub(crate) fn yaml(&self) -> String {
        let mut yaml = String::new();
        if !self.apis.is_empty() {
            yaml.push_str("apis:\n");
            self.apis.iter().for_each(|api| api.render(&mut yaml));
        }
        for (section, entries) in [
            ("keyManagers", &self.key_managers),
            ("applications", &self.applications),
            ("keyMappings", &self.key_mappings),
            ("subscriptions", &self.subscriptions),
            ("revokedTokens", &self.revoked),
            ("policies", &self.policies),
        ] {
            if !entries.is_empty() {
                let _ = writeln!(yaml, "{section}:");
                entries.iter().for_each(|entry| yaml.push_str(entry));
            }
        }
        yaml
    }
}

// === impl ApiSpec ===

impl ApiSpec {
    /// An API whose production endpoint is `production`.
    pub(super) fn new(id: &str, production: &Upstream) -> Self {
        ApiSpec {
            id: id.into(),
            production: Some(production.url()),
            sandbox: None,
            fields: Vec::new(),
            operations: Vec::new(),
        }
    }

    /// Also a sandbox endpoint.
    pub(super) fn sandbox(mut self, sandbox: &Upstream) -> Self {
        self.sandbox = Some(sandbox.url());
        self
    }

    /// `lifecycleState: BLOCKED`.
    pub(super) fn blocked(self) -> Self {
        self.field("lifecycleState: BLOCKED")
    }

    /// The credential comes in this header instead of `Authorization`.
    pub(super) fn authorization_header(self, name: &str) -> Self {
        self.field(&format!("authorizationHeader: {name}"))
    }

    /// `securitySchemes: [..]`, e.g. `&["oauth2", "api_key"]`.
    pub(super) fn schemes(self, schemes: &[&str]) -> Self {
        self.field(&format!("securitySchemes: [{}]", schemes.join(", ")))
    }

    /// `clientCertificates`: each `(alias, PEM, policy)`.
    pub(super) fn client_certificates(self, entries: &[(&str, &str, Option<&str>)]) -> Self {
        let entries: Vec<String> = entries
            .iter()
            .map(|(alias, pem, policy)| {
                let policy = policy.map(|policy| format!(", policy: {policy}")).unwrap_or_default();
                // A JSON string is a YAML double-quoted scalar: the PEM's newlines stay escaped.
                format!("{{alias: {alias}, certificate: {}{policy}}}", serde_json::to_string(pem).unwrap())
            })
            .collect();
        self.field(&format!("clientCertificates: [{}]", entries.join(", ")))
    }

    /// The API key comes in this header (and query parameter) instead of `apikey`.
    pub(super) fn api_key_header(self, name: &str) -> Self {
        self.field(&format!("apiKeyHeader: {name}"))
    }

    /// `backendJwt: true`: the upstream gets a backend JWT describing the caller.
    pub(super) fn backend_jwt(self) -> Self {
        self.field("backendJwt: true")
    }

    /// `isDefaultVersion: true`: also served at `/{id}`.
    pub(super) fn default_version(self) -> Self {
        self.field("isDefaultVersion: true")
    }

    /// A secured `GET target` that needs one of `scopes` (none: any token).
    pub(super) fn get(mut self, target: &str, scopes: &[&str]) -> Self {
        let scopes = scopes.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
        self.operations.push(format!("{{target: \"{target}\", verb: GET, scopes: [{scopes}]}}"));
        self
    }

    /// An unsecured `GET target`.
    pub(super) fn open_get(mut self, target: &str) -> Self {
        self.operations.push(format!("{{target: \"{target}\", verb: GET, secured: false}}"));
        self
    }

    fn field(mut self, line: &str) -> Self {
        self.fields.push(line.to_owned());
        self
    }

    fn render(&self, yaml: &mut String) {
        let id = &self.id;
        let _ = write!(yaml, "  - id: {id}\n    name: {id}\n    version: \"1\"\n    context: /{id}\n");
        self.fields.iter().for_each(|field| {
            let _ = writeln!(yaml, "    {field}");
        });
        yaml.push_str("    endpoints:\n");
        for (kind, url) in [("production", &self.production), ("sandbox", &self.sandbox)] {
            if let Some(url) = url {
                let _ = write!(yaml, "      {kind}:\n        urls: [\"{url}\"]\n");
            }
        }
        yaml.push_str("    operations:\n");
        self.operations.iter().for_each(|operation| {
            let _ = writeln!(yaml, "      - {operation}");
        });
    }
}
