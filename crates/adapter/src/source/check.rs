//! `tollgate check`: what a configuration directory would serve, and what is wrong with it.

use std::fmt;
use std::path::Path;

use serde::Serialize;
use tollgate_router::api::Api;

use super::directory::{DirectoryLoader, Load};
use super::file::check_is_directory;
use crate::build::SnapshotBuilder;
use crate::catalog::Catalog;
use crate::kind::EntityCounts;
use crate::rejected::Rejected;

/// The result of checking a directory: the APIs that would be served and every error.
/// `errors` is empty when everything in the directory would apply.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub directory: String,
    pub apis: Vec<ApiSummary>,
    pub entities: EntityCounts,
    pub errors: Vec<Rejected>,
}

/// One API that would be served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiSummary {
    pub id: String,
    pub name: String,
    pub version: String,
    pub base_paths: Vec<String>,
    /// Empty: every host.
    pub vhosts: Vec<String>,
    pub blocked: bool,
}

/// Loads `dir` as the file source would, without serving it. A directory that does not
/// exist or cannot be read is reported as an error of the report.
pub fn check_directory(dir: &Path) -> CheckReport {
    let directory = dir.display().to_string();
    let mut report = CheckReport { directory: directory.clone(), ..CheckReport::default() };
    let loaded = check_is_directory(dir).and_then(|()| DirectoryLoader::new(dir.to_owned()).load());
    match loaded {
        Ok(Load::Changed { document, revision }) => {
            let mut catalog = Catalog::new();
            let rejected = catalog.replace(&document);
            let built = SnapshotBuilder::new().build(&mut catalog, revision, 0, rejected);
            report.apis = built.snapshot.routes.apis().map(|api| ApiSummary::of(api)).collect();
            report.entities = built.counts;
            report.errors = built.outstanding;
        }
        Ok(Load::Unchanged) => {}
        Err(error) => report.errors.push(Rejected::document(directory, error)),
    }
    report
}

// === impl CheckReport ===

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {} APIs would be served", self.directory, self.apis.len())?;
        for api in &self.apis {
            let hosts = if api.vhosts.is_empty() { "any host".to_owned() } else { api.vhosts.join(", ") };
            let blocked = if api.blocked { " (BLOCKED)" } else { "" };
            writeln!(f, "  {} {} at {} on {hosts}{blocked}", api.name, api.version, api.base_paths.join(", "))?;
        }
        match self.errors.len() {
            0 => writeln!(f, "no errors"),
            count => {
                writeln!(f, "{count} errors:")?;
                self.errors.iter().try_for_each(|error| writeln!(f, "  {}", error.error))
            }
        }
    }
}

// === impl ApiSummary ===

impl ApiSummary {
    pub fn of(api: &Api) -> Self {
        let strings = |values: &[std::sync::Arc<str>]| values.iter().map(|v| v.to_string()).collect();
        ApiSummary {
            id: api.id().to_string(),
            name: api.name().to_string(),
            version: api.version().to_string(),
            base_paths: strings(&api.base_paths),
            vhosts: strings(&api.vhosts),
            blocked: api.guard.blocked,
        }
    }
}
