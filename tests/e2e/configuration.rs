//! The configuration as an operator meets it (operator.md): the environment rule, one
//! validation for `check` and `run` with the same verdict and exit code, `/config`, the
//! build-info gauge, `--version` and `--help`, and `[log] level`.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;
use tollgate_tests::{Upstream, eventually};

use crate::support::{api, binary, gateway};

/// What Kubernetes puts into every pod of a namespace that has a Service named `tollgate`
/// (ports https 8443 and admin 9901) and one named `tollgate-redis` (the Redis overlay).
const SERVICE_LINKS: &[(&str, &str)] = &[
    ("TOLLGATE_SERVICE_HOST", "10.96.0.12"),
    ("TOLLGATE_SERVICE_PORT", "8443"),
    ("TOLLGATE_SERVICE_PORT_HTTPS", "8443"),
    ("TOLLGATE_SERVICE_PORT_ADMIN", "9901"),
    ("TOLLGATE_PORT", "tcp://10.96.0.12:8443"),
    ("TOLLGATE_PORT_8443_TCP", "tcp://10.96.0.12:8443"),
    ("TOLLGATE_PORT_8443_TCP_PROTO", "tcp"),
    ("TOLLGATE_PORT_8443_TCP_PORT", "8443"),
    ("TOLLGATE_PORT_8443_TCP_ADDR", "10.96.0.12"),
    ("TOLLGATE_PORT_9901_TCP", "tcp://10.96.0.12:9901"),
    ("TOLLGATE_REDIS_SERVICE_HOST", "10.96.0.13"),
    ("TOLLGATE_REDIS_PORT", "tcp://10.96.0.13:6379"),
    ("TOLLGATE_REDIS_PORT_6379_TCP_ADDR", "10.96.0.13"),
    ("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
];

#[tokio::test]
async fn a_pod_environment_with_service_links_serves_and_warns_once() {
    let up = Upstream::start("up").await;
    let mut setup = gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], ""));
    for (name, value) in SERVICE_LINKS {
        setup = setup.env(name, value);
    }
    let mut gw = setup.start().await;
    assert_eq!(gw.admin().get("/health/ready").await.status, 200);
    assert_eq!(gw.client().get("/petstore/1.0.0/pets").await.status, 200);
    assert_eq!(gw.stop().await.code(), Some(0));
    gw.logs().closed().await;
    let warnings: Vec<String> =
        gw.logs().stderr_text().lines().filter(|line| line.contains("WARN")).map(str::to_owned).collect();
    assert_eq!(warnings.len(), 1, "one warning for all injected variables: {warnings:#?}");
    for (name, _) in SERVICE_LINKS.iter().filter(|(name, _)| name.starts_with("TOLLGATE_")) {
        assert!(warnings[0].contains(name), "{name} not named in {}", warnings[0]);
    }
}

#[tokio::test]
async fn a_setting_variable_with_a_bad_value_exits_64_naming_it() {
    let setup = gateway();
    let config = setup.write_config();
    for command in ["run", "check"] {
        let out = tollgate(&config, command, &[("TOLLGATE_ADMIN__ADDRESS", "localhost")]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{command}: {stderr}");
        assert!(stderr.contains("TOLLGATE_ADMIN__ADDRESS: admin.address:"), "{command}: {stderr}");
    }
}

/// Each class of configuration error, with the key its message must name.
const BROKEN: &[(&str, &str, &str)] = &[
    ("a misspelt key", "[shutdown]\ndrain_second = 5\n", "did you mean `drain_seconds`?"),
    ("a value of the wrong type", "[shutdown]\ndrain_seconds = \"5\"\n", "shutdown.drain_seconds: \"5\" is not"),
    ("a number out of range", "[rate_limit]\nsync_interval_ms = 0\n", "rate_limit.sync_interval_ms: 0 is out of range"),
    ("an unknown choice", "[rate_limit]\nbackend = \"memcached\"\n", "is not one of \"local\", \"redis\""),
    ("a missing upstream CA file", "[upstream]\nca_files = [\"/nonexistent/ca.pem\"]\n", "upstream.ca_files:"),
    (
        "a malformed Redis URL",
        "[rate_limit]\nbackend = \"redis\"\nredis_url = \"redis//127.0.0.1\"\n",
        "rate_limit.redis_url: is not a Redis URL",
    ),
    ("a bad log filter", "[log]\nlevel = \"info,=[\"\n", "log.level:"),
    (
        "a certificate file that does not exist",
        "[tls]\ncert = \"/nonexistent.crt\"\nkey = \"/nonexistent.key\"\n",
        "tls:",
    ),
    ("TOML that does not parse", "[log\n", "not valid TOML"),
];

#[tokio::test]
async fn check_and_run_give_the_same_verdict_for_every_configuration_error() {
    for (class, section, named) in BROKEN {
        let setup = gateway().config(section);
        let config = setup.write_config();
        for command in ["check", "run"] {
            let out = tollgate(&config, command, &[]).await;
            let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.status.code(), Some(64), "{class}, {command}:\n{said}");
            assert!(said.contains(named), "{class}, {command} does not say {named:?}:\n{said}");
        }
    }
    let missing_directory =
        gateway().config("[source]\nkind = \"file\"\npath = \"/nonexistent/apis\"\n").write_config();
    for command in ["check", "run"] {
        let out = tollgate(&missing_directory, command, &[]).await;
        assert_eq!(out.status.code(), Some(64), "a missing source directory, {command}");
    }
}

