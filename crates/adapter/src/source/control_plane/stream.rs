//! The control plane's event stream, before the engine sees it: which events of a page
//! continue the revision served, as changes for the engine. Free of I/O.

use crate::SyncFailure;
use crate::dto::{EventKind, EventPage};
use crate::engine::Change;

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

/// The events of one page that continue the stream.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Taken {
    /// The revision of the last event taken (the revision held when none was).
    pub(crate) revision: u64,
    /// The changes of the events taken, in order (unknown event types make none).
    pub(crate) changes: Vec<Change>,
    /// The unknown event types taken (skipped; their revisions still count).
    pub(crate) skipped: Vec<EventKind>,
    /// Set when the stream broke off: the events before the break are taken.
    pub(crate) discontinuity: Option<Discontinuity>,
}

/// Takes the events of `page` that continue `after`, in order, up to the first break.
pub(crate) fn take(after: u64, page: EventPage) -> Taken {
    let newest = page.revision;
    let (mut taken, mut current) = (Taken { revision: after, ..Taken::default() }, after);
    for event in page.events {
        if event.revision != current.saturating_add(1) {
            let expected = current.saturating_add(1);
            taken.discontinuity = Some(Discontinuity::Gap { expected, found: event.revision });
            break;
        }
        current = event.revision;
        let name = format!("event {}", event.revision);
        match event.kind.change() {
            Some((kind, action)) => taken.changes.push(Change { kind, action, payload: event.payload, name }),
            None => taken.skipped.push(event.kind),
        }
    }
    taken.revision = current;
    taken.discontinuity = taken.discontinuity.or_else(|| check_newest(after, current, newest));
    taken
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

/// An empty page must say the revision asked for; any page may not go back. (`last` is
/// the revision of the page's last event taken, `after` when there was none; a gap is
/// reported before this is asked.)
fn check_newest(after: u64, last: u64, newest: u64) -> Option<Discontinuity> {
    match newest {
        newest if newest < last => Some(Discontinuity::Behind { after: last, newest }),
        newest if last == after && newest > after => Some(Discontinuity::Missing { after, newest }),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
