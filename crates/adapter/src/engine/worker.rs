//! The engine's side of the configuration thread: each update validated, built, swapped,
//! written to the state directory, reported and counted.

use std::sync::Arc;

use tokio::sync::watch;

use super::pipeline::{Pipeline, Step};
use super::state_dir::{StateDir, StateError};
use super::update::{Outcome, Revision, Update};
use super::writer::StateWriter;
use crate::apply::Applier;
use crate::build::Built;
use crate::catalog::Diff;
use crate::kind::ByKind;
use crate::metrics::SyncFailure;

/// What the configuration thread owns.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(super) pipeline: Pipeline,
    pub(super) shared: Arc<Shared>,
    pub(super) state: Option<State>,
}

/// The last-known-good state: where it is, and the thread that writes it.
#[derive(Debug)]
pub(crate) struct State {
    pub(super) dir: StateDir,
    pub(super) environment: String,
    pub(super) writer: StateWriter,
}

/// What the engine's handles and its thread share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(super) applier: Arc<Applier>,
    /// Bumped after each applied revision (and each rejected document), to wake reporters.
    pub(super) applied: watch::Sender<u64>,
}

// === impl Worker ===

impl Worker {
    /// Applies `update` and serves the result.
    pub(crate) fn apply(&mut self, update: Update) -> Outcome {
        let now = self.shared.applier.now();
        let step = match update {
            Update::Changes { revision, changes } => self.pipeline.changes(&changes, revision, now),
            Update::Replace { revision, document, in_force } => {
                let step = self.pipeline.replace(&document, revision, now, &in_force);
                // Released before the swap: the old snapshot, the new one and the
                // document are not all alive at once.
                drop(document);
                step
            }
        };
        self.serve(step, true)
    }

    /// Serves the last-known-good state, when there is one; returns its revision. A state
    /// that cannot be read is logged and counted (`io`/`decode`), and nothing is served.
    pub(crate) fn load_state(&mut self) -> Option<u64> {
        let state = self.state.as_ref()?;
        let saved = match state.dir.load(&state.environment) {
            Ok(saved) => saved?,
            Err(error) => {
                self.shared.applier.record_failure(failure_reason(&error), &error);
                return None;
            }
        };
        let path = state.dir.file();
        let now = self.shared.applier.now();
        let step = self.pipeline.replace(&saved.document, Revision::At(saved.revision), now, &saved.rejected);
        drop(saved.document);
        // Already on disk: not written again.
        let revision = self.serve(step, false).revision();
        tracing::info!(revision, path = %path.display(), "serving the last-known-good state");
        revision
    }

    fn serve(&self, step: Step, persist: bool) -> Outcome {
        let applier = &self.shared.applier;
        step.results.iter().for_each(|(kind, result)| applier.record_event(kind, *result));
        let Some(built) = step.built else {
            applier.confirm_synced();
            return Outcome::Unchanged { revision: self.pipeline.revision() };
        };
        log_diff(&built, &step.diff);
        let (revision, rejected) = (built.snapshot.revision, built.rejected.clone());
        let image = self.state.as_ref().filter(|_| persist).and_then(|state| {
            let image = self.pipeline.image(&built, &state.environment)?;
            Some((&state.writer, image))
        });
        applier.apply(built);
        if let Some((writer, image)) = image {
            writer.write(image);
        }
        self.shared.announce();
        Outcome::Serving { revision, rejected, diff: step.diff }
    }
}

// === impl Shared ===

impl Shared {
    pub(super) fn new(applier: Arc<Applier>) -> Self {
        Shared { applier, applied: watch::channel(0).0 }
    }

    /// Wakes whoever follows applied revisions.
    pub(super) fn announce(&self) {
        self.applied.send_modify(|generation| *generation = generation.wrapping_add(1));
    }
}

fn failure_reason(error: &StateError) -> SyncFailure {
    match error {
        StateError::Read { .. } | StateError::Write { .. } => SyncFailure::Io,
        StateError::Decode { .. } | StateError::NoRevision { .. } | StateError::Environment { .. } => {
            SyncFailure::Decode
        }
    }
}

/// One line per revision with what differs from the one before, by kind (kinds without
/// changes left out).
fn log_diff(built: &Built, diff: &ByKind<Diff>) {
    let changed: Vec<String> = diff
        .iter()
        .filter(|(_, diff)| **diff != Diff::default())
        .map(|(kind, diff)| format!("{kind} +{} ~{} -{}", diff.added, diff.changed, diff.removed))
        .collect();
    if !changed.is_empty() {
        tracing::info!(revision = built.snapshot.revision, changed = %changed.join(", "), "configuration changed");
    }
}
