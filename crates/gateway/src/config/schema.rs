//! Every configuration key with the kind of value it takes: the one list that decides whether
//! a key (in the file or as a `TOLLGATE_` variable) exists, how an environment value is typed,
//! and the per-key rules (type, allowed values, range). Rules that involve several keys or the
//! file system are in `validate.rs`.
//!
//! Hand-written rather than derived from the serde types: serde stops at the first error and
//! names Rust types in its messages; this list reports every bad key with what is allowed.
//! A unit test keeps it and [`Config`](super::Config) in step.

use toml::Value;

/// One key of the file, `section.key`.
#[derive(Debug)]
pub(super) struct Setting {
    pub(super) key: &'static str,
    pub(super) kind: Kind,
}

/// What a key takes.
#[derive(Debug)]
pub(super) enum Kind {
    /// Any string (paths, URLs, names).
    Text,
    /// `host:port` with an IP address.
    Address,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// A whole number within `min..=max`.
    Whole {
        min: u64,
        max: u64,
    },
    Flag,
    /// A list of strings (comma-separated in the environment).
    Texts,
    /// A list of tables with these keys; only a file can set it.
    Tables(&'static [Setting]),
    /// A number from 0 to 1 (a whole 0 or 1 too).
    Ratio,
}

const fn setting(key: &'static str, kind: Kind) -> Setting {
    Setting { key, kind }
}

const fn whole(min: u64, max: u64) -> Kind {
    Kind::Whole { min, max }
}

/// Milliseconds or seconds of a timeout: positive, at most a day.
const TIMEOUT_MS: Kind = whole(1, 86_400_000);

pub(super) const SOURCE_KINDS: &[&str] = &["file", "control-plane", "wso2-apim"];
pub(super) const RATE_LIMIT_BACKENDS: &[&str] = &["local", "redis"];
pub(super) const LOG_FORMATS: &[&str] = &["text", "json"];

const SNI: &[Setting] =
    &[setting("server_names", Kind::Texts), setting("cert", Kind::Text), setting("key", Kind::Text)];

/// Every key, by section.
pub(super) const SETTINGS: &[Setting] = &[
    setting("listener.https", Kind::Address),
    setting("listener.http", Kind::Address),
    setting("listener.header_read_timeout_ms", TIMEOUT_MS),
    setting("listener.tls_handshake_timeout_ms", TIMEOUT_MS),
    setting("listener.idle_timeout_ms", TIMEOUT_MS),
    setting("listener.send_timeout_ms", TIMEOUT_MS),
    setting("listener.max_header_bytes", whole(1024, 1024 * 1024)),
    setting("listener.max_header_count", whole(1, 1000)),
    setting("listener.http2_max_concurrent_streams", whole(1, 10_000)),
    setting("tls.cert", Kind::Text),
    setting("tls.key", Kind::Text),
    setting("tls.sni", Kind::Tables(SNI)),
    setting("tls.poll_seconds", whole(1, 86_400)),
    setting("admin.address", Kind::Address),
    setting("source.kind", Kind::Choice(SOURCE_KINDS)),
    setting("source.path", Kind::Text),
    setting("source.url", Kind::Text),
    setting("source.environment", Kind::Text),
    setting("source.token", Kind::Text),
    setting("source.state_dir", Kind::Text),
    setting("source.gateway_id", Kind::Text),
    setting("source.client_cert", Kind::Text),
    setting("source.client_key", Kind::Text),
    setting("source.ca_file", Kind::Text),
    setting("source.wait_seconds", whole(1, 60)),
    setting("source.status_interval_seconds", whole(1, 60)),
    setting("source.username", Kind::Text),
    setting("source.password", Kind::Text),
    setting("source.environments", Kind::Texts),
    setting("source.broker_urls", Kind::Texts),
    setting("source.tenant", Kind::Text),
    setting("source.resync_seconds", whole(1, 86_400)),
    setting("source.connect_timeout_seconds", whole(1, 300)),
    setting("source.request_timeout_seconds", whole(1, 3_600)),
    setting("upstream.ca_files", Kind::Texts),
    setting("upstream.pool_idle_timeout_seconds", whole(1, 86_400)),
    setting("upstream.pool_max_idle_per_host", whole(0, 65_536)),
    setting("rate_limit.backend", Kind::Choice(RATE_LIMIT_BACKENDS)),
    setting("rate_limit.redis_url", Kind::Text),
    setting("rate_limit.headers", Kind::Flag),
    setting("rate_limit.sync_interval_ms", whole(1, 60_000)),
    setting("shutdown.drain_seconds", whole(0, 3_600)),
    setting("shutdown.timeout_seconds", whole(0, 3_600)),
    setting("log.level", Kind::Text),
    setting("log.format", Kind::Choice(LOG_FORMATS)),
    setting("log.access", Kind::Flag),
    // [backend_jwt] (operator.md): JWTs for the upstreams of Apis with backendJwt.
    setting("backend_jwt.key", Kind::Text),
    setting("backend_jwt.kid", Kind::Text),
    setting("backend_jwt.issuer", Kind::Text),
    setting("backend_jwt.header", Kind::Text),
    setting("backend_jwt.ttl_seconds", whole(1, 86_400)),
    // [tracing]
    setting("tracing.otlp_endpoint", Kind::Text),
    setting("tracing.service_name", Kind::Text),
    setting("tracing.sample_ratio", Kind::Ratio),
    setting("tracing.export_timeout_ms", TIMEOUT_MS),
    setting("tracing.batch_delay_ms", TIMEOUT_MS),
];

/// Keys that a section, when present, must set.
pub(super) const REQUIRED: &[&str] = &["tls.cert", "tls.key", "backend_jwt.key"];

/// The setting named `key` (`section.key`).
pub(super) fn find(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|setting| setting.key == key)
}

