//! WSO2 definitions in the file source (contract/wso2.md, last section): an apictl project
//! directory, or an OpenAPI 3 / Swagger 2 document with `x-wso2-*` extensions, each mapped
//! onto one Api by the WSO2 mapping ([`crate::wso2`]) that the `wso2-apim` source uses.
//!
//! Reading a project is bounded ([`ProjectLimits`]): files, bytes and depth are counted, a
//! symbolic link to a directory is never followed (no loops), and names must be UTF-8.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::dto::{ApiDto, Document, RawEntity};
use crate::rejected::{EntityKind, Rejected};
use crate::wso2::{ApiProject, Entry, OpenApi, Placement, Refusal, api_from_openapi, api_from_project};

/// The files that make a directory an apictl project (at its top).
const API_FILES: [&str; 3] = ["api.yaml", "api.yml", "api.json"];

/// How much of a project directory is read: an apictl project is a handful of small files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProjectLimits {
    pub(crate) max_files: usize,
    pub(crate) max_file_bytes: u64,
    pub(crate) max_total_bytes: u64,
    /// Directories below the project's own (`Definitions/` is 1).
    pub(crate) max_depth: usize,
}

pub(crate) const PROJECT_LIMITS: ProjectLimits =
    ProjectLimits { max_files: 256, max_file_bytes: 4 * 1024 * 1024, max_total_bytes: 16 * 1024 * 1024, max_depth: 4 };

/// Why a project directory could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProjectError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: a file name that is not UTF-8")]
    NameNotUtf8 { path: String },
    #[error("{path}: symbolic links to directories are not followed")]
    LinkedDirectory { path: String },
    #[error("{path}: nested more than {max} directories deep")]
    TooDeep { path: String, max: usize },
    #[error("more than {max} files")]
    TooManyFiles { max: usize },
    #[error("{path} is {len} bytes; the limit is {max}")]
    FileTooLarge { path: String, len: u64, max: u64 },
    #[error("the files hold more than {max} bytes")]
    TooLarge { max: u64 },
}

/// Which WSO2 form a file-source input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Wso2Form {
    ApictlProject,
    OpenApi,
}

/// What one WSO2 input of the file source became: the Api it maps to, or why it is
/// refused (the feature, or why its files could not be read).
#[derive(Debug, Clone)]
pub(crate) struct Wso2Mapping {
    pub(crate) form: Wso2Form,
    pub(crate) api: Result<ApiDto<'static>, String>,
}

/// Top-level keys that tell what a document is.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Probe {
    openapi: Option<IgnoredAny>,
    swagger: Option<IgnoredAny>,
    /// WSO2's envelope (`{"type": "api", "data": ...}`); never a model.md key.
    #[serde(rename = "type")]
    kind: Option<String>,
}

// === impl Wso2Mapping ===

impl Wso2Mapping {
    /// An OpenAPI / Swagger document alone.
    pub(crate) fn of_openapi(name: &str, bytes: &[u8]) -> Self {
        let api = OpenApi::from_file(name, bytes)
            .map_err(|error| error.to_string())
            .and_then(|doc| api_from_openapi(&doc).map_err(|refusal| refusal.to_string()));
        Wso2Mapping { form: Wso2Form::OpenApi, api }
    }

    /// An apictl project, served on the vhosts of every entry of its
    /// `deployment_environments.yaml` (any host when one has none, or there is none).
    pub(crate) fn of_project(files: &Result<Vec<Entry>, ProjectError>) -> Self {
        let api = files.as_ref().map_err(ToString::to_string).and_then(|files| {
            let project = ApiProject::from_files(files).map_err(|error| error.to_string())?;
            let labels: Vec<&str> =
                project.deployment_environments.iter().map(|spec| spec.deployment_environment.as_str()).collect();
            let placement =
                Placement::from_deployment_environments(&project.deployment_environments, &labels).unwrap_or_default();
            api_from_project(&project, &placement).map_err(|refusal: Refusal| refusal.to_string())
        });
        Wso2Mapping { form: Wso2Form::ApictlProject, api }
    }

    /// The Api's id, when it mapped.
    pub(crate) fn api_id(&self) -> Option<&str> {
        self.api.as_ref().ok().and_then(|api| api.id.as_deref())
    }

    /// The document the engine is given: the mapped Api, in the model's wire shape; or the
    /// rejection naming the input (`name`) and the refused feature.
    pub(crate) fn document(&self, name: &str) -> Result<Document, Rejected> {
        let refused = |error: &dyn std::fmt::Display| Rejected {
            entity: EntityKind::Api,
            id: name.to_owned(),
            error: format!("{name}: WSO2 {}: {error}", self.form.describe()),
        };
        let api = self.api.as_ref().map_err(|reason| refused(reason))?;
        let value = serde_json::to_value(api).map_err(|error| refused(&error))?;
        Ok(Document { apis: vec![RawEntity::new(without_nulls(value))], ..Document::default() })
    }
}

