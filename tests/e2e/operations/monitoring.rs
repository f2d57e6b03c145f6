//! k8s/monitoring: the alert rules pass `promtool check rules` and their unit tests, whose
//! input series are shaped as a real scrape exports them; the PrometheusRule carries the same
//! rules, every alert's runbook exists in docs/operations.md, and the Grafana dashboard parses
//! and queries only metrics a real gateway exports.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::exposition::Exposition;
use super::metrics::{CLOSED, CONTRACT};
use super::promql::metric_names;
use super::tools::{read, run_ok, yaml_documents};
use super::traffic::scrape_after_traffic;
use crate::support::{api, gateway};

const ALERTS: &str = "k8s/monitoring/alerts.yaml";
const DASHBOARD: &str = "k8s/monitoring/dashboard.json";

/// What the issue asks the alerts to cover, by name.
const REQUIRED_ALERTS: &[&str] = &[
    "TollgateHighErrorRatio",
    "TollgateConfigSyncStalled",
    "TollgateJwksFetchFailing",
    "TollgateCertificateExpiresSoon",
];
/// What the dashboard must show, by the metric each panel reads.
const REQUIRED_PANELS: &[&str] = &[
    "tollgate_requests_total",
    "tollgate_request_duration_seconds_bucket",
    "tollgate_upstream_duration_seconds_bucket",
    "tollgate_throttled_total",
    "tollgate_auth_failures_total",
    "tollgate_config_revision",
    "tollgate_config_sync_failures_total",
    "tollgate_connections_active",
];

#[test]
fn promtool_checks_and_unit_tests_the_alert_rules() {
    let checked = run_ok("promtool", &["check", "rules", ALERTS], None);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = run_ok("promtool", &["test", "rules", "k8s/monitoring/alerts.test.yaml"], None);
    assert!(tested.contains("SUCCESS"), "{tested}");
    let names: BTreeSet<String> = alert_rules().iter().map(|rule| rule["alert"].as_str().unwrap().to_owned()).collect();
    for required in REQUIRED_ALERTS {
        assert!(names.contains(*required), "{required} missing from {ALERTS}");
    }
    let tests = read("k8s/monitoring/alerts.test.yaml");
    for name in &names {
        assert!(tests.contains(&format!("alertname: {name}\n")), "{name} has no unit test in alerts.test.yaml");
    }
}

/// Labels Prometheus adds from the scrape target; the gateway does not export them.
const TARGET_LABELS: [&str; 2] = ["namespace", "instance"];

#[tokio::test]
async fn the_alert_tests_start_from_series_shaped_like_a_real_scrape() {
    let urls = ["http://127.0.0.1:9".to_owned()];
    let gw = gateway().api_file("good.yaml", &api("good", "/good", &urls, &["GET /x"], "")).start().await;
    let fresh = Exposition::parse(&gw.admin().get("/metrics").await.text());
    let tests = yaml_documents(&read("k8s/monitoring/alerts.test.yaml")).remove(0);
    let inputs = tests["tests"].as_array().unwrap().iter().flat_map(|test| test["input_series"].as_array().unwrap());
    for input in inputs {
        let (name, labels) = selector(input["series"].as_str().unwrap());
        let contract = CONTRACT.iter().find(|(family, ..)| *family == name);
        let (_, _, names) =
            contract.unwrap_or_else(|| panic!("{name} (alerts.test.yaml) is not a metric of operator.md"));
        let expected: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(labels.keys().map(String::as_str).collect::<BTreeSet<_>>(), expected, "{name}: labels");
        if CLOSED.iter().any(|(family, _)| *family == name) {
            let exported = fresh.family(&name).iter().find(|sample| sample.labels == labels).map(|sample| sample.value);
            assert_eq!(exported, Some(0.0), "{name}{labels:?}: a fresh gateway exports it at 0");
            let values = input["values"].as_str().unwrap();
            let first = values.split([' ', '+', 'x']).next();
            assert_eq!(first, Some("0"), "{name}: the alert test's series starts at {values:?}, not at 0");
        }
    }
}

/// `name{a="x",b="y"}` → the name and its labels, without the target's.
fn selector(series: &str) -> (String, BTreeMap<String, String>) {
    let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
    let pairs = labels.trim_end_matches('}').split(',').filter(|pair| !pair.is_empty());
    let labels = pairs
        .map(|pair| pair.split_once('=').unwrap_or_else(|| panic!("{series}: {pair}")))
        .filter(|(label, _)| !TARGET_LABELS.contains(label))
        .map(|(label, value)| (label.to_owned(), value.trim_matches('"').to_owned()));
    (name.to_owned(), labels.collect())
}

