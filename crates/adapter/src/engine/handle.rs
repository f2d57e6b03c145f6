//! [`EngineHandle`]: what a source holds to hand the engine its updates.

use std::fmt;
use std::sync::{Arc, mpsc};

use tokio::sync::{oneshot, watch};

use super::thread::{ConfigThread, JobFailed};
use super::update::{Notify, Outcome, Update};
use super::worker::Shared;
use crate::dto::EventKind;
use crate::metrics::{EventResult, SyncFailure};
use crate::rejected::Rejected;
use crate::status::{StatusCell, SyncState};

/// A source's end of the engine. Cheap to clone; the engine runs while a handle exists.
///
/// Updates are applied one at a time, in the order they were sent, on the configuration
/// thread. The other methods record what the source itself saw (a failed fetch, a
/// connection state) in the status, the metrics and the log.
#[derive(Clone)]
pub struct EngineHandle {
    thread: ConfigThread,
    shared: Arc<Shared>,
}

/// Fires a [`Notify`] exactly once: with the outcome, or, when the update is dropped
/// unapplied (the engine is gone), with [`Outcome::Failed`].
struct Completion(Option<Notify>);

// === impl EngineHandle ===

impl EngineHandle {
    pub(super) fn new(thread: ConfigThread, shared: Arc<Shared>) -> Self {
        EngineHandle { thread, shared }
    }

    /// Queues `update`; `notify`, when given, is fired once with its [`Outcome`] after it
    /// is serving (or refused), on the configuration thread: it must not block.
    pub fn submit(&self, update: Update, notify: Option<Notify>) {
        let completion = Completion(notify);
        self.thread.submit(move |worker| worker.apply(update), move |result| completion.fire(outcome_of(result)));
    }

    /// Applies `update` and waits for its [`Outcome`] without blocking the runtime.
    pub async fn apply(&self, update: Update) -> Outcome {
        let (done, outcome) = oneshot::channel();
        self.submit(update, Some(Box::new(move |outcome| drop(done.send(outcome)))));
        outcome.await.unwrap_or_else(|_| Outcome::Failed(JobFailed::gone().to_string()))
    }

    /// Applies `update` and blocks the calling thread until its [`Outcome`] (a source's
    /// synchronous first load, before the gateway listens).
    pub fn apply_blocking(&self, update: Update) -> Outcome {
        let (done, outcome) = mpsc::sync_channel(1);
        self.submit(update, Some(Box::new(move |outcome| drop(done.send(outcome)))));
        outcome.recv().unwrap_or_else(|_| Outcome::Failed(JobFailed::gone().to_string()))
    }

    /// Runs `work` on the configuration thread and waits for its result: decoding a large
    /// document there keeps its CPU off the request path's workers and its memory in the
    /// heap the build reuses.
    pub async fn run<R: Send + 'static>(&self, work: impl FnOnce() -> R + Send + 'static) -> Result<R, JobFailed> {
        let (done, result) = oneshot::channel();
        self.thread.submit(move |_| work(), move |outcome| drop(done.send(outcome)));
        result.await.unwrap_or_else(|_| Err(JobFailed::gone()))
    }

    /// Serves the last-known-good state of the state directory, when there is one, and
    /// returns its revision; blocks until it is served.
    pub fn load_state(&self) -> Option<u64> {
        let (done, revision) = mpsc::sync_channel(1);
        self.thread.submit(|worker| worker.load_state(), move |loaded| drop(done.send(loaded)));
        revision.recv().ok()?.ok()?
    }

    /// Follows applied revisions: the value changes after each one (and after each
    /// [`EngineHandle::reject_document`]).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.applied.subscribe()
    }

    /// Records a failed attempt of the source: metric, log, and the status (what is served
    /// stays).
    pub fn record_failure(&self, reason: SyncFailure, error: &dyn fmt::Display) {
        self.shared.applier.record_failure(reason, error);
    }

    /// Records a whole document that could not be read (an undecodable snapshot): nothing of
    /// it applies; it is shown with the rejections in force until the next update.
    pub fn reject_document(&self, rejected: &Rejected) {
        self.shared.applier.reject_document(rejected);
        self.shared.announce();
    }

    /// Counts an event the source skipped (a type this gateway does not know).
    pub fn record_skipped(&self, kind: &EventKind) {
        self.shared.applier.record_event(kind, EventResult::Skipped);
    }

    /// Records that the source checked and what is served is current.
    pub fn confirm_synced(&self) {
        self.shared.applier.confirm_synced();
    }

    /// Records whether the source's server answered the last request.
    pub fn set_connected(&self, connected: bool) {
        self.shared.applier.set_connected(connected);
    }

    /// Sets what the source is doing (e.g. `Connecting`).
    pub fn set_state(&self, state: SyncState) {
        self.shared.applier.set_state(state);
    }

    /// The status, for `/config` and status reports.
    pub fn status(&self) -> &StatusCell {
        self.shared.applier.status()
    }
}

impl fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineHandle").finish_non_exhaustive()
    }
}

// === impl Completion ===

impl Completion {
    fn fire(mut self, outcome: Outcome) {
        if let Some(notify) = self.0.take() {
            notify(outcome);
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if let Some(notify) = self.0.take() {
            notify(Outcome::Failed(JobFailed::gone().to_string()));
        }
    }
}

fn outcome_of(result: Result<Outcome, JobFailed>) -> Outcome {
    result.unwrap_or_else(|failed| Outcome::Failed(failed.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notifier_fires_once_even_when_its_update_is_dropped() {
        let (seen, fired) = mpsc::channel();
        let notify = |seen: mpsc::Sender<Outcome>| -> Notify { Box::new(move |outcome| drop(seen.send(outcome))) };
        Completion(Some(notify(seen.clone()))).fire(Outcome::Unchanged { revision: Some(1) });
        drop(Completion(Some(notify(seen))));
        let outcomes: Vec<Outcome> = fired.try_iter().collect();
        assert_eq!(outcomes.len(), 2, "{outcomes:?}");
        assert_eq!(outcomes[0], Outcome::Unchanged { revision: Some(1) });
        assert!(matches!(&outcomes[1], Outcome::Failed(error) if error.contains("gone")), "{outcomes:?}");
    }
}
