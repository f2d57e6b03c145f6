//! Reading a directory of partial snapshots, apictl projects and WSO2 OpenAPI documents
//! into one document.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use std::{fs, io};

use crate::dto::{DecodeError, Document, MAX_DOCUMENT_BYTES};
use crate::rejected::Rejected;
use crate::validate::unknown_keys;
use crate::wso2::Entry;

use super::SourceError;
use super::wso2_files::{self, ProjectError, Wso2Mapping};

/// Loads a directory of `.yaml`/`.yml`/`.json` partial snapshots, merged in file-name order,
/// beside WSO2 definitions: an OpenAPI 3 / Swagger 2 file (a top-level `openapi` or `swagger`
/// key) and an apictl project directory (holding `api.yaml`, `api.yml` or `api.json`) each
/// become one Api through the WSO2 mapping ([`wso2_files`]).
///
/// A file that cannot be parsed, or that holds a key the model does not have, is rejected as
/// a whole, and so is a WSO2 input that is refused; until it is fixed, the entities it last
/// held (if it ever parsed) stay served. Dotfiles, other extensions and directories that
/// are not projects are ignored.
#[derive(Debug)]
pub(crate) struct DirectoryLoader {
    dir: PathBuf,
    /// Per file name: the content hash and the last document that parsed.
    files: HashMap<String, CachedFile>,
    /// The (name, content hash) list of the last load, to skip unchanged reloads.
    last_inputs: Option<Vec<(String, u64)>>,
    revision: u64,
}

/// The result of a load.
#[derive(Debug)]
pub(crate) enum Load {
    /// No file changed since the last load.
    Unchanged,
    /// The merged files, as the next revision.
    Changed { document: Box<Document>, revision: u64 },
}

/// A cheap identity of the directory's relevant files (name, size, mtime), for the rescan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint(Vec<(String, u64, Option<SystemTime>)>);

#[derive(Debug)]
struct CachedFile {
    hash: u64,
    /// The last document this file parsed to.
    document: Option<Document>,
    /// Why the current content does not parse (or, for a WSO2 input, is refused).
    error: Option<Rejected>,
    /// What a WSO2 input's current content maps to.
    wso2: Option<Wso2Mapping>,
}

/// One input of the directory: a file, or an apictl project (named `<directory>/`).
#[derive(Debug)]
struct Input {
    name: String,
    content: Content,
}

#[derive(Debug)]
enum Content {
    File(io::Result<Vec<u8>>),
    Project(Result<Vec<Entry>, ProjectError>),
}

/// What [`relevant_entries`] found under a name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Found {
    File(PathBuf),
    Project(PathBuf),
}

// === impl DirectoryLoader ===

impl DirectoryLoader {
    pub(crate) fn new(dir: PathBuf) -> Self {
        DirectoryLoader { dir, files: HashMap::new(), last_inputs: None, revision: 0 }
    }

    /// Reads every file and, when something changed, merges them as the next revision
    /// (revisions count successful loads from 1). Fails only when the directory cannot be
    /// listed.
    pub(crate) fn load(&mut self) -> Result<Load, SourceError> {
        let inputs = read_inputs(&self.dir)?;
        let hashes: Vec<(String, u64)> = inputs.iter().map(|input| (input.name.clone(), content_hash(input))).collect();
        if self.last_inputs.as_ref() == Some(&hashes) {
            return Ok(Load::Unchanged);
        }
        let document = self.merge(inputs, &hashes);
        self.revision += 1;
        self.last_inputs = Some(hashes);
        Ok(Load::Changed { document: Box::new(document), revision: self.revision })
    }

    fn merge(&mut self, inputs: Vec<Input>, hashes: &[(String, u64)]) -> Document {
        self.files.retain(|name, _| hashes.iter().any(|(present, _)| present == name));
        let mut merged = Document::default();
        for (input, (_, hash)) in inputs.into_iter().zip(hashes) {
            let file = match self.files.remove(&input.name) {
                Some(cached) if cached.hash == *hash => cached,
                previous => CachedFile::parse(&input, *hash, previous),
            };
            if let Some(error) = &file.error {
                merged.errors.push(error.clone());
            }
            if let Some(document) = &file.document {
                merged.append(document.clone().with_origin(&Arc::from(input.name.as_str())));
            }
            self.files.insert(input.name, file);
        }
        merged
    }

