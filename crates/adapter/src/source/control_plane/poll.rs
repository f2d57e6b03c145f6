//! The sync loop: a snapshot, then long polls, resyncing on any break and backing off on
//! any failure, while the gateway serves what it has.

use std::collections::HashSet;

use super::backoff::Backoff;
use super::client::{Client, EventsReply, FetchError, SnapshotReply};
use super::stream::{self, Discontinuity, Taken};
use crate::dto::{Document, EventPage};
use crate::engine::{EngineHandle, Outcome, Revision, Update};
use crate::rejected::Rejected;

/// Owns the protocol state of one control-plane source.
#[derive(Debug)]
pub(crate) struct SyncLoop {
    pub(crate) client: Client,
    /// Where every answer goes.
    pub(crate) engine: EngineHandle,
    /// The revision served, as the engine last answered.
    pub(crate) revision: Option<u64>,
    pub(crate) environment: String,
    pub(crate) backoff: Backoff,
    /// Unknown event types already logged (control-plane.md: logged once per type).
    pub(crate) skipped_types: HashSet<String>,
}

/// What the loop does next.
#[derive(Debug)]
enum Step {
    /// A snapshot was applied (or found current): poll.
    Synced,
    /// A page continued the stream: poll again.
    Continued,
    /// The stream broke: fetch a snapshot.
    Resync(Discontinuity),
}

// === impl SyncLoop ===

impl SyncLoop {
    /// Runs until aborted. Failures are recorded (metric, error log with the cause, status)
    /// and retried after [`Backoff`]; what is served stays served throughout.
    pub(crate) async fn run(mut self) {
        let (mut snapshot_needed, mut resyncs) = (true, 0u32);
        loop {
            let step = match snapshot_needed {
                true => self.fetch_snapshot().await,
                false => self.poll().await,
            };
            match step {
                Ok(Step::Synced) => {
                    snapshot_needed = false;
                    if resyncs == 0 {
                        self.backoff.reset();
                    }
                }
                Ok(Step::Continued) => {
                    resyncs = 0;
                    self.backoff.reset();
                }
                Ok(Step::Resync(why)) => {
                    self.engine.record_failure(why.reason(), &why);
                    snapshot_needed = true;
                    resyncs += 1;
                    // One resync is routine; a stream that breaks again right after one is
                    // not, and must not turn into a tight loop of snapshot fetches.
                    if resyncs > 1 {
                        self.backoff.wait().await;
                    }
                }
                Err(error) => {
                    self.failed(&error, snapshot_needed);
                    self.backoff.wait().await;
                }
            }
        }
    }

    async fn fetch_snapshot(&mut self) -> Result<Step, FetchError> {
        let current = self.revision;
        match self.client.snapshot(current).await? {
            SnapshotReply::NotModified => {
                self.engine.set_connected(true);
                self.engine.confirm_synced();
                tracing::info!(revision = current, "the control plane's snapshot is the one served");
                Ok(Step::Synced)
            }
            SnapshotReply::Snapshot { body, etag } => {
                self.engine.set_connected(true);
                self.apply_snapshot(body, etag).await?;
                Ok(Step::Synced)
            }
        }
    }

    async fn apply_snapshot(&mut self, body: Vec<u8>, etag: Option<u64>) -> Result<(), FetchError> {
        let environment = self.environment.clone();
        let decode = move || {
            let document = Document::from_json_with_text(&body).map_err(|e| FetchError::Decode(e.to_string()))?;
            let revision = snapshot_revision(&document, etag, &environment)?;
            Ok::<_, FetchError>((document, revision))
        };
        let (document, revision) =
            self.engine.run(decode).await.map_err(|failed| FetchError::Decode(failed.to_string()))??;
        if let Some(held) = self.revision.filter(|held| *held > revision) {
            // The control plane is the source of truth, also after a restore.
            tracing::warn!(held, revision, "the control plane went back to an older revision; following it");
        }
        let update =
            Update::Replace { revision: Revision::At(revision), document: Box::new(document), in_force: Vec::new() };
        match self.engine.apply(update).await {
            Outcome::Failed(error) => Err(FetchError::Decode(error)),
            applied @ (Outcome::Serving { .. } | Outcome::Unchanged { .. }) => {
                self.revision = applied.revision();
                Ok(())
            }
        }
    }

    async fn poll(&mut self) -> Result<Step, FetchError> {
        let Some(after) = self.revision else {
            return Ok(Step::Resync(Discontinuity::Missing { after: 0, newest: 0 }));
        };
        let body = match self.client.events(after).await? {
            EventsReply::Gone => return Ok(Step::Resync(Discontinuity::Gone { after })),
            EventsReply::Page(body) => body,
        };
        self.engine.set_connected(true);
        let page = self.engine.run(move || EventPage::from_json(&body)).await;
        let page = match page {
            Ok(Ok(page)) => page,
            Ok(Err(error)) => return Ok(Step::Resync(Discontinuity::Undecodable(error.to_string()))),
            Err(failed) => return Ok(Step::Resync(Discontinuity::Undecodable(failed.to_string()))),
        };
        let Taken { revision, changes, skipped, discontinuity } = stream::take(after, page);
        for kind in &skipped {
            kind.log_skipped(revision, &mut self.skipped_types);
            self.engine.record_skipped(kind);
        }
        if revision == after {
            self.engine.confirm_synced();
        } else {
            let update = Update::Changes { revision: Revision::At(revision), changes };
            // A failure while applying leaves the catalog unknown: start over from a snapshot.
            if let Outcome::Failed(error) = self.engine.apply(update).await {
                return Ok(Step::Resync(Discontinuity::Undecodable(error)));
            }
            self.revision = Some(revision);
        }
        Ok(discontinuity.map_or(Step::Continued, Step::Resync))
    }

    /// Records a failed request. A snapshot that cannot be used is also a rejection, reported
    /// as such (control-plane.md, "Bad input").
    fn failed(&self, error: &FetchError, snapshot: bool) {
        self.engine.set_connected(false);
        self.engine.record_failure(error.reason(), error);
        let unusable = matches!(error, FetchError::Decode(_) | FetchError::TooLarge | FetchError::Protocol(_));
        if snapshot && unusable {
            self.engine.reject_document(&Rejected::document("snapshot", error));
        }
    }
}

/// The snapshot's revision (its body's, else its `ETag`'s), checking its environment.
fn snapshot_revision(document: &Document, etag: Option<u64>, environment: &str) -> Result<u64, FetchError> {
    if let Some(found) = document.environment.as_deref().filter(|found| *found != environment) {
        return Err(FetchError::Protocol(format!("the snapshot is for environment {found:?}, not {environment:?}")));
    }
    document.revision.or(etag).ok_or_else(|| FetchError::Protocol("the snapshot has no revision".to_owned()))
}