#[tokio::test]
async fn a_config_with_many_errors_lists_them_all() {
    let text = "[shutdown]\ndrain_second = 5\n[source]\nkind = \"files\"\n[log]\naccess = \"yes\"\n";
    let setup = gateway().config(text);
    let out = tollgate(&setup.write_config(), "check", &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64));
    assert!(stderr.contains("3 errors"), "{stderr}");
    assert!(stderr.contains("source.kind: \"files\" is not one of \"file\", \"control-plane\""), "{stderr}");
    for internal in ["variant", "enum", "SourceKind"] {
        assert!(!stderr.contains(internal), "{internal}: {stderr}");
    }
}

#[tokio::test]
async fn config_lists_the_served_apis_and_the_effective_settings_without_secrets() {
    let up = Upstream::start("up").await;
    let gw = gateway()
        .api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "vhosts: [pets.example.com]"))
        .config("[rate_limit]\nbackend = \"local\"\nredis_url = \"redis://user:hunter2@redis:6379\"\n")
        .env("TOLLGATE_SOURCE__TOKEN", "s3cret-token")
        .start()
        .await;
    let reply = gw.admin().get("/config").await;
    assert_eq!(reply.status, 200);
    let text = reply.text();
    assert!(!text.contains("hunter2") && !text.contains("s3cret-token"), "{text}");
    let config = reply.json();
    let apis = config["apis"].as_array().unwrap();
    assert_eq!(apis.len(), 1, "{config:#}");
    let pets = &apis[0];
    assert_eq!(
        (pets["id"].as_str(), pets["name"].as_str(), pets["version"].as_str()),
        (Some("pets"), Some("pets"), Some("1.0.0"))
    );
    assert_eq!(pets["basePaths"], serde_json::json!(["/petstore/1.0.0"]));
    assert_eq!(pets["vhosts"], serde_json::json!(["pets.example.com"]));
    assert!(pets["origin"].as_str().unwrap().ends_with("/apis/a.yaml"), "{pets}");
    let settings = &config["settings"];
    assert_eq!(settings["listener"]["http2_max_concurrent_streams"], 100);
    assert_eq!(settings["log"]["level"], "info");
    assert_eq!(settings["rate_limit"]["backend"], "local");
}

#[tokio::test]
async fn metrics_carry_the_build_and_fractional_cpu_seconds() {
    let gw = gateway().start().await;
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(gw.metric(&format!("tollgate_build_info{{version=\"{version}\"}}")).await, Some(1.0));
    let metrics = gw.admin().get("/metrics").await.text();
    let cpu = metrics.lines().find(|line| line.starts_with("process_cpu_seconds_total ")).unwrap();
    let seconds: f64 = cpu.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(seconds > 0.0, "{cpu}: a fresh gateway has used less than a second, which whole seconds show as 0");
}

#[tokio::test]
async fn version_and_help_say_what_the_program_is() {
    let version = Command::new(binary()).arg("--version").output().await.unwrap();
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("tollgate {}", env!("CARGO_PKG_VERSION")));
    let help = Command::new(binary()).arg("--help").output().await.unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.starts_with("Tollgate, an API gateway data plane"), "{help}");
}

#[tokio::test]
async fn the_log_level_setting_applies_unless_rust_log_is_set() {
    let debug = "[log]\nlevel = \"debug\"\n";
    let mut gw = gateway().config(debug).env("RUST_LOG", "").start().await;
    assert_eq!(gw.stop().await.code(), Some(0));
    gw.logs().closed().await;
    assert!(gw.logs().stderr_text().contains("DEBUG"), "level = debug shows debug lines");
    let mut gw = gateway().config(debug).env("RUST_LOG", "info").start().await;
    assert_eq!(gw.stop().await.code(), Some(0));
    gw.logs().closed().await;
    assert!(!gw.logs().stderr_text().contains("DEBUG"), "RUST_LOG wins");
}

#[tokio::test]
async fn the_sample_configuration_does_not_warn_about_a_key_manager_nobody_started() {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let setup = gateway()
        .env("TOLLGATE_LISTENER__HTTPS", "127.0.0.1:0")
        .env("TOLLGATE_LISTENER__HTTP", "127.0.0.1:0")
        .env("TOLLGATE_ADMIN__ADDRESS", "127.0.0.1:0")
        .env("TOLLGATE_SOURCE__PATH", root.join("config/apis").to_str().unwrap());
    let mut gw = setup.start_with_config(&root.join("config/gateway.toml")).await;
    let admin = gw.admin();
    let fetched = eventually(Duration::from_secs(30), async || {
        let text = admin.get("/metrics").await.text();
        text.lines().any(|l| l.starts_with("tollgate_jwks_fetches_total{") && !l.ends_with(" 0"))
    })
    .await;
    assert!(fetched, "the sample key manager's JWKS was never fetched");
    assert_eq!(gw.stop().await.code(), Some(0));
    gw.logs().closed().await;
    let stderr = gw.logs().stderr_text();
    let loud = |l: &&str| l.contains("WARN") || l.contains("ERROR");
    let about_keys: Vec<&str> =
        stderr.lines().filter(loud).filter(|l| l.contains("JWKS") || l.contains("key_manager")).collect();
    assert!(about_keys.is_empty(), "{about_keys:#?}");
    assert!(stderr.contains("generated self-signed certificate"), "the one warning the sample expects (no [tls])");
}

/// Runs `tollgate COMMAND --config CONFIG` with only `env` as `TOLLGATE_` variables; a run
/// that does not exit within 30 s fails the test.
async fn tollgate(config: &Path, command: &str, env: &[(&str, &str)]) -> Output {
    let mut process = Command::new(binary());
    process.arg(command).arg("--config").arg(config).kill_on_drop(true);
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("TOLLGATE_")) {
        process.env_remove(key);
    }
    process.envs(env.iter().copied());
    let output = tokio::time::timeout(Duration::from_secs(30), process.output()).await;
    output.unwrap_or_else(|_| panic!("tollgate {command} did not exit")).unwrap()
}
