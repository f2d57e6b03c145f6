//! What the event hub needs: the brokers to try in order, how long one attempt may take, the
//! backoff between rounds, and an extra CA for `amqps` brokers. Built from operator.md's
//! `broker_urls` strings as Choreo Connect writes them (INTERFACE.md §4.1).

use std::fmt;
use std::time::Duration;

use lapin::uri::{AMQPAuthority, AMQPScheme, AMQPUri, AMQPUserInfo};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use url::Url;

use crate::source::control_plane::{BACKOFF_MAX, BACKOFF_MIN};

/// How long connecting, opening the channels and binding may take on one broker.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Choreo Connect's own query options, not the AMQP URI's: `retries='10'&connectdelay='30'`.
const CHOREO_CONNECT_OPTIONS: [&str; 2] = ["retries", "connectdelay"];

/// The event hub's settings. The topics are fixed by the topology (INTERFACE.md §4.2) and
/// tenants are the source's business, so neither is here.
#[derive(Clone)]
pub struct HubSettings {
    brokers: Vec<BrokerUrl>,
    pub(super) connect_timeout: Duration,
    pub(super) backoff_min: Duration,
    pub(super) backoff_max: Duration,
    /// PEM certificates trusted for `amqps` brokers besides the system roots.
    pub(super) ca_pem: Option<String>,
}

/// One broker: the URI handed to the AMQP library (with its credentials) and what may be
/// shown of it (without).
#[derive(Clone)]
pub struct BrokerUrl {
    pub(super) uri: AMQPUri,
    shown: String,
}

/// Why `broker_urls` cannot be used. Never holds a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubSettingsError {
    #[error("broker_urls is empty: the wso2-apim source needs API-M's event hub")]
    NoBrokers,
    /// `url` is shown without its user information.
    #[error("broker URL {url}: {reason}")]
    Url { url: String, reason: String },
}

// === impl HubSettings ===

impl HubSettings {
    /// Parses every URL (Choreo Connect's `retries`/`connectdelay` options removed, vhost `/`
    /// when the URL has no path). Defaults: [`CONNECT_TIMEOUT`], backoff
    /// [`BACKOFF_MIN`]–[`BACKOFF_MAX`], system roots only.
    pub fn new<S: AsRef<str>>(broker_urls: &[S]) -> Result<Self, HubSettingsError> {
        if broker_urls.is_empty() {
            return Err(HubSettingsError::NoBrokers);
        }
        let brokers = broker_urls.iter().map(|url| BrokerUrl::parse(url.as_ref())).collect::<Result<_, _>>()?;
        Ok(HubSettings {
            brokers,
            connect_timeout: CONNECT_TIMEOUT,
            backoff_min: BACKOFF_MIN,
            backoff_max: BACKOFF_MAX,
            ca_pem: None,
        })
    }

    /// How long one attempt (connect, channels, declarations, bindings) may take.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The bounds of the jittered exponential backoff between rounds over the brokers.
    #[must_use]
    pub fn with_backoff(mut self, min: Duration, max: Duration) -> Self {
        (self.backoff_min, self.backoff_max) = (min, max.max(min));
        self
    }

    /// PEM CA certificates trusted for `amqps` brokers (`source.ca_file`).
    #[must_use]
    pub fn with_ca_pem(mut self, pem: String) -> Self {
        self.ca_pem = Some(pem);
        self
    }

    /// The brokers in the order they are tried.
    pub fn brokers(&self) -> &[BrokerUrl] {
        &self.brokers
    }
}

impl fmt::Debug for HubSettings {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("HubSettings")
            .field("brokers", &self.brokers)
            .field("connect_timeout", &self.connect_timeout)
            .field("backoff", &(self.backoff_min..self.backoff_max))
            .field("ca_pem", &self.ca_pem.is_some())
            .finish()
    }
}

// === impl BrokerUrl ===

