//! operator.md, "Metrics": every metric with its type and labels on a real scrape after
//! traffic, label values only from configuration, gateway-sized histogram buckets, and
//! `promtool check metrics` clean.

use std::collections::BTreeSet;

use super::exposition::{Exposition, Sample};
use super::tools::{run, text};
use super::traffic::{API_NAMES, KEY_MANAGER, STRAY_PATH, scrape_after_traffic};

/// operator.md's table: name, type, labels.
pub(super) const CONTRACT: &[(&str, &str, &[&str])] = &[
    ("tollgate_requests_total", "counter", &["api", "version", "method", "code"]),
    ("tollgate_request_duration_seconds", "histogram", &["api", "version"]),
    ("tollgate_upstream_duration_seconds", "histogram", &["api", "version"]),
    ("tollgate_upstream_errors_total", "counter", &["api", "version", "kind"]),
    ("tollgate_auth_failures_total", "counter", &["api", "version", "code"]),
    ("tollgate_throttled_total", "counter", &["api", "version", "level"]),
    ("tollgate_connections_active", "gauge", &["listener"]),
    ("tollgate_tls_handshake_failures_total", "counter", &[]),
    ("tollgate_config_revision", "gauge", &[]),
    ("tollgate_config_entities", "gauge", &["kind"]),
    ("tollgate_config_sync_failures_total", "counter", &["reason"]),
    ("tollgate_config_last_applied_timestamp_seconds", "gauge", &[]),
    ("tollgate_config_rejected_total", "counter", &["entity"]),
    ("tollgate_jwks_fetches_total", "counter", &["key_manager", "result"]),
    ("tollgate_tls_certificate_expiry_timestamp_seconds", "gauge", &["server_name"]),
];

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE", "OTHER"];
const ENTITIES: &[&str] =
    &["api", "application", "keyMapping", "subscription", "policy", "keyManager", "revokedToken", "document"];

#[tokio::test]
async fn a_real_scrape_after_traffic_has_every_contract_metric_and_passes_promtool() {
    let scraped = scrape_after_traffic().await;
    let scrape = &scraped.exposition;
    for (name, kind, labels) in CONTRACT {
        assert_eq!(scrape.types.get(*name).map(String::as_str), Some(*kind), "{name}: TYPE\n{}", scraped.text);
        let samples = scrape.family(name);
        assert!(!samples.is_empty(), "{name}: no samples after traffic\n{}", scraped.text);
        for sample in samples {
            assert_labels(name, labels, sample);
        }
    }
    assert_each_situation_was_counted(scrape);
    assert_latency_buckets_suit_a_gateway(scrape);
    assert!(
        !scraped.text.contains(STRAY_PATH) && !scraped.text.contains(&scraped.token),
        "request data leaked into labels"
    );
    let promtool = run("promtool", &["check", "metrics"], Some(&scraped.text));
    let report = format!("{}{}", text(&promtool.stdout), text(&promtool.stderr));
    assert!(promtool.status.success() && report.trim().is_empty(), "promtool check metrics:\n{report}");
}

/// The label names are exactly the contract's (plus `le` on buckets), and every value comes
/// from configuration or a fixed vocabulary.
fn assert_labels(family: &str, expected: &[&str], sample: &Sample) {
    let mut names: BTreeSet<&str> = expected.iter().copied().collect();
    if sample.name.ends_with("_bucket") {
        names.insert("le");
    }
    assert_eq!(sample.label_names(), names, "{family}: labels of {sample:?}");
    for (label, value) in &sample.labels {
        assert!(bounded(family, label, value), "{family}: {label}=\"{value}\" is not a configured or fixed value");
    }
}

