//! The last-known-good state: the snapshot last applied, on disk in `source.state_dir`.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::dto::{DecodeError, Document, MAX_DOCUMENT_BYTES};
use crate::kind::ByKind;
use crate::rejected::Rejected;

/// The file in the state directory.
pub const STATE_FILE: &str = "snapshot.json";

/// A state directory. The file is a snapshot of model.md (readable by an operator, and by the
/// file source) with the revision it was applied at and the rejections then in force:
/// `{"revision", "environment", "apis": [...], ..., "rejected": [...]}`. It is replaced
/// atomically: written to a temporary file in the same directory, flushed to disk, renamed
/// over the old one, and the directory flushed, so a crash at any point leaves the old file
/// or the new one, never a torn one.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot write the state to {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the state {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the state {} cannot be decoded: {source}", path.display())]
    Decode {
        path: PathBuf,
        #[source]
        source: DecodeError,
    },
    #[error("the state {} has no revision", path.display())]
    NoRevision { path: PathBuf },
    #[error("the state {} is for environment {found:?}, not {expected:?}", path.display())]
    Environment { path: PathBuf, found: String, expected: String },
}

/// One revision to write: the entities' texts (shared with the mirror) and the rejections.
#[derive(Debug, Clone)]
pub(crate) struct StateImage {
    pub(crate) revision: u64,
    pub(crate) environment: String,
    pub(crate) entities: ByKind<Vec<Arc<str>>>,
    pub(crate) rejected: Vec<Rejected>,
}

/// A state read back: the snapshot (entities with their texts), its revision and the
/// rejections that were in force.
#[derive(Debug)]
pub struct SavedState {
    pub revision: u64,
    pub document: Document,
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Rejections {
    rejected: Vec<Rejected>,
}

// === impl StateDir ===

impl StateDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StateDir { dir: dir.into() }
    }

    /// The state file's path.
    pub fn file(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Reads the state for `environment`; `None` when there is none yet.
    pub(crate) fn load(&self, environment: &str) -> Result<Option<SavedState>, StateError> {
        let path = self.file();
        let bytes = match read_bounded(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        let saved =
            SavedState::from_json(&bytes).map_err(|source| StateError::Decode { path: path.clone(), source })?;
        let Some(revision) = saved.document.revision else { return Err(StateError::NoRevision { path }) };
        match saved.document.environment.as_deref() {
            Some(found) if found != environment => {
                Err(StateError::Environment { path, found: found.to_owned(), expected: environment.to_owned() })
            }
            Some(_) | None => Ok(Some(SavedState { revision, ..saved })),
        }
    }

    /// Replaces the state with `image`, atomically (see [`StateDir`]). Blocking.
    pub(crate) fn save(&self, image: &StateImage) -> Result<(), StateError> {
        let path = self.file();
        let temporary = self.dir.join(format!(".{STATE_FILE}.{}.tmp", std::process::id()));
        let result = self.write_then_rename(image, &temporary, &path);
        if result.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        result.map_err(|source| StateError::Write { path, source })
    }

    fn write_then_rename(&self, image: &StateImage, temporary: &Path, path: &Path) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let mut file = BufWriter::with_capacity(256 * 1024, File::create(temporary)?);
        image.write_json(&mut file)?;
        let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        fs::rename(temporary, path)?;
        File::open(&self.dir)?.sync_all()
    }
}

// === impl SavedState ===

impl SavedState {
    /// Decodes a state file. Its revision is the document's (0 when it has none: the caller
    /// refuses such a state).
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        let document = Document::from_json_with_text(bytes)?;
        let Rejections { rejected } = crate::dto::decode_json(bytes)?;
        Ok(SavedState { revision: document.revision.unwrap_or(0), document, rejected })
    }
}

// === impl StateImage ===

impl StateImage {
    /// Writes the snapshot JSON, assembled from the entity texts without parsing them again
    /// (streamed: no copy of the whole state in memory).
    pub(crate) fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        write!(out, "{{\"revision\":{},\"environment\":", self.revision)?;
        serde_json::to_writer(&mut *out, &self.environment)?;
        for (kind, texts) in self.entities.iter() {
            write!(out, ",\n\"{}\":[", kind.array_name())?;
            for (i, text) in texts.iter().enumerate() {
                out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
                out.write_all(text.as_bytes())?;
            }
            out.write_all(b"]")?;
        }
        out.write_all(b",\n\"rejected\":")?;
        serde_json::to_writer(&mut *out, &self.rejected)?;
        out.write_all(b"}\n")
    }

    /// The snapshot JSON in memory.
    #[cfg(test)]
    pub(crate) fn to_json(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_json(&mut out)?;
        Ok(out)
    }
}

fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    let len = fs::metadata(path)?.len();
    if len > MAX_DOCUMENT_BYTES as u64 {
        let message = format!("{len} bytes; the limit is {MAX_DOCUMENT_BYTES}");
        return Err(io::Error::new(io::ErrorKind::FileTooLarge, message));
    }
    fs::read(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejected::EntityKind;

    fn image(revision: u64) -> StateImage {
        let api: Arc<str> = Arc::from(r#"{"id":"a","name":"A"}"#);
        let mut entities = ByKind::<Vec<Arc<str>>>::default();
        entities[EntityKind::Api] = vec![api, Arc::from(r#"{"id":"b"}"#)];
        entities[EntityKind::Application] = vec![Arc::from(r#"{"id":"app"}"#)];
        let rejected = vec![Rejected { entity: EntityKind::Api, id: "c".into(), error: "api \"c\": bad".into() }];
        StateImage { revision, environment: "prod".into(), entities, rejected }
    }

    #[test]
    fn a_saved_state_reads_back_with_its_texts_and_rejections() -> Result<(), StateError> {
        let dir = tempfile::tempdir().map_err(|source| StateError::Read { path: "tmp".into(), source })?;
        let state = StateDir::new(dir.path().join("nested"));
        assert!(state.load("prod")?.is_none(), "no state yet");
        state.save(&image(7))?;
        state.save(&image(8))?;
        let saved = state.load("prod")?.ok_or(StateError::NoRevision { path: state.file() })?;
        assert_eq!(saved.revision, 8);
        let texts: Vec<_> = saved.document.apis.iter().filter_map(|raw| raw.text().map(|text| &**text)).collect();
        assert_eq!(texts, [r#"{"id":"a","name":"A"}"#, r#"{"id":"b"}"#]);
        assert_eq!(saved.document.applications.len(), 1);
        assert_eq!(saved.rejected, image(8).rejected);
        let leftovers = fs::read_dir(dir.path().join("nested")).map(Iterator::count).unwrap_or(0);
        assert_eq!(leftovers, 1, "only the state file remains");
        Ok(())
    }

    #[test]
    fn another_environment_or_a_torn_file_is_refused() -> Result<(), StateError> {
        let dir = tempfile::tempdir().map_err(|source| StateError::Read { path: "tmp".into(), source })?;
        let state = StateDir::new(dir.path());
        state.save(&image(3))?;
        assert!(matches!(state.load("staging"), Err(StateError::Environment { .. })));
        let bytes = fs::read(state.file()).unwrap_or_default();
        fs::write(state.file(), &bytes[..bytes.len() / 2]).unwrap_or_default();
        assert!(matches!(state.load("prod"), Err(StateError::Decode { .. })));
        Ok(())
    }
}
