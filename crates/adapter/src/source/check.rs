//! `tollgate check`: what a configuration directory would serve, and what is wrong with it;
//! per WSO2 input, the Api it became or why it was refused.

use std::fmt;
use std::path::Path;

use serde::Serialize;
use tollgate_router::api::Api;

use super::directory::{DirectoryLoader, Load};
use super::file::check_is_directory;
use super::wso2_files::{Wso2Form, Wso2Mapping};
use crate::build::SnapshotBuilder;
use crate::catalog::Catalog;
use crate::dto::{ApiDto, EndpointDto, OperationDto};
use crate::kind::EntityCounts;
use crate::rejected::{EntityKind, Rejected};
use crate::validate::ValidationSettings;

/// The result of checking a directory: the APIs that would be served and every error.
/// `errors` is empty when everything in the directory would apply.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub directory: String,
    pub apis: Vec<ApiSummary>,
    pub entities: EntityCounts,
    pub errors: Vec<Rejected>,
    /// Each WSO2 input (apictl project or OpenAPI document), in name order.
    pub wso2: Vec<Wso2Report>,
}

/// What one WSO2 input became: exactly one of `api` and `refused`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wso2Report {
    /// The file, or the project directory (`name/`).
    pub file: String,
    pub form: Wso2Form,
    pub api: Option<Wso2Api>,
    /// The refused feature, why its files could not be read, or the engine's rejection of
    /// the Api it mapped to.
    pub refused: Option<String>,
}

/// The Api a WSO2 input became, as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Wso2Api {
    pub id: String,
    pub base_paths: Vec<String>,
    pub security_schemes: Vec<String>,
    /// `VERB /target`, whether it is secured, its scopes and tier.
    pub operations: Vec<String>,
    /// `production: url, url (type)` and the same for sandbox.
    pub endpoints: Vec<String>,
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

/// Loads `dir` as the file source would on a gateway configured as `settings` says, without
/// serving it. A directory that does not exist or cannot be read is reported as an error of
/// the report.
pub fn check_directory(dir: &Path, settings: ValidationSettings) -> CheckReport {
    let directory = dir.display().to_string();
    let mut report = CheckReport { directory: directory.clone(), ..CheckReport::default() };
    let mut loader = DirectoryLoader::new(dir.to_owned());
    let loaded = check_is_directory(dir).and_then(|()| loader.load());
    match loaded {
        Ok(Load::Changed { document, revision }) => {
            let mut catalog = Catalog::with_settings(settings);
            let rejected = catalog.replace(&document);
            let built = SnapshotBuilder::new().build(&mut catalog, revision, 0, rejected);
            report.apis = built.snapshot.routes.apis().map(|api| ApiSummary::of(api)).collect();
            report.entities = built.counts;
            report.errors = built.outstanding;
            report.wso2 = loader.wso2_mappings().iter().map(|(file, m)| Wso2Report::of(file, m, &report)).collect();
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
        if !self.wso2.is_empty() {
            writeln!(f, "WSO2 definitions:")?;
            self.wso2.iter().try_for_each(|wso2| write!(f, "{wso2}"))?;
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

// === impl Wso2Report ===

impl Wso2Report {
    /// `mapping` of `file`, with what the engine made of the Api it mapped to (`report`).
    fn of(file: &str, mapping: &Wso2Mapping, report: &CheckReport) -> Self {
        let mut wso2 = Wso2Report { file: file.to_owned(), form: mapping.form, api: None, refused: None };
        match (&mapping.api, mapping.api_id()) {
            (Err(reason), _) => wso2.refused = Some(reason.clone()),
            (Ok(dto), Some(id)) => match report.apis.iter().find(|api| api.id == id) {
                Some(served) => wso2.api = Some(Wso2Api::of(dto, served)),
                None => wso2.refused = Some(engine_rejection(report, id)),
            },
            (Ok(_), None) => wso2.refused = Some("the mapped Api has no id".to_owned()),
        }
        wso2
    }
}

impl fmt::Display for Wso2Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form = self.form.describe();
        let Some(api) = &self.api else {
            return writeln!(f, "  {} ({form}): refused: {}", self.file, self.refused.as_deref().unwrap_or("?"));
        };
        writeln!(f, "  {} ({form}): api {:?} at {}", self.file, api.id, api.base_paths.join(", "))?;
        writeln!(f, "    security: {}", api.security_schemes.join(", "))?;
        api.operations.iter().try_for_each(|operation| writeln!(f, "    {operation}"))?;
        api.endpoints.iter().try_for_each(|endpoint| writeln!(f, "    {endpoint}"))
    }
}

/// Why the engine did not serve the Api `id` (a validation error, a conflict).
fn engine_rejection(report: &CheckReport, id: &str) -> String {
    let rejection = report.errors.iter().find(|e| e.entity == EntityKind::Api && e.id == id);
    rejection.map_or_else(|| format!("api {id:?} is not served"), |rejection| rejection.error.clone())
}

// === impl Wso2Api ===

impl Wso2Api {
    fn of(dto: &ApiDto<'_>, served: &ApiSummary) -> Self {
        let texts =
            |list: &Option<Vec<std::borrow::Cow<'_, str>>>| list.iter().flatten().map(|t| t.to_string()).collect();
        let endpoints = dto.endpoints.as_ref();
        let named = [
            ("production", endpoints.and_then(|e| e.production.as_ref())),
            ("sandbox", endpoints.and_then(|e| e.sandbox.as_ref())),
        ];
        Wso2Api {
            id: served.id.clone(),
            base_paths: served.base_paths.clone(),
            security_schemes: texts(&dto.security_schemes),
            operations: dto.operations.iter().flatten().map(describe_operation).collect(),
            endpoints: named.into_iter().filter_map(|(name, e)| Some(describe_endpoint(name, e?))).collect(),
        }
    }
}

fn describe_operation(op: &OperationDto<'_>) -> String {
    let (verb, target) = (op.verb.as_deref().unwrap_or("?"), op.target.as_deref().unwrap_or("?"));
    let secured = if op.secured == Some(false) { "unsecured" } else { "secured" };
    let scopes: Vec<&str> = op.scopes.iter().flatten().map(|s| s.as_ref()).collect();
    let mut text = format!("{verb} {target} {secured}");
    if !scopes.is_empty() {
        text.push_str(&format!(", scopes (any one): {}", scopes.join(" ")));
    }
    if let Some(tier) = op.throttling_policy.as_deref() {
        text.push_str(&format!(", tier {tier}"));
    }
    text
}

fn describe_endpoint(name: &str, endpoint: &EndpointDto<'_>) -> String {
    let urls: Vec<&str> = endpoint.urls.iter().flatten().map(|u| u.as_ref()).collect();
    let kind = endpoint.kind.as_deref().unwrap_or("load_balance");
    format!("{name}: {} ({kind})", urls.join(", "))
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
