//! docs/: the configuration reference lists every key of the configuration types with its
//! real default and environment variable.

use std::collections::BTreeMap;

use serde_json::Value;
use tollgate_gateway::config::{self, Config};

use super::tools::read;

/// Keys that only a file can set (a list of tables).
const FILE_ONLY: &[&str] = &["tls.sni"];

#[test]
fn the_configuration_reference_lists_every_key_with_its_default_and_environment_variable() {
    let rows = reference_rows(&read("docs/configuration.md"));
    let defaults = leaves(&serde_json::to_value(Config::default()).unwrap());
    let mut keys: Vec<String> = leaves(&serde_json::to_value(every_section()).unwrap()).into_keys().collect();
    keys.push("source.token".into()); // never serialised: a secret
    for key in &keys {
        let (default, environment) =
            rows.get(key).unwrap_or_else(|| panic!("docs/configuration.md has no row for `{key}`"));
        let variable = format!("`TOLLGATE_{}`", key.to_uppercase().replace('.', "__"));
        match FILE_ONLY.contains(&key.as_str()) {
            true => assert_eq!(environment, "file only", "{key}"),
            false => assert_eq!(environment, &variable, "{key}"),
        }
        let documented = match defaults.get(key) {
            Some(Value::Null) => "none".to_owned(),
            Some(value) => format!("`{}`", toml_value(value)),
            None if key == "source.token" => "`\"\"`".to_owned(),
            None => continue, // in a section that is absent by default ([tls])
        };
        assert_eq!(default, &documented, "documented default of `{key}`");
    }
    let stale: Vec<&String> = rows.keys().filter(|row| !keys.contains(row)).collect();
    assert!(stale.is_empty(), "docs/configuration.md documents keys that do not exist: {stale:?}");
}

/// A configuration with every optional section present, so that their keys serialise.
fn every_section() -> Config {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    let toml = "[tls]\ncert = \"a.crt\"\nkey = \"a.key\"\n[[tls.sni]]\nserver_names = [\"x\"]\ncert = \"b.crt\"\nkey = \"b.key\"\n\
                [backend_jwt]\nkey = \"jwt.pem\"\n";
    std::fs::write(&path, toml).unwrap();
    config::parse(Some(&path), Vec::new()).unwrap().config
}

/// `section.key` → value, arrays kept whole.
fn leaves(value: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (section, keys) in value.as_object().unwrap() {
        match keys {
            Value::Object(keys) => out.extend(keys.iter().map(|(key, v)| (format!("{section}.{key}"), v.clone()))),
            Value::Null => {}
            other @ (Value::Bool(_) | Value::Number(_) | Value::String(_) | Value::Array(_)) => {
                panic!("top-level key {section} = {other} is not a section")
            }
        }
    }
    out
}

fn toml_value(value: &Value) -> String {
    match value {
        Value::Array(items) if items.is_empty() => "[]".into(),
        other @ (Value::Null
        | Value::Bool(_)
        | Value::Number(_)
        | Value::String(_)
        | Value::Array(_)
        | Value::Object(_)) => other.to_string(),
    }
}

/// `key` → (default cell, environment cell) from the reference table.
fn reference_rows(markdown: &str) -> BTreeMap<String, (String, String)> {
    markdown
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            (cells[0].trim_matches('`').to_owned(), (cells[1].to_owned(), cells[2].to_owned()))
        })
        .collect()
}