#[test]
fn every_alert_links_a_runbook_section_of_the_operations_guide() {
    let guide = read("docs/operations.md");
    let anchors: BTreeSet<String> = guide
        .lines()
        .filter_map(|line| line.strip_prefix("### "))
        .map(|heading| heading.trim().to_lowercase())
        .collect();
    for rule in alert_rules() {
        let runbook = rule["annotations"]["runbook"].as_str().unwrap_or_default();
        let anchor = runbook
            .strip_prefix("docs/operations.md#")
            .unwrap_or_else(|| panic!("{}: runbook {runbook:?}", rule["alert"]));
        assert!(anchors.contains(anchor), "{}: no `### ` heading for #{anchor} in docs/operations.md", rule["alert"]);
    }
}

#[test]
fn the_prometheus_rule_carries_the_same_groups_as_the_rules_file() {
    let plain = yaml_documents(&read(ALERTS)).remove(0);
    let operator = yaml_documents(&read("k8s/monitoring/prometheus-rule.yaml")).remove(0);
    assert_eq!(operator["kind"], "PrometheusRule");
    assert_eq!(operator["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(operator["spec"]["groups"], plain["groups"], "prometheus-rule.yaml differs from {ALERTS}");
}

#[tokio::test]
async fn the_dashboard_and_the_alerts_read_only_metrics_the_gateway_exports() {
    let dashboard: Value = serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"));
    assert_panels_are_well_formed(&dashboard);
    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 15, "{DASHBOARD}: only {} queries", queries.len());
    promtool_parses(&queries);
    let alerts: Vec<String> = alert_rules().iter().map(|rule| rule["expr"].as_str().unwrap().to_owned()).collect();
    let exported = scrape_after_traffic().await.exposition.exported_names();
    for query in queries.iter().chain(&alerts) {
        for name in metric_names(query) {
            assert!(exported.contains(&name), "`{name}` (in `{query}`) is not exported by the gateway: {exported:?}");
        }
    }
    for required in REQUIRED_PANELS {
        assert!(queries.iter().any(|q| metric_names(q).contains(*required)), "{DASHBOARD} has no panel on {required}");
    }
}

/// Unique ids, on the 24-column grid, each query panel on the `$datasource` variable with
/// `refId`s.
fn assert_panels_are_well_formed(dashboard: &Value) {
    let panels = dashboard["panels"].as_array().unwrap();
    let ids: BTreeSet<u64> = panels.iter().filter_map(|p| p["id"].as_u64()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    for panel in panels {
        let grid = &panel["gridPos"];
        let (x, w) = (grid["x"].as_u64().unwrap(), grid["w"].as_u64().unwrap());
        assert!(x + w <= 24 && grid["h"].as_u64() > Some(0), "{}: gridPos {grid}", panel["title"]);
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{}", panel["title"]);
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty() && targets.iter().all(|t| t["refId"].is_string()), "{}", panel["title"]);
    }
}

fn alert_rules() -> Vec<Value> {
    let rules = yaml_documents(&read(ALERTS)).remove(0);
    rules["groups"].as_array().unwrap().iter().flat_map(|group| group["rules"].as_array().unwrap().clone()).collect()
}

/// Every PromQL expression of the dashboard: panel targets (rows included) and the metric
/// selector inside each `label_values(selector, label)` variable query.
fn dashboard_queries(dashboard: &Value) -> Vec<String> {
    let mut queries = Vec::new();
    collect_exprs(&dashboard["panels"], &mut queries);
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        let query = variable["query"]["query"].as_str().or_else(|| variable["query"].as_str()).unwrap_or_default();
        if let Some(inner) = query.strip_prefix("label_values(").and_then(|q| q.strip_suffix(')')) {
            queries.push(inner.rsplit_once(',').map_or(inner, |(selector, _label)| selector).to_owned());
        }
    }
    queries
}

fn collect_exprs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(expr)) = object.get("expr") {
                into.push(expr.clone());
            }
            object.values().for_each(|v| collect_exprs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, into)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// `promtool check rules` on the queries as recording rules, Grafana's variables filled in.
fn promtool_parses(queries: &[String]) {
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, query) in queries.iter().enumerate() {
        let filled = query
            .replace("$__rate_interval", "5m")
            .replace("$__interval", "1m")
            .replace("$__range", "1h")
            .replace("$instance", ".*")
            .replace("$api", ".*");
        rules += &format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&filled).unwrap()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dashboard-rules.yaml");
    std::fs::write(&path, rules).unwrap();
    let checked = run_ok("promtool", &["check", "rules", path.to_str().unwrap()], None);
    assert!(checked.contains(&format!("{} rules found", queries.len())), "{checked}");
}
