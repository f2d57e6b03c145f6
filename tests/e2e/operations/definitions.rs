//! docs/definitions.md, the reference of the API definitions: every `yaml` example loads on
//! its own through the file source's check (`check_directory`, what `tollgate check` runs)
//! without a rejection, every entity it shows is counted, and every key it uses is one the
//! page documents; and the fields the page marks as not yet served behave as it says.

use std::collections::BTreeSet;

use serde_json::Value;
use tollgate_adapter::validate::ValidationSettings;
use tollgate_adapter::{CheckReport, check_directory};

use super::tools::{read, yaml_documents};

const PAGE: &str = "docs/definitions.md";
/// The arrays of a (partial) snapshot.
const ARRAYS: [&str; 7] =
    ["apis", "applications", "keyMappings", "subscriptions", "policies", "keyManagers", "revokedTokens"];
/// Maps whose keys are the user's own, not fields.
const FREE_FORM: &[&str] = &["attributes"];

#[test]
fn every_yaml_example_of_the_definitions_reference_loads_without_a_rejection() {
    let page = read(PAGE);
    let examples = yaml_blocks(&page);
    assert!(examples.len() >= 8, "{PAGE}: expected an example per entity, found {} yaml blocks", examples.len());
    for (line, example) in &examples {
        let shown = entities_shown(*line, example);
        let report = check(example);
        assert!(report.is_ok(), "{PAGE}, the yaml block at line {line} is rejected:\n{report}");
        assert_eq!(counted(&report), shown, "{PAGE}, line {line}: not every entity shown was loaded:\n{report}");
    }
}

/// Each key an example uses must be a field the page documents (as `` `key` ``): a key the
/// code knows but the page does not would pass the loading test undocumented.
#[test]
fn every_key_the_examples_use_is_a_documented_field() {
    let page = read(PAGE);
    let prose = prose(&page);
    for (line, example) in yaml_blocks(&page) {
        let mut keys = BTreeSet::new();
        for document in yaml_documents(&example) {
            collect_keys(&document, &mut keys);
        }
        let undocumented: Vec<&String> = keys.iter().filter(|key| !prose.contains(&format!("`{key}`"))).collect();
        assert!(undocumented.is_empty(), "{PAGE}, yaml block at line {line} uses undocumented keys {undocumented:?}");
    }
}

/// Every security scheme is served (`mutualssl` with its `clientCertificates`, which are not
/// read without it), and `backendJwt: true` rejects the Api on a gateway without
/// `[backend_jwt]` (this check has none): the page no longer lists anything as not yet served.
/// When that changes, the page must change with it.
#[test]
fn credential_fields_are_served_or_rejected_as_the_reference_says() {
    let page = read(PAGE);
    assert!(!page.contains("### Not yet served"), "{PAGE}: every model field is served now");
    for scheme in ["mutualssl", "mutualssl_mandatory"] {
        let report = check(&api_with(&format!("securitySchemes: [oauth2, {scheme}]")));
        let errors: Vec<&str> = report.errors.iter().map(|e| e.error.as_str()).collect();
        assert!(report.apis.is_empty(), "an Api with {scheme} and no certificates is served:\n{report}");
        assert!(errors.len() == 1 && errors[0].contains("clientCertificates: required"), "{scheme}: {errors:?}");
    }
    for scheme in ["api_key", "oauth_basic_auth_api_key_mandatory"] {
        let report = check(&api_with(&format!("securitySchemes: [oauth2, {scheme}]")));
        assert!(report.is_ok() && report.apis.len() == 1, "an Api with {scheme} is not served:\n{report}");
    }
    let unread = check(&api_with("clientCertificates: [{alias: partner, certificate: not-checked}]"));
    assert!(unread.is_ok() && unread.apis.len() == 1, "without mutualssl the certificates are not read:\n{unread}");
    let report = check(&api_with("backendJwt: true"));
    let errors: Vec<&str> = report.errors.iter().map(|e| e.error.as_str()).collect();
    assert!(report.apis.is_empty(), "an Api asking for a backend JWT is served without one:\n{report}");
    assert!(errors.len() == 1 && errors[0].contains("backendJwt: needs a backend JWT signing key"), "{errors:?}");
    assert!(check(&api_with("backendJwt: false")).is_ok(), "backendJwt: false is served as before");
}

/// An Api that loads, with `extra` as one more field.
fn api_with(extra: &str) -> String {
    format!(
        "apis:\n  - id: a\n    name: A\n    version: v1\n    context: /a\n    {extra}\n    endpoints:\n      \
         production: {{urls: [\"http://127.0.0.1:1\"]}}\n    operations: [{{target: /, verb: GET}}]\n"
    )
}

/// Loads `yaml` as the only file of a definitions directory, as `tollgate check` would.
fn check(yaml: &str) -> CheckReport {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("definitions.yaml"), yaml).unwrap();
    check_directory(dir.path(), ValidationSettings::default())
}

/// Each ```yaml block of `markdown`, with the line it starts on.
fn yaml_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match (&mut open, line.trim_end()) {
            (None, "```yaml") => open = Some((i + 1, String::new())),
            (Some(_), "```") => blocks.extend(open.take()),
            (Some((_, text)), line) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(open.is_none(), "{PAGE}: a yaml block is not closed");
    blocks
}

/// The page without its yaml blocks.
fn prose(markdown: &str) -> String {
    let mut in_yaml = false;
    let mut kept = Vec::new();
    for line in markdown.lines() {
        match (in_yaml, line.trim_end()) {
            (false, "```yaml") => in_yaml = true,
            (true, "```") => in_yaml = false,
            (false, _) => kept.push(line),
            (true, _) => {}
        }
    }
    kept.join("\n")
}

/// The entities an example shows; its top-level keys must all be snapshot arrays.
fn entities_shown(line: usize, example: &str) -> u64 {
    let documents = yaml_documents(example);
    assert_eq!(documents.len(), 1, "{PAGE}, line {line}: one YAML document per block");
    let arrays = documents[0].as_object().unwrap_or_else(|| panic!("{PAGE}, line {line}: not a map"));
    arrays
        .iter()
        .map(|(key, entities)| {
            assert!(ARRAYS.contains(&key.as_str()), "{PAGE}, line {line}: {key:?} is not a snapshot array");
            entities.as_array().unwrap_or_else(|| panic!("{PAGE}, line {line}: {key} is not a list")).len() as u64
        })
        .sum()
}

fn counted(report: &CheckReport) -> u64 {
    let counts = serde_json::to_value(report.entities).unwrap();
    counts.as_object().unwrap().values().map(|count| count.as_u64().unwrap()).sum()
}

fn collect_keys(value: &Value, keys: &mut BTreeSet<String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                keys.insert(key.clone());
                if !FREE_FORM.contains(&key.as_str()) {
                    collect_keys(field, keys);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_keys(item, keys)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}