    /// What each WSO2 input of the last load maps to, by input name.
    pub(crate) fn wso2_mappings(&self) -> Vec<(String, Wso2Mapping)> {
        let mut mappings: Vec<(String, Wso2Mapping)> =
            self.files.iter().filter_map(|(name, file)| Some((name.clone(), file.wso2.clone()?))).collect();
        mappings.sort_by(|a, b| a.0.cmp(&b.0));
        mappings
    }
}

// === impl CachedFile ===

impl CachedFile {
    /// Parses a changed file; when it does not parse, the last document that did stays.
    fn parse(input: &Input, hash: u64, previous: Option<CachedFile>) -> Self {
        let (parsed, wso2) = decode(input);
        match parsed {
            Ok(document) => CachedFile { hash, document: Some(document), error: None, wso2 },
            Err(error) => {
                let document = previous.and_then(|previous| previous.document);
                CachedFile { hash, document, error: Some(error), wso2 }
            }
        }
    }
}

// === impl Fingerprint ===

impl Fingerprint {
    /// The relevant files' names, sizes and modification times, in name order.
    /// A project's files count one by one; one that cannot be listed counts as a marker.
    pub(crate) fn of(dir: &Path) -> io::Result<Self> {
        let mut files = Vec::new();
        for (name, found) in relevant_entries(dir)? {
            match found {
                Found::File(path) => files.push(stamp(name, &path)?),
                Found::Project(path) => match wso2_files::project_files(&path) {
                    Ok(inner) => {
                        for (inner, path) in inner {
                            files.push(stamp(format!("{name}{inner}"), &path)?);
                        }
                    }
                    Err(error) => files.push((format!("{name}: {error}"), u64::MAX, None)),
                },
            }
        }
        Ok(Fingerprint(files))
    }
}

fn stamp(name: String, path: &Path) -> io::Result<(String, u64, Option<SystemTime>)> {
    let metadata = fs::metadata(path)?;
    Ok((name, metadata.len(), metadata.modified().ok()))
}

/// The `.yaml`/`.yml`/`.json` regular files (symlinks followed) of `dir` and its apictl
/// project directories (named `<directory>/`), not dotfiles, sorted by name.
pub(crate) fn relevant_entries(dir: &Path) -> io::Result<Vec<(String, Found)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        let path = entry.path();
        let Ok(metadata) = fs::metadata(&path) else { continue };
        if name.starts_with('.') {
            continue;
        }
        if metadata.is_file() && is_config_name(&name) {
            found.push((name, Found::File(path)));
        } else if metadata.is_dir() && wso2_files::is_project(&path) {
            found.push((format!("{name}/"), Found::Project(path)));
        }
    }
    found.sort();
    Ok(found)
}

fn is_config_name(name: &str) -> bool {
    !name.starts_with('.') && [".yaml", ".yml", ".json"].iter().any(|ext| name.ends_with(ext))
}

fn read_inputs(dir: &Path) -> Result<Vec<Input>, SourceError> {
    let found = relevant_entries(dir).map_err(|source| SourceError::Directory { path: dir.to_owned(), source })?;
    Ok(found.into_iter().map(|(name, found)| Input { name, content: read(&found) }).collect())
}

fn read(found: &Found) -> Content {
    match found {
        Found::File(path) => Content::File(read_bounded(path)),
        Found::Project(path) => Content::Project(wso2_files::read_project(path)),
    }
}

fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    let len = fs::metadata(path)?.len();
    if len > MAX_DOCUMENT_BYTES as u64 {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("{len} bytes; the limit is {MAX_DOCUMENT_BYTES}"),
        ));
    }
    fs::read(path)
}

