//! What each answer of the control plane does to the desired state: the synchronous core of
//! the sync loop, free of I/O so that it is tested without a network.

use crate::SyncFailure;
use crate::build::{Built, SnapshotBuilder};
use crate::catalog::Catalog;
use crate::dto::{Document, EventKind, EventPage};
use crate::metrics::EventResult;
use crate::rejected::Rejected;

use super::mirror::Mirror;
use super::state_dir::StateImage;

/// The catalog at one revision of the control plane, with the builder that reuses the
/// previous snapshot's parts and the entity texts for the last-known-good state.
#[derive(Debug)]
pub(crate) struct Engine {
    environment: String,
    catalog: Catalog,
    builder: SnapshotBuilder,
    mirror: Mirror,
    revision: Option<u64>,
}

/// Why the event stream cannot go on from the revision held: a new snapshot is needed
/// (control-plane.md: a gap, a 410, or a decode failure of the stream).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Discontinuity {
    #[error("the control plane no longer keeps the events after revision {after} (410 Gone)")]
    Gone { after: u64 },
    #[error("gap in the event stream: expected revision {expected}, got {found}")]
    Gap { expected: u64, found: u64 },
    #[error("the control plane is at revision {newest} but sent no event after {after}")]
    Missing { after: u64, newest: u64 },
    #[error("the control plane is at revision {newest}, behind the {after} applied here")]
    Behind { after: u64, newest: u64 },
    #[error("the event stream cannot be decoded: {0}")]
    Undecodable(String),
}

/// What applying one page of events did.
#[derive(Debug)]
pub(crate) struct PageOutcome {
    /// The snapshot of the last event applied; `None` when the page applied nothing.
    pub(crate) built: Option<Built>,
    /// Set when the stream broke off: the events before the break are applied.
    pub(crate) discontinuity: Option<Discontinuity>,
    /// What became of each event taken (those after a break are not taken).
    pub(crate) results: Vec<(EventKind, EventResult)>,
}

// === impl Engine ===

impl Engine {
    pub(crate) fn new(environment: impl Into<String>) -> Self {
        Engine {
            environment: environment.into(),
            catalog: Catalog::new(),
            builder: SnapshotBuilder::new(),
            mirror: Mirror::default(),
            revision: None,
        }
    }

    /// The revision applied, `None` before the first snapshot.
    pub(crate) fn revision(&self) -> Option<u64> {
        self.revision
    }

    /// Replaces everything with a snapshot at `revision`. `in_force` are rejections carried
    /// over from the last-known-good state (they are in force, not new: not counted again).
    pub(crate) fn snapshot(&mut self, document: &Document, revision: u64, now: u64, in_force: &[Rejected]) -> Built {
        let rejected = self.catalog.replace(document);
        in_force.iter().for_each(|rejection| self.catalog.note_rejected(rejection));
        self.mirror.replaced(&self.catalog);
        self.finish(revision, now, rejected)
    }

    /// Applies the events of `page` that continue the revision held, in order, and builds
    /// one snapshot at the last of them (a request sees the revision before the page or the
    /// one after it). Events after a break in the revisions are not applied.
    pub(crate) fn events(&mut self, page: &EventPage, now: u64) -> PageOutcome {
        let Some(after) = self.revision else {
            let discontinuity = Some(Discontinuity::Missing { after: 0, newest: page.revision });
            return PageOutcome { built: None, discontinuity, results: Vec::new() };
        };
        let (mut current, mut rejected, mut discontinuity) = (after, Vec::new(), None);
        let mut results = Vec::with_capacity(page.events.len());
        for event in &page.events {
            if event.revision != current.saturating_add(1) {
                discontinuity = Some(Discontinuity::Gap { expected: current.saturating_add(1), found: event.revision });
                break;
            }
            let refused = self.catalog.apply_event(event);
            self.mirror.event_applied(&self.catalog, event, refused.is_empty());
            results.push((event.kind.clone(), result_of(&event.kind, &refused)));
            rejected.extend(refused);
            current = event.revision;
        }
        let discontinuity = discontinuity.or_else(|| check_newest(after, page));
        let built = (current != after).then(|| self.finish(current, now, rejected));
        PageOutcome { built, discontinuity, results }
    }

    /// What to write to the state directory for `built` (just applied by this engine).
    pub(crate) fn image(&self, built: &Built) -> StateImage {
        self.mirror.image(built.snapshot.revision, &self.environment, built.outstanding.clone())
    }

    fn finish(&mut self, revision: u64, now: u64, rejected: Vec<Rejected>) -> Built {
        let built = self.builder.build(&mut self.catalog, revision, now, rejected);
        self.mirror.settle(&self.catalog);
        self.revision = Some(revision);
        built
    }
}

// === impl Discontinuity ===

impl Discontinuity {
    /// The `reason` label it is counted under.
    pub fn reason(&self) -> SyncFailure {
        match self {
            Discontinuity::Undecodable(_) => SyncFailure::Decode,
            Discontinuity::Gone { .. }
            | Discontinuity::Gap { .. }
            | Discontinuity::Missing { .. }
            | Discontinuity::Behind { .. } => SyncFailure::Resync,
        }
    }
}

fn result_of(kind: &EventKind, refused: &[Rejected]) -> EventResult {
    if matches!(kind, EventKind::Unknown(_)) {
        EventResult::Skipped
    } else if refused.is_empty() {
        EventResult::Applied
    } else {
        EventResult::Rejected
    }
}

/// An empty page must say the revision asked for; any page may not go back.
fn check_newest(after: u64, page: &EventPage) -> Option<Discontinuity> {
    let last = page.events.last().map_or(after, |event| event.revision);
    match page.revision {
        newest if newest < last => Some(Discontinuity::Behind { after: last, newest }),
        newest if page.events.is_empty() && newest > after => Some(Discontinuity::Missing { after, newest }),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
