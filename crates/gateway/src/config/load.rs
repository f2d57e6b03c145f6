use std::path::{Path, PathBuf};

use config::{Environment, File, FileFormat};

use super::{Config, SourceKind};

/// Why the configuration cannot be used (exit code 64).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
    #[error("invalid configuration: {0}")]
    Rule(String),
}

const ENV_PREFIX: &str = "TOLLGATE";

/// Loads `path` (or, with none, `config/gateway.toml` when it exists, else the defaults) and
/// applies `TOLLGATE_*` overrides from `env`.
pub fn load(path: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
    let mut builder = config::Config::builder();
    if let Some(text) = file_text(path)? {
        builder = builder.add_source(File::from_str(&text, FileFormat::Toml));
    }
    let overrides = env.into_iter().filter(|(key, _)| key.starts_with(ENV_PREFIX)).collect();
    let environment = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("_")
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .with_list_parse_key("upstream.ca_files")
        .source(Some(overrides));
    let config: Config = builder.add_source(environment).build()?.try_deserialize()?;
    check(&config)?;
    Ok(config)
}

fn file_text(path: Option<&Path>) -> Result<Option<String>, ConfigError> {
    let default = Path::new("config/gateway.toml");
    let path = match path {
        Some(path) => path,
        None if default.exists() => default,
        None => return Ok(None),
    };
    std::fs::read_to_string(path).map(Some).map_err(|source| ConfigError::Read { path: path.to_owned(), source })
}

/// Rules that a type cannot express.
fn check(config: &Config) -> Result<(), ConfigError> {
    let rule = |ok: bool, message: &str| if ok { Ok(()) } else { Err(ConfigError::Rule(message.to_owned())) };
    rule(config.listener.max_header_bytes >= 1024, "listener.max_header_bytes must be at least 1024")?;
    rule(config.listener.header_read_timeout_ms > 0, "listener.header_read_timeout_ms must be positive")?;
    rule(config.source.wait_seconds <= 60, "source.wait_seconds must be at most 60")?;
    rule(config.rate_limit.sync_interval_ms > 0, "rate_limit.sync_interval_ms must be positive")?;
    if config.source.kind == SourceKind::ControlPlane {
        rule(
            config.source.url.starts_with("http://") || config.source.url.starts_with("https://"),
            "source.url must be an http(s) URL",
        )?;
        rule(
            config.source.client_cert.is_some() == config.source.client_key.is_some(),
            "source.client_cert and source.client_key go together",
        )?;
        rule(config.source.wait_seconds >= 1, "source.wait_seconds must be at least 1")?;
        rule(
            (1..=60).contains(&config.source.status_interval_seconds),
            "source.status_interval_seconds must be between 1 and 60",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LogFormat, RateLimitBackend};

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("tempfile: {e}"));
        std::fs::write(file.path(), text).unwrap_or_else(|e| panic!("write: {e}"));
        file
    }

    #[test]
    fn the_contract_example_loads() {
        let example = include_str!("../../../../config/gateway.toml");
        let file = write(example);
        let config = load(Some(file.path()), env(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.source.kind, SourceKind::File);
    }

    #[test]
    fn environment_overrides_nested_keys_with_types() {
        let file = write("[source]\nkind = \"file\"\n[shutdown]\ndrain_seconds = 5\n");
        let overrides = env(&[
            ("TOLLGATE_SOURCE__TOKEN", "12345"),
            ("TOLLGATE_ADMIN__ADDRESS", "127.0.0.1:19901"),
            ("TOLLGATE_SHUTDOWN__DRAIN_SECONDS", "0"),
            ("TOLLGATE_RATE_LIMIT__BACKEND", "redis"),
            ("TOLLGATE_LOG__FORMAT", "json"),
            ("OTHER_VAR", "ignored"),
        ]);
        let config = load(Some(file.path()), overrides).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.source.token, "12345");
        assert_eq!(config.admin.address.port(), 19901);
        assert_eq!(config.shutdown.drain_seconds, 0);
        assert_eq!(config.rate_limit.backend, RateLimitBackend::Redis);
        assert_eq!(config.log.format, LogFormat::Json);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(load(Some(write("[listener]\nhttps = \"x\"\n").path()), env(&[])).is_err());
        assert!(load(Some(write("[listner]\n").path()), env(&[])).is_err());
        assert!(load(Some(write("").path()), env(&[("TOLLGATE_SOURCE__WAIT_SECONDS", "61")])).is_err());
    }

    #[test]
    fn control_plane_settings_are_checked() {
        let source = "[source]\nkind = \"control-plane\"\nurl = \"https://cp.example.com/api/gateway/v1\"\n";
        let config = load(Some(write(source).path()), env(&[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((config.source.wait_seconds, config.source.status_interval_seconds), (30, 60));
        let with = |extra: &str| load(Some(write(&format!("{source}{extra}")).path()), env(&[]));
        assert!(with("status_interval_seconds = 61\n").is_err());
        assert!(with("status_interval_seconds = 0\n").is_err());
        assert!(with("wait_seconds = 0\n").is_err());
        assert!(with("client_cert = \"c.pem\"\n").is_err(), "a certificate needs its key");
        assert!(
            with("state_dir = \"/var/lib/tollgate\"\ngateway_id = \"gw-1\"\nstatus_interval_seconds = 5\n").is_ok()
        );
    }

    #[test]
    fn secrets_are_not_serialised() {
        let mut config = Config::default();
        config.source.token = "s3cret".into();
        config.rate_limit.redis_url = "redis://user:pw@redis:6379".into();
        let shown = serde_json::to_string(&config).unwrap_or_default();
        assert!(!shown.contains("s3cret") && !shown.contains("pw@"), "{shown}");
    }
}