fn bounded(family: &str, label: &str, value: &str) -> bool {
    let one_of = |words: &[&str]| words.contains(&value);
    match label {
        "api" => one_of(API_NAMES),
        "version" => one_of(&["1", ""]),
        "method" => one_of(METHODS),
        "code" => value.len() <= 6 && value.len() >= 3 && value.bytes().all(|b| b.is_ascii_digit()),
        "kind" if family == "tollgate_config_entities" => one_of(ENTITIES),
        "kind" => one_of(&["connect", "timeout", "reset"]),
        "level" => one_of(&["api", "resource", "subscription", "burst", "application"]),
        "listener" => one_of(&["https", "http"]),
        "reason" => one_of(&["network", "server", "unauthorized", "resync", "decode", "io", "protocol"]),
        "entity" => one_of(ENTITIES),
        "key_manager" => value == KEY_MANAGER,
        "result" => one_of(&["ok", "not_modified", "error", "invalid"]),
        "server_name" => value == "default",
        "le" => value == "+Inf" || value.parse::<f64>().is_ok(),
        _ => false,
    }
}

fn assert_each_situation_was_counted(scrape: &Exposition) {
    let has = |name: &str, pairs: &[(&str, &str)]| {
        scrape
            .family(name)
            .iter()
            .any(|s| s.value > 0.0 && pairs.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
    };
    let situations: &[(&str, &[(&str, &str)])] = &[
        ("tollgate_requests_total", &[("api", "Pets"), ("code", "200"), ("method", "GET")]),
        ("tollgate_requests_total", &[("api", "Pets"), ("code", "405"), ("method", "OTHER")]),
        ("tollgate_requests_total", &[("api", ""), ("version", ""), ("code", "404")]),
        ("tollgate_auth_failures_total", &[("api", "Pets"), ("code", "900902")]),
        ("tollgate_throttled_total", &[("api", "Pets"), ("level", "subscription")]),
        ("tollgate_upstream_errors_total", &[("api", "Down"), ("kind", "connect")]),
        ("tollgate_upstream_errors_total", &[("api", "Slow"), ("kind", "timeout")]),
        ("tollgate_upstream_duration_seconds_count", &[("api", "Pets")]),
        ("tollgate_jwks_fetches_total", &[("key_manager", KEY_MANAGER), ("result", "ok")]),
        ("tollgate_config_sync_failures_total", &[("reason", "io")]),
        ("tollgate_config_revision", &[]),
        ("tollgate_config_entities", &[("kind", "api")]),
        ("tollgate_config_last_applied_timestamp_seconds", &[]),
        ("tollgate_tls_handshake_failures_total", &[]),
        ("tollgate_tls_certificate_expiry_timestamp_seconds", &[("server_name", "default")]),
    ];
    for (name, pairs) in situations {
        assert!(has(name, pairs), "{name}{pairs:?} was not counted: {:?}", scrape.family(name));
    }
    let connections: BTreeSet<&str> = scrape
        .family("tollgate_connections_active")
        .iter()
        .filter_map(|s| s.labels.get("listener").map(String::as_str))
        .collect();
    assert_eq!(connections, BTreeSet::from(["http", "https"]));
}

/// Sub-millisecond to a minute, as a gateway's latencies span.
fn assert_latency_buckets_suit_a_gateway(scrape: &Exposition) {
    for name in ["tollgate_request_duration_seconds_bucket", "tollgate_upstream_duration_seconds_bucket"] {
        let bounds: Vec<f64> = scrape
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels.get("api").map(String::as_str) == Some("Pets"))
            .filter_map(|s| s.labels.get("le")?.parse::<f64>().ok())
            .collect();
        let finite: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        assert!(bounds.contains(&f64::INFINITY) && finite.len() >= 10, "{name}: {bounds:?}");
        assert!(
            finite.iter().copied().fold(f64::MAX, f64::min) < 0.001,
            "{name}: no sub-millisecond bucket: {bounds:?}"
        );
        assert!(finite.iter().copied().fold(0.0, f64::max) >= 60.0, "{name}: no bucket at a minute: {bounds:?}");
    }
}
