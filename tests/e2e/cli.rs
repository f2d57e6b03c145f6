//! The command line: `check`, exit codes, environment overrides.

use std::process::Command;

use tollgate_tests::Upstream;

use crate::support::{api, binary, gateway};

#[tokio::test]
async fn check_prints_what_would_be_served_and_exits_0() {
    let up = Upstream::start("up").await;
    let setup =
        gateway().api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], "isDefaultVersion: true"));
    let config = setup.write_config();
    let out = Command::new(binary()).args(["check", "--config"]).arg(&config).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("pets") && stdout.contains("/petstore/1.0.0") && stdout.contains("/petstore"), "{stdout}");
}

#[tokio::test]
async fn check_prints_every_error_and_exits_1() {
    let up = Upstream::start("up").await;
    let setup = gateway()
        .api_file("a.yaml", &api("broken-one", "nope", &[up.url()], &["GET /pets"], ""))
        .api_file("b.yaml", &api("broken-two", "/b", &["ftp://x".into()], &["GET /pets"], ""));
    let out = Command::new(binary()).args(["check", "--config"]).arg(setup.write_config()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("broken-one") && stdout.contains("broken-two"), "{stdout}");
}

#[test]
fn bad_command_lines_and_configurations_exit_64() {
    let bad_flag = Command::new(binary()).arg("--no-such-flag").output().unwrap();
    assert_eq!(bad_flag.status.code(), Some(64));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, "[listener]\nhttps = \"not an address\"\n").unwrap();
    let bad_config = Command::new(binary()).arg("--config").arg(&config).output().unwrap();
    assert_eq!(bad_config.status.code(), Some(64));
    let missing = Command::new(binary()).arg("--config").arg(dir.path().join("missing.toml")).output().unwrap();
    assert_eq!(missing.status.code(), Some(64));
    std::fs::write(&config, "[listener]\nhttps = \"127.0.0.1:0\"\n[admin]\naddress = \"127.0.0.1:0\"\n[tls]\ncert = \"/nonexistent.crt\"\nkey = \"/nonexistent.key\"\n").unwrap();
    let bad_cert = Command::new(binary()).arg("--config").arg(&config).output().unwrap();
    assert_eq!(bad_cert.status.code(), Some(64));
}

#[tokio::test]
async fn environment_overrides_the_file() {
    let up = Upstream::start("up").await;
    let mut gw = gateway()
        .api_file("a.yaml", &api("pets", "/petstore", &[up.url()], &["GET /pets"], ""))
        .env("TOLLGATE_LOG__ACCESS", "false")
        .start()
        .await;
    assert_eq!(gw.client().get("/petstore/1.0.0/pets").await.status, 200);
    assert_eq!(gw.stop().await.code(), Some(0));
    gw.logs().closed().await;
    assert!(gw.logs().stdout_lines().is_empty(), "access log switched off by TOLLGATE_LOG__ACCESS");
}

#[test]
fn the_sample_configuration_checks_clean() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out =
        Command::new(binary()).args(["check", "--config", "config/gateway.toml"]).current_dir(root).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