/// Whether `name` is a section of the file.
pub(super) fn is_section(name: &str) -> bool {
    SETTINGS.iter().any(|setting| setting.key.split_once('.').is_some_and(|(section, _)| section == name))
}

/// The names of the sections, for suggestions.
pub(super) fn sections() -> impl Iterator<Item = &'static str> {
    let mut names: Vec<&'static str> = SETTINGS.iter().filter_map(|s| s.key.split_once('.')).map(|(s, _)| s).collect();
    names.dedup();
    names.into_iter()
}

/// The keys of `section`, without the section.
pub(super) fn keys_of(section: &str) -> impl Iterator<Item = &'static str> {
    SETTINGS.iter().filter_map(move |s| s.key.strip_prefix(section).and_then(|rest| rest.strip_prefix('.')))
}

// === impl Kind ===

impl Kind {
    /// What is wrong with `value` for this kind, if anything.
    pub(super) fn problem(&self, value: &Value) -> Option<String> {
        match (self, value) {
            (Kind::Text, Value::String(_)) | (Kind::Flag, Value::Boolean(_)) => None,
            (Kind::Address, Value::String(text)) => text
                .parse::<std::net::SocketAddr>()
                .err()
                .map(|_| format!("{value} is not an address (ip:port, e.g. \"0.0.0.0:8443\")")),
            (Kind::Choice(allowed), Value::String(text)) => {
                (!allowed.contains(&text.as_str())).then(|| format!("{value} is not one of {}", quoted(allowed)))
            }
            (Kind::Whole { min, max }, Value::Integer(number)) => {
                let within = u64::try_from(*number).is_ok_and(|n| (*min..=*max).contains(&n));
                (!within).then(|| format!("{number} is out of range ({min} to {max})"))
            }
            (Kind::Texts, Value::Array(items)) => {
                (!items.iter().all(Value::is_str)).then(|| format!("{value} is not a list of strings"))
            }
            (Kind::Tables(_), Value::Array(items)) => {
                (!items.iter().all(Value::is_table)).then(|| "is not a list of tables ([[...]])".to_owned())
            }
            (Kind::Ratio, Value::Float(number)) => {
                (!(0.0..=1.0).contains(number)).then(|| format!("{number} is out of range (0 to 1)"))
            }
            (Kind::Ratio, Value::Integer(number)) => {
                (!(0..=1).contains(number)).then(|| format!("{number} is out of range (0 to 1)"))
            }
            _ => Some(format!("{value} is not {}", self.expected())),
        }
    }

    /// The kind in words, for errors.
    pub(super) fn expected(&self) -> String {
        match self {
            Kind::Text => "a string".into(),
            Kind::Address => "an address string (ip:port)".into(),
            Kind::Choice(allowed) => format!("one of {}", quoted(allowed)),
            Kind::Whole { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Flag => "true or false".into(),
            Kind::Texts => "a list of strings".into(),
            Kind::Tables(_) => "a list of tables".into(),
            Kind::Ratio => "a number from 0 to 1".into(),
        }
    }

    /// `text` from an environment variable as this kind's TOML value.
    pub(super) fn parse_env(&self, text: &str) -> Result<Value, String> {
        match self {
            Kind::Text | Kind::Address | Kind::Choice(_) => Ok(Value::String(text.to_owned())),
            Kind::Whole { .. } => text
                .trim()
                .parse::<i64>()
                .map(Value::Integer)
                .map_err(|_| format!("{text:?} is not {}", self.expected())),
            Kind::Flag => match text.trim() {
                "true" => Ok(Value::Boolean(true)),
                "false" => Ok(Value::Boolean(false)),
                _ => Err(format!("{text:?} is not true or false")),
            },
            Kind::Texts => Ok(Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| Value::String(item.into()))
                    .collect(),
            )),
            Kind::Tables(_) => Err("can only be set in the configuration file".into()),
            Kind::Ratio => {
                text.trim().parse::<f64>().map(Value::Float).map_err(|_| format!("{text:?} is not {}", self.expected()))
            }
        }
    }
}

fn quoted(values: &[&str]) -> String {
    values.iter().map(|value| format!("{value:?}")).collect::<Vec<_>>().join(", ")
}
