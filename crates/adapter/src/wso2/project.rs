//! An API project: the files of one API, as an apictl project directory or a per-API zip of
//! the runtime artifacts holds them (INTERFACE.md §3.1). Files are classified by path suffix,
//! as Choreo Connect and the APK agent do, because the top folder's name varies.

use super::api_yaml::{ApiData, CertificateEntry, DeploymentEnvironmentSpec, Envelope};
use super::archive::{ArchiveError, Entry};
use super::decode::decode_file;
use super::openapi::OpenApi;

/// One API's files, decoded.
#[derive(Debug, Clone)]
pub struct ApiProject {
    /// `api.yaml` / `api.json`: its envelope's `version` (`v4.3.0`) and `data`.
    pub format_version: Option<String>,
    pub api: ApiData,
    /// `Definitions/swagger.(json|yaml)`, when the project has one.
    pub definition: Option<OpenApi>,
    /// `deployment_environments.yaml` (apictl projects only).
    pub deployment_environments: Vec<DeploymentEnvironmentSpec>,
    pub client_certificates: Vec<CertificateFile>,
    pub endpoint_certificates: Vec<CertificateFile>,
    /// The names of the files under `Policies/` (operation policy definitions).
    pub policy_files: Vec<String>,
    /// api.json's `revisionId`: the revision API-M deployed (acknowledged by the source).
    pub revision_id: Option<u64>,
}

/// The one key of api.json's `data` read only for acknowledging deployments.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevisionData {
    #[serde(default)]
    revision_id: Option<u64>,
}

/// A certificate named by `client_certificates.json` or `endpoint_certificates.json`, with
/// the PEM text of its `.crt` file when the project holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFile {
    pub entry: CertificateEntry,
    pub pem: Option<String>,
}

// === impl ApiProject ===

impl ApiProject {
    /// Reads a project from its files (names relative to anywhere above the project: only
    /// their endings count). `api.yaml` or `api.json` is required.
    pub fn from_files(files: &[Entry]) -> Result<Self, ArchiveError> {
        let api_file = find(files, is_api_file).ok_or_else(|| missing("api.yaml or api.json"))?;
        let envelope: Envelope<ApiData> = decode_file(&api_file.name, &api_file.bytes)?;
        let revision: Option<Envelope<RevisionData>> = decode_file(&api_file.name, &api_file.bytes).ok();
        let definition =
            find(files, is_definition).map(|file| OpenApi::from_file(&file.name, &file.bytes)).transpose()?;
        let deployment_environments = match find(files, |name| name.ends_with("deployment_environments.yaml")) {
            Some(file) => decode_file::<Envelope<Vec<DeploymentEnvironmentSpec>>>(&file.name, &file.bytes)?.data,
            None => Vec::new(),
        };
        Ok(ApiProject {
            format_version: envelope.version,
            api: envelope.data,
            definition,
            deployment_environments,
            client_certificates: certificates(files, "Client-certificates/", "client_certificates.json")?,
            endpoint_certificates: certificates(files, "Endpoint-certificates/", "endpoint_certificates.json")?,
            policy_files: files.iter().filter(|f| f.name.contains("Policies/")).map(|f| f.name.clone()).collect(),
            revision_id: revision.and_then(|envelope| envelope.data.revision_id),
        })
    }
}

fn find(files: &[Entry], matches: impl Fn(&str) -> bool) -> Option<&Entry> {
    files.iter().find(|file| matches(&file.name))
}

fn missing(name: &str) -> ArchiveError {
    ArchiveError::Missing { name: name.to_owned() }
}

/// `api.yaml` / `api.json` at the project's top, not a definition of the same name.
fn is_api_file(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    matches!(file, "api.yaml" | "api.yml" | "api.json") && !name.contains("Definitions/")
}

fn is_definition(name: &str) -> bool {
    ["Definitions/swagger.json", "Definitions/swagger.yaml", "Definitions/swagger.yml"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// The entries of `<folder><index>` with each one's `.crt` file from the same folder.
fn certificates(files: &[Entry], folder: &str, index: &str) -> Result<Vec<CertificateFile>, ArchiveError> {
    let path = format!("{folder}{index}");
    let Some(file) = find(files, |name| name.ends_with(&path)) else { return Ok(Vec::new()) };
    let entries = decode_file::<Envelope<Vec<CertificateEntry>>>(&file.name, &file.bytes)?.data;
    for name in entries.iter().filter_map(|entry| entry.certificate.as_deref()) {
        check_certificate_name(name)?;
    }
    let pem = |entry: &CertificateEntry| {
        let crt = format!("{folder}{}", entry.certificate.as_deref()?);
        let file = find(files, |name| name.ends_with(&crt))?;
        String::from_utf8(file.bytes.clone()).ok()
    };
    Ok(entries.into_iter().map(|entry| CertificateFile { pem: pem(&entry), entry }).collect())
}

/// A certificate is named by its file name beside the index: a path (`../x.crt`, `/etc/x`)
/// would reach outside the project, so it is refused by name rather than looked up.
fn check_certificate_name(name: &str) -> Result<(), ArchiveError> {
    let reason = match name {
        "" | "." | ".." => "not a file name",
        _ if name.contains(['/', '\\']) => "a certificate is named by its file name, not a path",
        _ => return Ok(()),
    };
    Err(ArchiveError::UnsafeName { name: name.to_owned(), reason })
}
