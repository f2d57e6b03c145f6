//! What is wrong with a configuration, and where each value came from, so that every error
//! names the file or the environment variable to fix.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One problem: where (the file or the variable), which key, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, the `TOLLGATE_` variable, or "built-in defaults".
    pub origin: String,
    /// `section.key`, or empty for the file as a whole (a syntax error).
    pub key: String,
    pub problem: String,
}

/// Every problem found (never empty): the configuration cannot be used, exit 64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

/// Where each value comes from: the file, unless a variable overrode it.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    file: Option<PathBuf>,
    /// `section.key` → the variable that set it.
    variables: BTreeMap<String, String>,
}

// === impl ConfigError ===

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key.is_empty() {
            true => write!(f, "{}: {}", self.origin, self.problem),
            false => write!(f, "{}: {}: {}", self.origin, self.key, self.problem),
        }
    }
}

// === impl ConfigErrors ===

impl ConfigErrors {
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    /// `Ok(value)` when nothing was found.
    pub(super) fn or_ok<T>(errors: Vec<ConfigError>, value: T) -> Result<T, ConfigErrors> {
        match errors.is_empty() {
            true => Ok(value),
            false => Err(ConfigErrors(errors)),
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        write!(f, "invalid configuration ({count} error{}):", if count == 1 { "" } else { "s" })?;
        self.0.iter().try_for_each(|error| write!(f, "\n  {error}"))
    }
}

// === impl Origins ===

impl Origins {
    pub(super) fn new(file: Option<&Path>) -> Self {
        Origins { file: file.map(Path::to_owned), variables: BTreeMap::new() }
    }

    pub(super) fn set_by(&mut self, key: &str, variable: &str) {
        self.variables.insert(key.to_owned(), variable.to_owned());
    }

    /// The variable that set `key`, if one did.
    pub fn variable(&self, key: &str) -> Option<&str> {
        self.variables.get(key).map(String::as_str)
    }

    /// An error about `key` (`section.key`, or a key inside it), told where its value is.
    pub fn error(&self, key: &str, problem: impl Into<String>) -> ConfigError {
        let setting = key.split('[').next().unwrap_or(key);
        let origin = match (self.variables.get(setting), &self.file) {
            (Some(variable), _) => variable.clone(),
            (None, Some(file)) => file.display().to_string(),
            (None, None) => "built-in defaults".to_owned(),
        };
        ConfigError { origin, key: key.to_owned(), problem: problem.into() }
    }
}
