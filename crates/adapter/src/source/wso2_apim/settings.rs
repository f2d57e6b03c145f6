//! What the `wso2-apim` source needs to know (the `[source]` section of the gateway config,
//! operator.md, `kind = "wso2-apim"`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

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
    /// The event hub's URLs, CC's own options removed ([`broker_url`]); tried in turn.
    pub broker_urls: Vec<String>,
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

/// Why a broker URL is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url:?}: {reason}")]
pub struct BrokerUrlError {
    /// The URL without its credentials.
    pub url: String,
    pub reason: String,
}

/// Options of Choreo Connect's URL form that are not AMQP's (INTERFACE.md §4.1).
const CC_OPTIONS: [&str; 2] = ["retries", "connectdelay"];

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
            broker_urls: Vec::new(),
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
            .field("broker_urls", &self.broker_urls.iter().map(|url| without_credentials(url)).collect::<Vec<_>>())
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

/// A configured broker URL made ready for an AMQP client: `amqp://` or `amqps://` with a
/// host, Choreo Connect's quoted `retries` / `connectdelay` query options removed (other
/// options kept). No path means vhost `/`.
pub fn broker_url(text: &str) -> Result<String, BrokerUrlError> {
    let fail = |reason: &str| BrokerUrlError { url: without_credentials(text), reason: reason.to_owned() };
    let mut url = reqwest::Url::parse(text.trim()).map_err(|error| fail(&error.to_string()))?;
    if !matches!(url.scheme(), "amqp" | "amqps") {
        return Err(fail("the scheme must be amqp or amqps"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(fail("the URL names no host"));
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| !CC_OPTIONS.iter().any(|option| key.eq_ignore_ascii_case(option)))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    url.set_query(None);
    if !kept.is_empty() {
        url.query_pairs_mut().extend_pairs(kept);
    }
    Ok(url.to_string())
}

/// A URL with its user information replaced by `***` (for logs and `/config`).
pub fn without_credentials(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &text[..scheme], &text[at..]),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choreo_connect_options_are_removed_and_others_kept() {
        let url = broker_url("amqp://admin:admin@apim:5672?retries='10'&connectdelay='30'");
        assert_eq!(url.as_deref(), Ok("amqp://admin:admin@apim:5672"));
        let url = broker_url("amqps://u:p@mq:5671/%2Fvh?heartbeat=10&retries='5'");
        assert_eq!(url.as_deref(), Ok("amqps://u:p@mq:5671/%2Fvh?heartbeat=10"));
    }

    #[test]
    fn only_amqp_urls_with_a_host_are_accepted_and_errors_hide_the_password() {
        let error = broker_url("http://admin:s3cret@apim:5672").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("amqp") && !error.contains("s3cret"), "{error}");
        assert!(broker_url("not a url").is_err());
        assert!(broker_url("amqp://").is_err());
    }

    #[test]
    fn the_password_is_not_shown() {
        let mut settings = Wso2Settings::new("https://apim:9443");
        settings.password = "s3cret".into();
        settings.broker_urls = vec!["amqp://admin:hidden@apim:5672".into()];
        let shown = format!("{settings:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("hidden"), "{shown}");
    }
}