// === impl Wso2Form ===

impl Wso2Form {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Wso2Form::ApictlProject => "apictl project",
            Wso2Form::OpenApi => "OpenAPI definition",
        }
    }
}

/// Whether a file is an OpenAPI 3 or Swagger 2 document (a top-level `openapi` or `swagger`
/// key) rather than a model.md document. A file that does not decode is not one: it is
/// then reported by the model's decoder.
pub(crate) fn is_openapi(name: &str, bytes: &[u8]) -> bool {
    crate::wso2::decode_file::<Probe>(name, bytes).is_ok_and(|probe| probe.openapi.is_some() || probe.swagger.is_some())
}

/// The `type` of a WSO2 file that is not an input of its own (an `api.yaml` outside its
/// project, the runtime artifacts' `deployments.json`), so that it is refused saying so
/// rather than as a model document with unknown keys.
pub(crate) fn wso2_envelope(name: &str, bytes: &[u8]) -> Option<String> {
    crate::wso2::decode_file::<Probe>(name, bytes).ok()?.kind
}

/// Whether `dir` is an apictl project: it holds `api.yaml`, `api.yml` or `api.json`.
pub(crate) fn is_project(dir: &Path) -> bool {
    API_FILES.iter().any(|name| fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file()))
}

/// Every regular file of a project (symbolic links to files followed, to directories not),
/// by `/`-separated name relative to it, sorted, within [`PROJECT_LIMITS`]; with each one's
/// path.
pub(crate) fn project_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, ProjectError> {
    let mut files = Vec::new();
    walk(dir, "", 0, &mut files)?;
    files.sort();
    Ok(files)
}

/// Reads a project's files within [`PROJECT_LIMITS`].
pub(crate) fn read_project(dir: &Path) -> Result<Vec<Entry>, ProjectError> {
    let mut total = 0u64;
    let mut entries = Vec::new();
    for (name, path) in project_files(dir)? {
        let len = fs::metadata(&path).map_err(|e| read_error(&name, &e))?.len();
        if len > PROJECT_LIMITS.max_file_bytes {
            return Err(ProjectError::FileTooLarge { path: name, len, max: PROJECT_LIMITS.max_file_bytes });
        }
        total += len;
        if total > PROJECT_LIMITS.max_total_bytes {
            return Err(ProjectError::TooLarge { max: PROJECT_LIMITS.max_total_bytes });
        }
        let bytes = fs::read(&path).map_err(|e| read_error(&name, &e))?;
        entries.push(Entry { name, bytes });
    }
    Ok(entries)
}

fn walk(dir: &Path, prefix: &str, depth: usize, files: &mut Vec<(String, PathBuf)>) -> Result<(), ProjectError> {
    let listing = fs::read_dir(dir).map_err(|e| read_error(prefix, &e))?;
    for entry in listing {
        let entry = entry.map_err(|e| read_error(prefix, &e))?;
        let name = entry
            .file_name()
            .into_string()
            .map_err(|lossy| ProjectError::NameNotUtf8 { path: format!("{prefix}{}", lossy.to_string_lossy()) })?;
        let (name, path) = (format!("{prefix}{name}"), entry.path());
        let link = fs::symlink_metadata(&path).map_err(|e| read_error(&name, &e))?;
        let target = fs::metadata(&path).map_err(|e| read_error(&name, &e))?;
        if target.is_dir() {
            if link.file_type().is_symlink() {
                return Err(ProjectError::LinkedDirectory { path: name });
            }
            if depth + 1 > PROJECT_LIMITS.max_depth {
                return Err(ProjectError::TooDeep { path: name, max: PROJECT_LIMITS.max_depth });
            }
            walk(&path, &format!("{name}/"), depth + 1, files)?;
        } else if target.is_file() {
            if files.len() == PROJECT_LIMITS.max_files {
                return Err(ProjectError::TooManyFiles { max: PROJECT_LIMITS.max_files });
            }
            files.push((name, path));
        }
    }
    Ok(())
}

fn read_error(path: &str, error: &std::io::Error) -> ProjectError {
    let path = if path.is_empty() { ".".to_owned() } else { path.to_owned() };
    ProjectError::Read { path, reason: error.to_string() }
}

/// The mapped Api without its absent fields, as a hand-written document would have it.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other @ (Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_)) => other,
    }
}

#[cfg(test)]
mod tests;
