//! The synchronous heart of the engine: updates → catalog → snapshot, free of I/O so that
//! it is tested without threads or a network.

use crate::build::{Built, SnapshotBuilder};
use crate::catalog::{Catalog, Diff};
use crate::dto::{Document, EventKind};
use crate::kind::ByKind;
use crate::metrics::EventResult;
use crate::rejected::Rejected;
use crate::validate::ValidationSettings;

use super::mirror::Mirror;
use super::state_dir::StateImage;
use super::update::{Action, Change, Revision};

/// The catalog at the revision served, the builder that reuses the previous snapshot's
/// parts, and (when the last-known-good state is written) the entities' texts.
#[derive(Debug)]
pub(crate) struct Pipeline {
    catalog: Catalog,
    builder: SnapshotBuilder,
    mirror: Option<Mirror>,
    revision: Option<u64>,
}

/// What one update did.
#[derive(Debug)]
pub(crate) struct Step {
    /// The snapshot to serve; `None` when a [`Revision::Next`] update changed nothing.
    pub(crate) built: Option<Built>,
    /// Per change: the event type it counts under, and what became of it.
    pub(crate) results: Vec<(EventKind, EventResult)>,
    pub(crate) diff: ByKind<Diff>,
}

// === impl Pipeline ===

impl Pipeline {
    /// `keep_texts`: keep each entity's text, for [`Pipeline::image`]; `settings`: what the
    /// gateway's configuration lets it serve.
    pub(crate) fn new(keep_texts: bool, settings: ValidationSettings) -> Self {
        Pipeline {
            catalog: Catalog::with_settings(settings),
            builder: SnapshotBuilder::new(),
            mirror: keep_texts.then(Mirror::default),
            revision: None,
        }
    }

    /// The revision served, `None` before the first update.
    pub(crate) fn revision(&self) -> Option<u64> {
        self.revision
    }

    /// Replaces everything with `document`. `in_force` are rejections carried over from the
    /// last-known-good state (in force, not new: not counted again).
    pub(crate) fn replace(&mut self, document: &Document, revision: Revision, now: u64, in_force: &[Rejected]) -> Step {
        let before = self.rejections_if(revision);
        let replaced = self.catalog.replace_at(document, now);
        in_force.iter().for_each(|rejection| self.catalog.note_rejected(rejection));
        if let Some(mirror) = &mut self.mirror {
            mirror.replaced(&self.catalog);
        }
        let built = self.finish(revision, before.as_deref(), now, replaced.rejected);
        Step { built, results: Vec::new(), diff: replaced.diff }
    }

    /// Applies `changes` in order and builds one snapshot after the last of them.
    pub(crate) fn changes(&mut self, changes: &[Change], revision: Revision, now: u64) -> Step {
        let before = self.rejections_if(revision);
        let (mut rejected, mut diff) = (Vec::new(), ByKind::<Diff>::default());
        let mut results = Vec::with_capacity(changes.len());
        for change in changes {
            let held = self.catalog.holds(change);
            let refused = self.catalog.apply_change(change);
            if let Some(mirror) = &mut self.mirror {
                mirror.changed(&self.catalog, change, refused.is_empty());
            }
            let result = match refused.is_empty() {
                true => count(&mut diff[change.kind], change.action, held),
                false => EventResult::Rejected,
            };
            results.push((EventKind::of(change.kind, change.action), result));
            rejected.extend(refused);
        }
        let built = self.finish(revision, before.as_deref(), now, rejected);
        Step { built, results, diff }
    }

    /// What to write to the state directory for `built` (just built here); `None` when no
    /// texts are kept.
    pub(crate) fn image(&self, built: &Built, environment: &str) -> Option<StateImage> {
        let mirror = self.mirror.as_ref()?;
        Some(mirror.image(built.snapshot.revision, environment, built.outstanding.clone()))
    }

    #[cfg(test)]
    pub(crate) fn mirror(&self) -> Option<&Mirror> {
        self.mirror.as_ref()
    }

    /// Builds at `revision`, unless it is [`Revision::Next`] and neither an entity nor the
    /// rejections in force (`before`) changed.
    fn finish(
        &mut self,
        revision: Revision,
        before: Option<&[Rejected]>,
        now: u64,
        rejected: Vec<Rejected>,
    ) -> Option<Built> {
        let revision = match revision {
            Revision::At(revision) => revision,
            Revision::Next if self.catalog.changed().any() || before != Some(&self.rejections()[..]) => {
                self.revision.map_or(1, |served| served.saturating_add(1))
            }
            Revision::Next => return None,
        };
        let built = self.builder.build(&mut self.catalog, revision, now, rejected);
        if let Some(mirror) = &mut self.mirror {
            mirror.settle(&self.catalog);
        }
        self.revision = Some(revision);
        Some(built)
    }

    /// The rejections in force, when `revision` needs them to tell whether anything changed.
    fn rejections_if(&self, revision: Revision) -> Option<Vec<Rejected>> {
        (revision == Revision::Next).then(|| self.rejections())
    }

    fn rejections(&self) -> Vec<Rejected> {
        self.catalog.rejections().cloned().collect()
    }
}

/// Counts an accepted change: an upsert adds or changes, a delete removes what was held.
fn count(diff: &mut Diff, action: Action, held: bool) -> EventResult {
    match (action, held) {
        (Action::Upsert, true) => diff.changed += 1,
        (Action::Upsert, false) => diff.added += 1,
        (Action::Delete, true) => diff.removed += 1,
        (Action::Delete, false) => {}
    }
    EventResult::Applied
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
