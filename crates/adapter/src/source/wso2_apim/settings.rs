//! What the `wso2-apim` source needs to know (the `[source]` section of the gateway config,
//! operator.md, `kind = "wso2-apim"`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::hub::HubSettings;
use crate::engine::{EngineSettings, StateDir};
use crate::wso2::SUPER_TENANT_DOMAIN;

/// How to reach API-M and what to serve from it.
#[derive(Clone)]
pub struct Wso2Settings {
    /// API-M's base URL, e.g. `https://apim:9443`; requests go to `{url}/internal/data/v1/...`.
    pub url: String,
    /// HTTP Basic to API-M (a super-tenant admin).
    pub username: String,
    /// Never logged (`Debug` shows `***`).
    pub password: String,
    /// The gateway environment labels this gateway serves (`Default`).
    pub environments: Vec<String>,
    /// The event hub's brokers, tried in turn; `None` follows API-M by full pulls alone.
    pub hub: Option<HubSettings>,
    /// Extra CA certificates (PEM) for API-M's and the broker's certificates.
    pub ca_file: Option<PathBuf>,
    /// Connecting (TCP and TLS) may take this long.
    pub connect_timeout: Duration,
    /// A whole request, body included, may take this long.
    pub request_timeout: Duration,
    /// A full re-pull this often, besides events.
    pub resync: Duration,
    /// The last-known-good state; `None`: nowhere.
    pub state_dir: Option<PathBuf>,
    /// Whose APIs and events are served (`carbon.super`).
    pub tenant: String,
    /// How long the first pull waits for the event hub's first `Connected` (so that no event
    /// published during the pull is lost); then it pulls anyway.
    pub hub_wait: Duration,
}

// === impl Wso2Settings ===

impl Wso2Settings {
    /// Settings for `url` with the defaults of operator.md: user `admin`, no password,
    /// environment `Default`, no broker, a 5 s connect and 30 s request timeout, a full
    /// re-pull every 300 s, the super tenant, and up to 10 s waiting for the event hub.
    pub fn new(url: impl Into<String>) -> Self {
        Wso2Settings {
            url: url.into(),
            username: "admin".to_owned(),
            password: String::new(),
            environments: vec!["Default".to_owned()],
            hub: None,
            ca_file: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            resync: Duration::from_secs(300),
            state_dir: None,
            tenant: SUPER_TENANT_DOMAIN.to_owned(),
            hub_wait: Duration::from_secs(10),
        }
    }

    /// What the engine behind this source needs: the state directory, and the environments
    /// as the state's environment (a state of other labels is not served).
    pub fn engine_settings(&self) -> EngineSettings {
        EngineSettings {
            state_dir: self.state_dir.clone().map(StateDir::new),
            environment: self.environments.join("|"),
            ..EngineSettings::default()
        }
    }
}

impl fmt::Debug for Wso2Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wso2Settings")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"***")
            .field("environments", &self.environments)
            .field("hub", &self.hub)
            .field("ca_file", &self.ca_file)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("resync", &self.resync)
            .field("state_dir", &self.state_dir)
            .field("tenant", &self.tenant)
            .field("hub_wait", &self.hub_wait)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_not_shown() {
        let mut settings = Wso2Settings::new("https://apim:9443");
        settings.password = "s3cret".into();
        settings.hub = HubSettings::new(&["amqp://admin:hidden@apim:5672"]).ok();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("hidden"), "{shown}");
    }
}
