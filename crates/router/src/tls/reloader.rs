//! The task behind [`Tls::spawn_reloader`]: file events, debounced, plus a periodic check.

use std::path::PathBuf;
use std::time::Duration;

use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::Tls;
use super::catalog::Refresh;
use crate::file_events::is_change;

/// Writers replace a cert and its key one after the other, often in several steps: wait for the
/// burst of events to settle before reading.
const SETTLE: Duration = Duration::from_millis(100);

/// Floor for the poll interval (`tokio::time::interval` rejects zero).
const MIN_POLL: Duration = Duration::from_millis(10);

/// Whether to listen for file events or only poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Watch {
    FileEvents,
    /// Only the periodic check; tests use it to prove the fallback works on its own.
    #[cfg_attr(not(test), allow(dead_code))]
    PollOnly,
}

pub(crate) fn spawn(tls: Tls, poll: Duration, watch: Watch) -> JoinHandle<()> {
    tokio::spawn(run(tls, poll, watch))
}

async fn run(tls: Tls, poll: Duration, watch: Watch) {
    let dirs = tls.watched_dirs();
    if dirs.is_empty() {
        // Only the generated certificate: nothing can change.
        return std::future::pending().await;
    }
    let (notify, mut events) = mpsc::channel(1);
    // Dropping the watcher (when the task is aborted) stops its thread.
    let _watcher = match watch {
        Watch::FileEvents => watch_dirs(&dirs, notify),
        Watch::PollOnly => None,
    };
    let mut ticks = tokio::time::interval(poll.max(MIN_POLL));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        // Check at once first: the files may have changed between load and the watch starting.
        check(&tls).await;
        tokio::select! {
            _ = ticks.tick() => {}
            Some(()) = events.recv() => settle(&mut events).await,
        }
    }
}

async fn settle(events: &mut mpsc::Receiver<()>) {
    tokio::time::sleep(SETTLE).await;
    while events.try_recv().is_ok() {}
}

/// Reloads the pairs whose files changed; failures were logged by the catalog.
async fn check(tls: &Tls) {
    let tls = tls.clone();
    match tokio::task::spawn_blocking(move || tls.refresh(Refresh::Changed)).await {
        Ok(Ok(true)) => tracing::info!("TLS certificates reloaded after their files changed"),
        Ok(Ok(false) | Err(_)) => {}
        Err(error) => tracing::warn!(%error, "TLS certificate check did not complete"),
    }
}

/// Watches each directory; `None` (with a warning) if file events are unavailable, leaving the
/// periodic check. A directory that cannot be watched is likewise left to the periodic check.
fn watch_dirs(dirs: &[PathBuf], events: mpsc::Sender<()>) -> Option<RecommendedWatcher> {
    let handler = move |event: notify::Result<Event>| {
        let relevant = match &event {
            Ok(event) => is_change(event.kind),
            // Events may have been lost (queue overflow): look.
            Err(_) => true,
        };
        if relevant {
            // Full: a check is already pending. Closed: the task has ended.
            let _ = events.try_send(());
        }
    };
    let mut watcher = notify::recommended_watcher(handler)
        .map_err(|error| tracing::warn!(%error, "cannot watch TLS certificate files; relying on the periodic check"))
        .ok()?;
    for dir in dirs {
        if let Err(error) = watcher.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!(%error, dir = %dir.display(), "cannot watch; relying on the periodic check");
        }
    }
    Some(watcher)
}