impl BrokerUrl {
    /// Parses one `broker_urls` entry.
    pub fn parse(raw: &str) -> Result<Self, HubSettingsError> {
        let invalid = |reason: String| HubSettingsError::Url { url: without_userinfo(raw), reason };
        let mut url = Url::parse(raw.trim()).map_err(|e| invalid(e.to_string()))?;
        drop_choreo_connect_options(&mut url);
        let scheme = match url.scheme() {
            "amqp" => AMQPScheme::AMQP,
            "amqps" => AMQPScheme::AMQPS,
            other => return Err(invalid(format!("scheme {other:?} is not amqp or amqps"))),
        };
        let host = host(&url).ok_or_else(|| invalid("the URL names no host".into()))?;
        let port = url.port().unwrap_or_else(|| scheme.default_port());
        let vhost = vhost(&url).map_err(invalid)?;
        // Query options the AMQP URI spec defines (heartbeat, frame_max, ...) come from
        // lapin's own parser; the rest of the URI is ours.
        let options = raw_uri(&url).parse::<AMQPUri>().map_err(invalid)?.query;
        let userinfo = userinfo(&url).map_err(invalid)?;
        let shown = shown(&url, &vhost);
        let uri = AMQPUri { scheme, authority: AMQPAuthority { userinfo, host, port }, vhost, query: options };
        Ok(BrokerUrl { uri, shown })
    }

    /// The URL without user information: for logs, `/config` and [`HubSignal::Connected`].
    ///
    /// [`HubSignal::Connected`]: super::super::HubSignal::Connected
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.shown)
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.shown)
    }
}

fn drop_choreo_connect_options(url: &mut Url) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| !CHOREO_CONNECT_OPTIONS.iter().any(|option| key.eq_ignore_ascii_case(option)))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

/// The host as a socket address wants it: an IPv6 literal without its brackets.
fn host(url: &Url) -> Option<String> {
    let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| host.to_owned())
}

/// No path, or `/` alone, is the default vhost `/`; otherwise the percent-decoded path
/// after its first `/` (`/%2f` is `/` too).
fn vhost(url: &Url) -> Result<String, String> {
    let path = url.path().strip_prefix('/').unwrap_or(url.path());
    if path.is_empty() {
        return Ok("/".to_owned());
    }
    percent_decode(path, "vhost")
}

/// `guest`/`guest` when the URL has no user (the AMQP URI convention); a user without a
/// password has an empty one.
fn userinfo(url: &Url) -> Result<AMQPUserInfo, String> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(AMQPUserInfo::default());
    }
    Ok(AMQPUserInfo {
        username: percent_decode(url.username(), "user")?,
        password: percent_decode(url.password().unwrap_or(""), "password")?,
    })
}

fn percent_decode(text: &str, what: &str) -> Result<String, String> {
    let decoded = percent_decode_str(text).decode_utf8().map_err(|_| format!("the {what} is not UTF-8"))?;
    Ok(decoded.into_owned())
}

/// The URL as lapin's parser reads it, for its query options only.
fn raw_uri(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("amqp://localhost/?{query}"),
        None => "amqp://localhost/".to_owned(),
    }
}

/// `scheme://host:port`, then `/vhost` (percent-encoded) unless it is the default.
fn shown(url: &Url, vhost: &str) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().or_else(|| default_port(url.scheme())).unwrap_or_default();
    let base = format!("{}://{host}:{port}", url.scheme());
    if vhost == "/" {
        return base;
    }
    format!("{base}/{}", utf8_percent_encode(vhost, NON_ALPHANUMERIC))
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "amqp" => Some(AMQPScheme::AMQP.default_port()),
        "amqps" => Some(AMQPScheme::AMQPS.default_port()),
        _ => None,
    }
}

/// A raw URL with anything between `://` and the last `@` of its authority removed: for
/// errors about URLs that do not even parse, and for showing configured URLs.
pub fn without_userinfo(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else { return "(not a URL)".to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{tail}")
}

#[cfg(test)]
mod tests;
