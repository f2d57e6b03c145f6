//! operator.md, "Metrics": every metric with its type and labels on a real scrape after
//! traffic, label values only from configuration, gateway-sized histogram buckets,
//! `promtool check metrics` clean, and every value of a closed label set exported at 0 from
//! the start.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tollgate_tests::{GatewayProcess, eventually};

use super::exposition::{Exposition, Sample};
use super::tools::{run, text};
use super::traffic::{API_NAMES, KEY_MANAGER, STRAY_PATH, scrape_after_traffic};
use crate::support::{api, gateway};

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
    ("tollgate_source_events_total", "counter", &["type", "result"]),
    ("tollgate_config_rejected_entities", "gauge", &["entity"]),
    ("tollgate_tracing_spans_dropped_total", "counter", &[]),
];

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE", "OTHER"];
const ENTITIES: &[&str] =
    &["api", "application", "keyMapping", "subscription", "policy", "keyManager", "revokedToken", "document"];
const REASONS: &[&str] = &["network", "server", "unauthorized", "resync", "decode", "io", "protocol"];
/// control-plane.md's event types, and `unknown` for any other.
const EVENT_TYPES: &[&str] = &[
    "API_DEPLOYED",
    "API_UNDEPLOYED",
    "APPLICATION_UPSERTED",
    "APPLICATION_DELETED",
    "KEY_MAPPING_UPSERTED",
    "KEY_MAPPING_DELETED",
    "SUBSCRIPTION_UPSERTED",
    "SUBSCRIPTION_DELETED",
    "POLICY_UPSERTED",
    "POLICY_DELETED",
    "KEY_MANAGER_UPSERTED",
    "KEY_MANAGER_DELETED",
    "TOKEN_REVOKED",
    "unknown",
];
const EVENT_RESULTS: &[&str] = &["applied", "skipped", "rejected"];
/// A label and every value it may take.
type ClosedSet = (&'static str, &'static [&'static str]);
/// The families whose every label comes from a closed set, with those sets.
pub(super) const CLOSED: &[(&str, &[ClosedSet])] = &[
    ("tollgate_config_rejected_total", &[("entity", ENTITIES)]),
    ("tollgate_config_rejected_entities", &[("entity", ENTITIES)]),
    ("tollgate_config_sync_failures_total", &[("reason", REASONS)]),
    ("tollgate_source_events_total", &[("type", EVENT_TYPES), ("result", EVENT_RESULTS)]),
];

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
        "reason" => one_of(REASONS),
        "entity" => one_of(ENTITIES),
        "key_manager" => value == KEY_MANAGER,
        "type" => one_of(EVENT_TYPES),
        "result" if family == "tollgate_source_events_total" => one_of(EVENT_RESULTS),
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

#[tokio::test]
async fn closed_label_sets_start_at_zero_and_the_rejected_gauge_follows_the_served_files() {
    let gw = gateway()
        .api_file("good.yaml", &api("good", "/good", &["http://127.0.0.1:9".into()], &["GET /x"], ""))
        .start()
        .await;
    let fresh = Exposition::parse(&gw.admin().get("/metrics").await.text());
    for (family, sets) in CLOSED {
        for labels in every_combination(sets) {
            let value = fresh.family(family).iter().find(|s| s.labels == labels).map(|s| s.value);
            assert_eq!(value, Some(0.0), "{family}{labels:?} before anything happened");
        }
    }

    let misspelt = api("typo", "/typo", &["http://127.0.0.1:9".into()], &["GET /x"], "secure: true");
    std::fs::write(gw.dir.join("apis/typo.yaml"), &misspelt).unwrap();
    assert!(document_rejections_become(&gw, 1.0).await, "the gauge counts the rejected file");
    assert_eq!(gw.metric("tollgate_config_rejected_total{entity=\"document\"}").await, Some(1.0));
    std::fs::write(gw.dir.join("apis/typo.yaml"), misspelt.replace("secure:", "isDefaultVersion:")).unwrap();
    assert!(document_rejections_become(&gw, 0.0).await, "the fixed file is no longer rejected");
    assert_eq!(gw.metric("tollgate_config_rejected_total{entity=\"document\"}").await, Some(1.0), "a counter");
}

async fn document_rejections_become(gw: &GatewayProcess, expected: f64) -> bool {
    let series = "tollgate_config_rejected_entities{entity=\"document\"}";
    eventually(Duration::from_secs(10), async || gw.metric(series).await == Some(expected)).await
}

/// Every label set made of one value of each closed set.
fn every_combination(sets: &[ClosedSet]) -> Vec<BTreeMap<String, String>> {
    let mut combinations = vec![BTreeMap::new()];
    for (label, values) in sets {
        let mut next = Vec::new();
        for labels in &combinations {
            for value in *values {
                let mut labels: BTreeMap<String, String> = labels.clone();
                labels.insert((*label).to_owned(), (*value).to_owned());
                next.push(labels);
            }
        }
        combinations = next;
    }
    combinations
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
