use std::collections::BTreeSet;

use super::*;
use crate::config::{LogFormat, SourceSettings, load, validate};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn write(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("tempfile: {e}"));
    std::fs::write(file.path(), text).unwrap_or_else(|e| panic!("write: {e}"));
    file
}

fn parsed(text: &str) -> Result<Parsed, ConfigErrors> {
    parse(Some(write(text).path()), env(&[]))
}

/// Every error line, without the file name (a temporary path).
fn problems(result: Result<impl std::fmt::Debug, ConfigErrors>) -> Vec<String> {
    let errors = result.err().unwrap_or_else(|| panic!("expected errors"));
    errors.iter().map(|e| format!("{}: {}", e.key, e.problem)).collect()
}

#[test]
fn the_sample_configuration_parses() {
    let sample = include_str!("../../../../../config/gateway.toml");
    let config = parsed(sample).unwrap_or_else(|e| panic!("{e}")).config;
    assert_eq!(config.source.kind, tollgate_adapter::SourceKind::File);
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
    let parsed = parse(Some(file.path()), overrides).unwrap_or_else(|e| panic!("{e}"));
    let config = parsed.config;
    assert_eq!(config.source.token, "12345");
    assert_eq!(config.admin.address.port(), 19901);
    assert_eq!(config.shutdown.drain_seconds, 0);
    assert_eq!(config.rate_limit.backend, "redis");
    assert_eq!(config.log.format, LogFormat::Json);
    assert!(parsed.ignored_variables.is_empty());
}

#[test]
fn every_bad_key_is_reported_at_once_with_what_is_allowed() {
    let text = "[listner]\n[listener]\nhttps = \"x\"\nheader_read_timeout = 5\n[source]\nkind = \"files\"\n\
                wait_seconds = 61\n[log]\naccess = \"yes\"\n";
    let found = problems(parsed(text));
    let expected = [
        "listner: unknown section (did you mean `listener`?)",
        "listener.header_read_timeout: unknown key (did you mean `header_read_timeout_ms`?)",
        "listener.https: \"x\" is not an address (ip:port, e.g. \"0.0.0.0:8443\")",
        "log.access: \"yes\" is not true or false",
        "source.kind: \"files\" is not one of \"file\", \"control-plane\", \"wso2-apim\"",
        "source.wait_seconds: 61 is out of range (1 to 60)",
    ];
    let found: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(found, expected.into_iter().collect(), "{found:#?}");
}

#[test]
fn errors_name_the_file_or_the_variable() {
    let file = write("[admin]\naddress = \"nope\"\n");
    let errors = parse(Some(file.path()), env(&[("TOLLGATE_LISTENER__HTTPS", "also-nope")])).err();
    let errors = errors.unwrap_or_else(|| panic!("expected errors"));
    let origins: BTreeSet<String> = errors.iter().map(|e| e.origin.clone()).collect();
    let expected: BTreeSet<String> =
        [file.path().display().to_string(), "TOLLGATE_LISTENER__HTTPS".to_owned()].into_iter().collect();
    assert_eq!(origins, expected);
    let shown = errors.to_string();
    assert!(shown.contains("TOLLGATE_LISTENER__HTTPS: listener.https:"), "{shown}");
}

#[test]
fn messages_never_name_rust_types() {
    let text = "[source]\nkind = 3\n[rate_limit]\nbackend = \"memcached\"\n[tls]\ncert = \"a\"\n";
    let shown = parsed(text).err().map(|e| e.to_string()).unwrap_or_default();
    for internal in ["enum", "variant", "SourceKind", "struct", "u64", "invalid type"] {
        assert!(!shown.contains(internal), "{internal} in {shown}");
    }
    assert!(shown.contains("tls.key: is required"), "{shown}");
}

#[test]
fn sni_tables_are_checked_key_by_key() {
    let text = "[tls]\ncert = \"a\"\nkey = \"b\"\n[[tls.sni]]\nserver_name = [\"x\"]\ncert = \"c\"\nkey = \"d\"\n";
    let found = problems(parsed(text));
    assert!(
        found.contains(&"tls.sni[0].server_name: unknown key (did you mean `server_names`?)".to_owned()),
        "{found:?}"
    );
    assert!(found.contains(&"tls.sni[0].server_names: is required".to_owned()), "{found:?}");
}

