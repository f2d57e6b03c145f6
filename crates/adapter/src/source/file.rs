//! The file source (`source.kind = "file"`): a directory of partial snapshots, watched.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tollgate_router::file_events::is_change;

use super::SourceError;
use super::directory::{DirectoryLoader, Fingerprint, Found, Load, relevant_entries};
use crate::engine::{EngineHandle, Outcome, Revision, Update};
use crate::metrics::SyncFailure;

/// How long the directory must be quiet after a change notification before reloading.
pub const DEBOUNCE: Duration = Duration::from_millis(200);
/// How often the directory is rescanned (names, sizes, mtimes) in case a notification was
/// missed (network filesystems, some container volume mounts).
pub const RESCAN_INTERVAL: Duration = Duration::from_secs(2);

/// Serves the configuration in a directory of `.yaml`, `.yml` and `.json` files, each a
/// partial snapshot (any subset of the snapshot arrays), merged in file-name order: an id
/// already defined by an earlier file is rejected; a file that does not parse, or that holds
/// a key the model does not have (model.md), is rejected as a whole (naming it, and the key
/// with the nearest known one) while the others apply. Dotfiles and other files are ignored.
/// WSO2 definitions serve beside them: apictl project directories and OpenAPI documents with
/// `x-wso2-*` extensions, each one Api (contract/wso2.md, "WSO2 definitions in the file
/// source").
///
/// The revision is the number of successful loads, from 1.
#[derive(Debug)]
pub struct FileSource {
    dir: PathBuf,
    engine: EngineHandle,
    loader: Mutex<DirectoryLoader>,
}

/// The running watcher; dropping it (or [`FileWatch::stop`]) stops watching.
#[derive(Debug)]
pub struct FileWatch {
    task: JoinHandle<()>,
}

/// The apictl project directories watched recursively, beside the directory itself (watched
/// alone): only what the source reads costs watches, not a `.git` checkout or other
/// subdirectories.
#[derive(Debug)]
struct ProjectWatches {
    watcher: RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
}

// === impl FileSource ===

impl FileSource {
    /// A source for `dir`. Fails when `dir` does not exist or is not a directory (a startup
    /// error).
    pub fn new(dir: impl Into<PathBuf>, engine: EngineHandle) -> Result<Self, SourceError> {
        let dir = dir.into();
        check_is_directory(&dir)?;
        Ok(FileSource { loader: Mutex::new(DirectoryLoader::new(dir.clone())), dir, engine })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads the directory and applies it when anything changed since the last load;
    /// synchronous, so the gateway can be ready when it starts serving. Returns the
    /// revision applied, or `None` when nothing changed. On error (the directory cannot be
    /// read) what was applied before stays served.
    pub fn load_once(&self) -> Result<Option<u64>, SourceError> {
        let load = self.loader.lock().unwrap_or_else(PoisonError::into_inner).load();
        let (document, revision) = match load {
            Ok(Load::Changed { document, revision }) => (document, revision),
            Ok(Load::Unchanged) => {
                self.engine.confirm_synced();
                return Ok(None);
            }
            Err(error) => {
                self.engine.record_failure(SyncFailure::Io, &error);
                return Err(error);
            }
        };
        let update = Update::Replace { revision: Revision::At(revision), document, in_force: Vec::new() };
        match self.engine.apply_blocking(update) {
            Outcome::Failed(error) => Err(SourceError::Engine(error)),
            applied @ (Outcome::Serving { .. } | Outcome::Unchanged { .. }) => Ok(applied.revision()),
        }
    }

    /// Watches the directory and re-applies it on change: file-system notifications,
    /// debounced by [`DEBOUNCE`], plus a rescan every [`RESCAN_INTERVAL`]. Must be called
    /// within a Tokio runtime; loads run on the blocking pool.
    pub fn spawn_watch(self: Arc<Self>) -> Result<FileWatch, SourceError> {
        let (notify_tx, notify_rx) = mpsc::channel(1);
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Not the opens and reads of our own reloads (they would reload in a loop), but a
            // notification error (events may have been lost) is a reason to look.
            if event.is_err() || event.is_ok_and(|event| is_change(event.kind)) {
                // A full channel already holds a pending wake-up.
                let _ = notify_tx.try_send(());
            }
        })
        .map_err(|source| SourceError::Watch { path: self.dir.clone(), source })?;
        watcher
            .watch(&self.dir, RecursiveMode::NonRecursive)
            .map_err(|source| SourceError::Watch { path: self.dir.clone(), source })?;
        let projects = ProjectWatches { watcher, watched: BTreeSet::new() };
        let task = tokio::spawn(async move { self.watch(notify_rx, projects).await });
        Ok(FileWatch { task })
    }

    async fn watch(self: Arc<Self>, mut notifications: mpsc::Receiver<()>, mut projects: ProjectWatches) {
        let mut rescan = tokio::time::interval(RESCAN_INTERVAL);
        rescan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut fingerprint = Fingerprint::of(&self.dir).ok();
        loop {
            projects.follow(&self.dir);
            tokio::select! {
                Some(()) = notifications.recv() => debounce(&mut notifications).await,
                _ = rescan.tick() => {
                    if Fingerprint::of(&self.dir).ok() == fingerprint {
                        continue;
                    }
                }
            }
            fingerprint = Fingerprint::of(&self.dir).ok();
            self.reload().await;
        }
    }

    async fn reload(self: &Arc<Self>) {
        let source = self.clone();
        // Errors are recorded by `load_once` (metric, log, status).
        match tokio::task::spawn_blocking(move || source.load_once()).await {
            Ok(Ok(Some(revision))) => {
                tracing::debug!(revision, dir = %self.dir.display(), "reloaded configuration files");
            }
            Ok(Ok(None) | Err(_)) => {}
            Err(join) => tracing::error!(error = %join, "configuration reload task failed"),
        }
    }
}

// === impl ProjectWatches ===

impl ProjectWatches {
    /// Watches the projects `dir` holds now (their files, recursively) and no others. A
    /// project that cannot be watched is still seen by the rescan.
    fn follow(&mut self, dir: &Path) {
        let found = relevant_entries(dir).unwrap_or_default().into_iter();
        let projects: BTreeSet<PathBuf> = found
            .filter_map(|(_, found)| match found {
                Found::Project(path) => Some(path),
                Found::File(_) => None,
            })
            .collect();
        for gone in self.watched.difference(&projects) {
            let _ = self.watcher.unwatch(gone);
        }
        for new in projects.difference(&self.watched) {
            if let Err(error) = self.watcher.watch(new, RecursiveMode::Recursive) {
                tracing::debug!(%error, project = %new.display(), "cannot watch a project; the rescan still sees it");
            }
        }
        self.watched = projects;
    }
}

// === impl FileWatch ===

impl FileWatch {
    /// Stops watching (the same as dropping it).
    pub fn stop(self) {}
}

impl Drop for FileWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits until no notification arrived for [`DEBOUNCE`].
async fn debounce(notifications: &mut mpsc::Receiver<()>) {
    while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, notifications.recv()).await {}
}

pub(crate) fn check_is_directory(dir: &Path) -> Result<(), SourceError> {
    match std::fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(SourceError::NotADirectory(dir.to_owned())),
        Err(source) => Err(SourceError::Directory { path: dir.to_owned(), source }),
    }
}
