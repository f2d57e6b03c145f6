//! Reloading files when they change: which file-system notifications mean a watched file may
//! have new content, and the loop that reacts to them. Shared by everything that reloads files
//! (TLS certificates, the backend-JWT key; the file source uses [`is_change`]).

use std::path::PathBuf;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// Writers replace a file in several steps (a certificate and then its key, a temporary file
/// renamed into place): wait for a burst of events to settle before reading.
const SETTLE: Duration = Duration::from_millis(100);

/// Floor for the poll interval (`tokio::time::interval` rejects zero).
const MIN_POLL: Duration = Duration::from_millis(10);

/// Whether to listen for file events or only poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    FileEvents,
    /// Only the periodic check; tests use it to prove the fallback works on its own.
    PollOnly,
}

/// When to look at watched files again: at once, then after each burst of file events in the
/// watched directories has settled, and every `poll` in any case (events may be lost, or
/// unavailable: then a warning is logged and only the periodic check runs). Dropping it stops
/// the watcher's thread.
///
/// ```text
/// let mut changes = FileChanges::watch(&dirs, poll, Watch::FileEvents, "TLS certificate files");
/// loop {
///     changes.next().await;
///     reload().await;
/// }
/// ```
#[derive(Debug)]
pub struct FileChanges {
    events: mpsc::Receiver<()>,
    ticks: Interval,
    /// Held for its thread; `None` when polling only.
    _watcher: Option<RecommendedWatcher>,
    /// No check made yet: the files may have changed between load and the watch starting.
    first: bool,
}

// === impl FileChanges ===

impl FileChanges {
    /// Watches `dirs` (non-recursively); `what` names the files in the warnings. Must be
    /// called within a Tokio runtime.
    pub fn watch(dirs: &[PathBuf], poll: Duration, watch: Watch, what: &str) -> Self {
        let (notify, events) = mpsc::channel(1);
        let watcher = match watch {
            Watch::FileEvents => watch_dirs(dirs, notify, what),
            Watch::PollOnly => None,
        };
        let mut ticks = tokio::time::interval_at(Instant::now() + poll.max(MIN_POLL), poll.max(MIN_POLL));
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        FileChanges { events, ticks, _watcher: watcher, first: true }
    }

    /// Resolves when the files should be looked at: at once the first time, then at the next
    /// tick or settled burst of events.
    pub async fn next(&mut self) {
        if std::mem::take(&mut self.first) {
            return;
        }
        tokio::select! {
            _ = self.ticks.tick() => {}
            Some(()) = self.events.recv() => settle(&mut self.events).await,
        }
    }
}

/// `true` for creations, modifications, removals, renames, closes after writing, and events
/// of unknown kind; `false` for other accesses. Those include the opens and closes of the
/// reloader's own reads: reacting to them would reload in a loop.
pub fn is_change(kind: EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Other => true,
    }
}

async fn settle(events: &mut mpsc::Receiver<()>) {
    tokio::time::sleep(SETTLE).await;
    while events.try_recv().is_ok() {}
}

/// Watches each directory; `None` (with a warning) if file events are unavailable, leaving the
/// periodic check. A directory that cannot be watched is likewise left to the periodic check.
fn watch_dirs(dirs: &[PathBuf], events: mpsc::Sender<()>, what: &str) -> Option<RecommendedWatcher> {
    let handler = move |event: notify::Result<Event>| {
        // An error may mean lost events (queue overflow): look.
        if event.as_ref().map_or(true, |event| is_change(event.kind)) {
            // Full: a check is already pending. Closed: the task has ended.
            let _ = events.try_send(());
        }
    };
    let mut watcher = notify::recommended_watcher(handler)
        .map_err(|error| tracing::warn!(%error, "cannot watch {what}; relying on the periodic check"))
        .ok()?;
    for dir in dirs {
        if let Err(error) = watcher.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!(%error, dir = %dir.display(), "cannot watch {what}; relying on the periodic check");
        }
    }
    Some(watcher)
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, ModifyKind, RemoveKind};

    use super::*;

    #[test]
    fn own_reads_are_not_changes() {
        assert!(!is_change(EventKind::Access(AccessKind::Open(AccessMode::Any))));
        assert!(!is_change(EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(!is_change(EventKind::Access(AccessKind::Read)));
    }

    #[test]
    fn writes_creations_removals_and_unknowns_are_changes() {
        assert!(is_change(EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(is_change(EventKind::Create(CreateKind::File)));
        assert!(is_change(EventKind::Modify(ModifyKind::Any)));
        assert!(is_change(EventKind::Remove(RemoveKind::File)));
        assert!(is_change(EventKind::Any));
        assert!(is_change(EventKind::Other));
    }
}