#[test]
fn nothing_is_clamped() {
    assert!(parsed("[tls]\ncert = \"a\"\nkey = \"b\"\npoll_seconds = 0\n").is_err());
    assert!(parsed("[listener]\nmax_header_bytes = 100\n").is_err());
    assert!(parsed("[source]\nstatus_interval_seconds = 0\n").is_err());
    assert!(parsed("[upstream]\npool_idle_timeout_seconds = -1\n").is_err());
}

#[test]
fn control_plane_settings_are_checked() {
    let source = "[source]\nkind = \"control-plane\"\nurl = \"https://cp.example.com/api/gateway/v1\"\n";
    let with = |extra: &str| load(Some(write(&format!("{source}{extra}")).path()), env(&[]));
    let loaded = with("").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.source.wait_seconds, 30);
    assert!(with("client_cert = \"c.pem\"\n").is_err(), "a certificate needs its key");
    assert!(with("ca_file = \"/nonexistent/ca.pem\"\n").is_err(), "the CA file is read as the run reads it");
    assert!(with("url = \"ftp://cp\"\n").is_err());
    assert!(with("state_dir = \"/var/lib/tollgate\"\ngateway_id = \"gw-1\"\nstatus_interval_seconds = 5\n").is_ok());
}

#[test]
fn files_and_urls_are_checked_as_the_run_uses_them() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let apis = dir.path().display();
    let base = format!("[source]\npath = \"{apis}\"\n");
    let with = |extra: &str| load(Some(write(&format!("{base}{extra}")).path()), env(&[]));
    assert!(with("").is_ok());
    let found = problems(with("[upstream]\nca_files = [\"/nonexistent/ca.pem\"]\n"));
    assert!(found[0].starts_with("upstream.ca_files: "), "{found:?}");
    let found = problems(with("[rate_limit]\nbackend = \"redis\"\nredis_url = \"redis//user:pw@host\"\n"));
    assert!(found[0].starts_with("rate_limit.redis_url: is not a Redis URL"), "{found:?}");
    assert!(!found[0].contains("pw"), "the password is not shown: {found:?}");
    assert!(with("[rate_limit]\nbackend = \"local\"\nredis_url = \"whatever\"\n").is_ok(), "unused by local");
    assert!(with("[log]\nlevel = \"info,tollgate_enforcer=debug\"\n").is_ok());
    assert_eq!(problems(with("[log]\nlevel = \"info,=[\"\n")).len(), 1);
    let found = problems(load(Some(write("[source]\npath = \"/nonexistent/apis\"\n").path()), env(&[])));
    assert!(found[0].starts_with("source.path: cannot read the directory"), "{found:?}");
}

#[test]
fn secrets_are_not_serialised() {
    let mut config = Config::default();
    config.source.token = "s3cret".into();
    config.rate_limit.redis_url = "redis://user:pw@redis:6379".into();
    let shown = serde_json::to_string(&config).unwrap_or_default();
    assert!(!shown.contains("s3cret") && !shown.contains("pw@"), "{shown}");
}

/// The schema and the serde types describe the same keys.
#[test]
fn the_schema_lists_every_key_of_the_configuration_types() {
    let text = "[tls]\ncert = \"a\"\nkey = \"b\"\n[[tls.sni]]\nserver_names = [\"x\"]\ncert = \"c\"\nkey = \"d\"\n\
                [listener]\nhttp = \"127.0.0.1:8080\"\n[source]\nstate_dir = \"s\"\ngateway_id = \"g\"\n\
                client_cert = \"c\"\nclient_key = \"k\"\nca_file = \"ca\"\n\
                [backend_jwt]\nkey = \"bj.pem\"\nkid = \"k1\"\n";
    let config = parsed(text).unwrap_or_else(|e| panic!("{e}")).config;
    let value = serde_json::to_value(&config).unwrap_or_default();
    let mut keys: BTreeSet<String> = value
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(section, keys)| {
            keys.as_object().into_iter().flatten().map(move |(key, _)| format!("{section}.{key}"))
        })
        .collect();
    keys.insert("source.token".into()); // never serialised: a secret
    keys.insert("source.password".into()); // the same
    let listed: BTreeSet<String> = schema::SETTINGS.iter().map(|s| s.key.to_owned()).collect();
    assert_eq!(keys, listed);
    let settings = validate(&config, &Origins::default());
    assert!(settings.is_err(), "the files named do not exist");
}