fn content_hash(input: &Input) -> u64 {
    let mut hasher = DefaultHasher::new();
    // An unreadable input never equals a readable one, nor the previous failure.
    match &input.content {
        Content::File(Ok(bytes)) => bytes.hash(&mut hasher),
        Content::File(Err(error)) => (u64::MAX, error.to_string()).hash(&mut hasher),
        Content::Project(Ok(entries)) => {
            entries.iter().for_each(|entry| (&entry.name, &entry.bytes).hash(&mut hasher));
        }
        Content::Project(Err(error)) => (u64::MAX, error.to_string()).hash(&mut hasher),
    }
    hasher.finish()
}

/// An input's document, or why it is rejected; for a project or an OpenAPI document, what
/// it maps to as well.
fn decode(input: &Input) -> (Result<Document, Rejected>, Option<Wso2Mapping>) {
    let name = &input.name;
    let mapping = match &input.content {
        Content::Project(files) => Wso2Mapping::of_project(files),
        Content::File(Ok(bytes)) if wso2_files::is_openapi(name, bytes) => Wso2Mapping::of_openapi(name, bytes),
        Content::File(bytes) => {
            return (parse(name, bytes).map_err(|error| Rejected::document(name.clone(), error)), None);
        }
    };
    (mapping.document(name), Some(mapping))
}

/// Why one file could not be read.
#[derive(Debug, thiserror::Error)]
enum FileError {
    #[error("cannot read: {0}")]
    Read(String),
    #[error("not UTF-8")]
    Utf8,
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// Keys the model does not have (model.md: a file is written by hand, and a misspelt
    /// key must not be served as if it were absent). Every one found, with its suggestion.
    #[error("{}", .0.join("; "))]
    UnknownKeys(Vec<String>),
    /// A WSO2 file that is not an input of its own.
    #[error(
        "a WSO2 {0:?} file is not a definition of its own: an api.yaml belongs in an apictl project directory \
         (with Definitions/swagger.yaml); runtime-artifacts metadata is read by the wso2-apim source"
    )]
    Wso2Envelope(String),
}

/// A model.md document (`name` says whether it is JSON).
fn parse(name: &str, bytes: &io::Result<Vec<u8>>) -> Result<Document, FileError> {
    let bytes = bytes.as_ref().map_err(|e| FileError::Read(e.to_string()))?;
    let text = std::str::from_utf8(bytes).map_err(|_| FileError::Utf8)?;
    if text.trim().is_empty() {
        return Ok(Document::default());
    }
    if let Some(kind) = wso2_files::wso2_envelope(name, bytes) {
        return Err(FileError::Wso2Envelope(kind));
    }
    let document = match name.ends_with(".json") {
        true => Document::from_json(bytes)?,
        false => Document::from_yaml(text)?,
    };
    match unknown_keys(&document) {
        unknown if unknown.is_empty() => Ok(document),
        unknown => Err(FileError::UnknownKeys(unknown)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_files_build_nothing_and_edits_change_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("a.json");
        fs::write(&file, r#"{"applications": [{"id": "app"}]}"#).unwrap_or_else(|e| panic!("{e}"));
        let mut loader = DirectoryLoader::new(dir.path().to_owned());
        assert!(matches!(loader.load(), Ok(Load::Changed { revision: 1, .. })));
        assert!(matches!(loader.load(), Ok(Load::Unchanged)));
        let before = Fingerprint::of(dir.path()).ok();
        fs::write(&file, r#"{"applications": [{"id": "app"}, {"id": "app2"}]}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(Fingerprint::of(dir.path()).ok(), before);
        let (document, revision) = match loader.load() {
            Ok(Load::Changed { document, revision }) => (document, revision),
            other => panic!("expected a new revision, got {other:?}"),
        };
        assert_eq!((revision, document.applications.len()), (2, 2));
    }

    #[test]
    fn only_configuration_files_count() {
        assert!(is_config_name("apis.yaml") && is_config_name("a.yml") && is_config_name("b.json"));
        assert!(!is_config_name(".apis.yaml") && !is_config_name("README.md") && !is_config_name("x.yaml~"));
    }
}
