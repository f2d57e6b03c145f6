//! The file and the environment → a checked [`Config`]: TOML syntax, then every key against
//! the schema (all problems at once), then the typed structure.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

use super::error::{ConfigError, ConfigErrors, Origins};
use super::schema::{self, Kind};
use super::{Config, env};
use tollgate_adapter::dto::keys::nearest;

/// The default file, read when no `--config` is given and it exists.
const DEFAULT_FILE: &str = "config/gateway.toml";

/// A configuration whose every key is known and of its kind, with where each value came from
/// and the `TOLLGATE_` variables that named no setting (to be logged once logging is set up).
#[derive(Debug, Clone)]
pub struct Parsed {
    pub config: Config,
    pub origins: Origins,
    pub ignored_variables: Vec<String>,
}

/// Reads `path` (or, with none, `config/gateway.toml` when it exists, else the defaults),
/// applies the `TOLLGATE_*` overrides of `env`, and checks every key. The rules that involve
/// several keys or files are [`validate`](super::validate)'s.
pub fn parse(path: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Parsed, ConfigErrors> {
    let path = chosen_file(path);
    let mut origins = Origins::new(path.as_deref());
    let mut table = match &path {
        Some(path) => read_table(path)?,
        None => Table::new(),
    };
    let mut errors = Vec::new();
    let ignored_variables = env::apply(&mut table, env, &mut origins, &mut errors);
    check_keys(&table, &origins, &mut errors);
    let parsed = ConfigErrors::or_ok(errors, table)?;
    let config = Config::deserialize(Value::Table(parsed))
        .map_err(|error| ConfigErrors(vec![origins.error("", error.message().to_owned())]))?;
    Ok(Parsed { config, origins, ignored_variables })
}

fn chosen_file(path: Option<&Path>) -> Option<PathBuf> {
    let default = Path::new(DEFAULT_FILE);
    match path {
        Some(path) => Some(path.to_owned()),
        None => default.exists().then(|| default.to_owned()),
    }
}

fn read_table(path: &Path) -> Result<Table, ConfigErrors> {
    let origin = path.display().to_string();
    let fail =
        |problem: String| ConfigErrors(vec![ConfigError { origin: origin.clone(), key: String::new(), problem }]);
    let text = std::fs::read_to_string(path).map_err(|error| fail(format!("cannot read: {error}")))?;
    text.parse::<Table>().map_err(|error| fail(format!("not valid TOML: {}", error.to_string().trim_end())))
}

/// Every key of `table` must be a setting, with a value of its kind.
fn check_keys(table: &Table, origins: &Origins, errors: &mut Vec<ConfigError>) {
    for (section, value) in table {
        if !schema::is_section(section) {
            errors.push(origins.error(section, unknown("section", section, schema::sections())));
            continue;
        }
        let Value::Table(keys) = value else {
            errors.push(origins.error(section, format!("must be a section ([{section}])")));
            continue;
        };
        for (name, value) in keys {
            let key = format!("{section}.{name}");
            match schema::find(&key) {
                None => errors.push(origins.error(&key, unknown("key", &key, schema::keys_of(section)))),
                Some(setting) => check_value(&key, &setting.kind, value, origins, errors),
            }
        }
        let missing = schema::REQUIRED.iter().filter(|key| key.split_once('.').is_some_and(|(s, _)| s == section));
        for key in missing.filter(|key| !keys.contains_key(key.rsplit('.').next().unwrap_or(key))) {
            errors.push(origins.error(key, "is required"));
        }
    }
}

fn check_value(key: &str, kind: &Kind, value: &Value, origins: &Origins, errors: &mut Vec<ConfigError>) {
    if let Some(problem) = kind.problem(value) {
        errors.push(origins.error(key, problem));
        return;
    }
    let (Kind::Tables(settings), Value::Array(tables)) = (kind, value) else { return };
    for (index, table) in tables.iter().enumerate().filter_map(|(i, t)| Some((i, t.as_table()?))) {
        for (name, value) in table {
            let key = format!("{key}[{index}].{name}");
            match settings.iter().find(|setting| setting.key == name) {
                None => errors.push(origins.error(&key, unknown("key", name, settings.iter().map(|s| s.key)))),
                Some(setting) => check_value(&key, &setting.kind, value, origins, errors),
            }
        }
        for missing in settings.iter().filter(|setting| !table.contains_key(setting.key)) {
            errors.push(origins.error(&format!("{key}[{index}].{}", missing.key), "is required"));
        }
    }
}

/// "unknown key (did you mean `scopes`?)".
fn unknown<'k>(what: &str, name: &str, known: impl IntoIterator<Item = &'k str>) -> String {
    let last = name.rsplit('.').next().unwrap_or(name);
    // The same suggestion as for a misspelt key in an API definition.
    match nearest(last, known) {
        Some(near) => format!("unknown {what} (did you mean `{near}`?)"),
        None => format!("unknown {what}"),
    }
}

#[cfg(test)]
mod tests;