/// `kind = "wso2-apim"`: broker URLs are checked as amqp(s) URLs (Choreo Connect's own
/// options removed), an empty label list and a non-HTTP url are refused, all at once; the
/// password never shows.
#[test]
fn wso2_apim_settings_are_checked_and_the_password_is_not_shown() {
    let text = "[source]\nkind = \"wso2-apim\"\nurl = \"apim:9443\"\nenvironments = []\npassword = \"s3cret\"\n\
                broker_urls = [\"amqp://admin:admin@apim:5672?retries='5'&connectdelay='10'\", \"http://apim:5672\"]\n";
    let bad = parsed(text).unwrap_or_else(|e| panic!("{e}"));
    let errors = validate(&bad.config, &bad.origins).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(errors.contains("source.broker_urls") && errors.contains("http://apim:5672"), "{errors}");
    assert!(errors.contains("source.environments") && errors.contains("source.url"), "{errors}");
    assert!(!serde_json::to_string(&bad.config).unwrap_or_default().contains("s3cret"));
    let good = "[source]\nkind = \"wso2-apim\"\nurl = \"https://apim:9443\"\n\
                broker_urls = [\"amqp://admin:admin@apim:5672?retries='5'&connectdelay='10'\"]\n";
    let parsed = parsed(good).unwrap_or_else(|e| panic!("{e}"));
    let settings = validate(&parsed.config, &parsed.origins).unwrap_or_else(|e| panic!("{e}"));
    let SourceSettings::Wso2Apim(wso2) = settings.source else { panic!("not the wso2-apim source") };
    let shown: Vec<String> = wso2.hub.iter().flat_map(|hub| hub.brokers()).map(|broker| broker.to_string()).collect();
    assert_eq!(shown.len(), 1);
    assert!(shown[0].starts_with("amqp://apim:5672") && !shown[0].contains("retries"), "{shown:?}");
    assert_eq!((wso2.environments.clone(), wso2.resync.as_secs()), (vec!["Default".to_owned()], 300));
}

// === [tracing] ===

#[test]
fn tracing_keys_are_checked_and_become_settings() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let base = format!("[source]\npath = \"{}\"\n[tracing]\n", dir.path().display());
    let with = |extra: &str, vars: &[(&str, &str)]| load(Some(write(&format!("{base}{extra}")).path()), env(vars));
    let defaults = with("", &[]).unwrap_or_else(|e| panic!("{e}")).settings.tracing;
    assert_eq!((defaults.endpoint, &*defaults.service_name, defaults.sample_ratio), (None, "tollgate", 0.01));
    let set = with("otlp_endpoint = \"http://otel:4318/v1/traces\"\nsample_ratio = 1\n", &[]);
    let set = set.unwrap_or_else(|e| panic!("{e}")).settings.tracing;
    assert!(set.endpoint.is_some() && set.sample_ratio == 1.0);
    let from_env = with("", &[("TOLLGATE_TRACING__SAMPLE_RATIO", "0.25")]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_env.settings.tracing.sample_ratio, 0.25);
    let found = problems(with("otlp_endpoint = \"otel:4318\"\nservice_name = \" \"\nsample_ratio = 1.5\n", &[]));
    assert_eq!(found, ["tracing.sample_ratio: 1.5 is out of range (0 to 1)"], "range first, at parse");
    let found = problems(with("otlp_endpoint = \"ftp://otel/v1/traces\"\nservice_name = \"\"\n", &[]));
    assert!(found[0].starts_with("tracing.otlp_endpoint: \"ftp://otel/v1/traces\" is not an http"), "{found:?}");
    assert_eq!(found[1], "tracing.service_name: must not be empty");
    for bad in ["-0.1", "NaN", "2", "x"] {
        assert!(with("", &[("TOLLGATE_TRACING__SAMPLE_RATIO", bad)]).is_err(), "{bad}");
    }
}
