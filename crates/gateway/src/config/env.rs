//! `TOLLGATE_` environment variables as overrides of file keys (operator.md): the key path in
//! capitals with `__` between levels. A variable that names no setting is not an error:
//! platforms inject such variables (Kubernetes service links put `TOLLGATE_SERVICE_HOST`,
//! `TOLLGATE_PORT`, ... into every pod of a namespace with a Service named `tollgate`).

use toml::{Table, Value};

use super::error::{ConfigError, Origins};
use super::schema;

/// The prefix of every override.
pub(super) const PREFIX: &str = "TOLLGATE_";

/// Writes each override into `table` (typed by its setting's kind) and records it in
/// `origins`. Returns the variables that name no setting, sorted; a value that is not of its
/// setting's kind is an error naming the variable.
pub(super) fn apply(
    table: &mut Table,
    env: impl IntoIterator<Item = (String, String)>,
    origins: &mut Origins,
    errors: &mut Vec<ConfigError>,
) -> Vec<String> {
    let mut ignored = Vec::new();
    let mut variables: Vec<(String, String)> = env.into_iter().filter(|(name, _)| name.starts_with(PREFIX)).collect();
    variables.sort();
    for (name, text) in variables {
        let key = key_of(&name);
        let Some(setting) = schema::find(&key) else {
            ignored.push(name);
            continue;
        };
        match setting.kind.parse_env(&text) {
            Ok(value) => {
                insert(table, &key, value);
                origins.set_by(&key, &name);
            }
            Err(problem) => errors.push(ConfigError { origin: name, key, problem }),
        }
    }
    ignored
}

/// `TOLLGATE_RATE_LIMIT__REDIS_URL` → `rate_limit.redis_url`.
fn key_of(variable: &str) -> String {
    variable.trim_start_matches(PREFIX).to_ascii_lowercase().replace("__", ".")
}

/// Sets `section.key`; a section that the file gave another type keeps it (and is reported).
fn insert(table: &mut Table, key: &str, value: Value) {
    let Some((section, name)) = key.split_once('.') else { return };
    let entry = table.entry(section).or_insert_with(|| Value::Table(Table::new()));
    if let Value::Table(section) = entry {
        section.insert(name.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn service_links_are_ignored_and_settings_applied() {
        let (mut table, mut origins, mut errors) = (Table::new(), Origins::default(), Vec::new());
        let env = vars(&[
            ("TOLLGATE_PORT", "tcp://10.0.0.1:8443"),
            ("TOLLGATE_SERVICE_HOST", "10.0.0.1"),
            ("TOLLGATE_ADMIN__ADDRESS", "127.0.0.1:0"),
            ("TOLLGATE_SHUTDOWN__DRAIN_SECONDS", "0"),
            ("PATH", "/bin"),
        ]);
        let ignored = apply(&mut table, env, &mut origins, &mut errors);
        assert_eq!(ignored, ["TOLLGATE_PORT", "TOLLGATE_SERVICE_HOST"]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(table["shutdown"]["drain_seconds"], Value::Integer(0));
        assert_eq!(origins.variable("admin.address"), Some("TOLLGATE_ADMIN__ADDRESS"));
    }

    #[test]
    fn a_value_of_the_wrong_kind_names_the_variable() {
        let (mut table, mut origins, mut errors) = (Table::new(), Origins::default(), Vec::new());
        apply(&mut table, vars(&[("TOLLGATE_LOG__ACCESS", "yes")]), &mut origins, &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].origin, "TOLLGATE_LOG__ACCESS");
        assert_eq!(errors[0].key, "log.access");
    }

    #[test]
    fn lists_are_comma_separated() {
        let (mut table, mut origins, mut errors) = (Table::new(), Origins::default(), Vec::new());
        apply(&mut table, vars(&[("TOLLGATE_UPSTREAM__CA_FILES", "/a.pem, /b.pem")]), &mut origins, &mut errors);
        let expected = Value::Array(vec![Value::String("/a.pem".into()), Value::String("/b.pem".into())]);
        assert_eq!(table["upstream"]["ca_files"], expected);
    }
}
