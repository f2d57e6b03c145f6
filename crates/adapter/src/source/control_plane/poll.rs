//! The sync loop: a snapshot, then long polls, resyncing on any break and backing off on
//! any failure, while the gateway serves what it has.

use std::sync::Arc;

use tokio::sync::watch;

use super::backoff::Backoff;
use super::client::{Client, EventsReply, FetchError, SnapshotReply};
use super::engine::{Discontinuity, Engine, PageOutcome};
use super::state_dir::StateImage;
use super::worker::{ConfigThread, JobFailed};
use super::writer::StateWriter;
use crate::apply::Applier;
use crate::dto::{Document, EventPage};
use crate::rejected::Rejected;

/// Owns the protocol state of one control-plane source.
#[derive(Debug)]
pub(crate) struct SyncLoop {
    pub(crate) client: Client,
    /// Owns the engine; every answer is applied there.
    pub(crate) config: ConfigThread,
    /// The engine's revision after the last job.
    pub(crate) revision: Option<u64>,
    pub(crate) applier: Arc<Applier>,
    pub(crate) environment: String,
    /// Wakes the status reporter after each applied revision.
    pub(crate) applied: watch::Sender<u64>,
    /// Writes each applied revision to the state directory, when there is one.
    pub(crate) persist: Option<StateWriter>,
    pub(crate) backoff: Backoff,
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
                    self.applier.record_failure(why.reason(), &why);
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
                self.applier.set_connected(true);
                self.applier.confirm_synced();
                tracing::info!(revision = current, "the control plane's snapshot is the one served");
                Ok(Step::Synced)
            }
            SnapshotReply::Snapshot { body, etag } => {
                self.applier.set_connected(true);
                self.apply_snapshot(body, etag).await?;
                Ok(Step::Synced)
            }
        }
    }

    async fn apply_snapshot(&mut self, body: Vec<u8>, etag: Option<u64>) -> Result<(), FetchError> {
        let environment = self.environment.clone();
        let applied = self
            .blocking(move |engine, applier| {
                let document = Document::from_json_with_text(&body).map_err(|e| FetchError::Decode(e.to_string()))?;
                let revision = snapshot_revision(&document, etag, &environment)?;
                if let Some(held) = engine.revision().filter(|held| *held > revision) {
                    // The control plane is the source of truth, also after a restore.
                    tracing::warn!(held, revision, "the control plane went back to an older revision; following it");
                }
                let built = engine.snapshot(&document, revision, applier.now(), &[]);
                drop(document);
                let image = engine.image(&built);
                applier.apply(built);
                Ok(image)
            })
            .await
            .map_err(|failed| FetchError::Decode(failed.to_string()))??;
        self.applied(applied);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Step, FetchError> {
        let Some(after) = self.revision else {
            return Ok(Step::Resync(Discontinuity::Missing { after: 0, newest: 0 }));
        };
        let body = match self.client.events(after).await? {
            EventsReply::Gone => return Ok(Step::Resync(Discontinuity::Gone { after })),
            EventsReply::Page(body) => body,
        };
        self.applier.set_connected(true);
        let outcome = self.blocking(move |engine, applier| {
            let page = EventPage::from_json(&body).map_err(|error| Discontinuity::Undecodable(error.to_string()))?;
            let PageOutcome { built, discontinuity, results } = engine.events(&page, applier.now());
            results.iter().for_each(|(kind, result)| applier.record_event(kind, *result));
            let image = built.map(|built| {
                let image = engine.image(&built);
                applier.apply(built);
                image
            });
            Ok((image, discontinuity))
        });
        // A panic while applying leaves the catalog unknown: start over from a snapshot.
        let outcome = outcome.await.map_err(|failed| Discontinuity::Undecodable(failed.to_string()));
        let (image, discontinuity) = match outcome {
            Ok(Ok(applied)) => applied,
            Ok(Err(discontinuity)) | Err(discontinuity) => return Ok(Step::Resync(discontinuity)),
        };
        match image {
            Some(image) => self.applied(image),
            None => self.applier.confirm_synced(),
        }
        Ok(discontinuity.map_or(Step::Continued, Step::Resync))
    }

    /// Runs `apply` on the configuration thread (decoding and building a large snapshot
    /// takes milliseconds of CPU that must not stall the request path's workers).
    async fn blocking<R: Send + 'static>(
        &mut self,
        apply: impl FnOnce(&mut Engine, &Applier) -> R + Send + 'static,
    ) -> Result<R, JobFailed> {
        let applier = self.applier.clone();
        let (result, revision) = self.config.run(move |engine| (apply(engine, &applier), engine.revision())).await?;
        self.revision = revision;
        Ok(result)
    }

    /// Records a failed request. A snapshot that cannot be used is also a rejection, reported
    /// as such (control-plane.md, "Bad input").
    fn failed(&self, error: &FetchError, snapshot: bool) {
        self.applier.set_connected(false);
        self.applier.record_failure(error.reason(), error);
        let unusable = matches!(error, FetchError::Decode(_) | FetchError::TooLarge | FetchError::Protocol(_));
        if snapshot && unusable {
            self.applier.reject_document(&Rejected::document("snapshot", error));
            self.applied.send_modify(|generation| *generation += 1);
        }
    }

    /// Hands a new revision to the reporter and the state writer.
    fn applied(&self, image: StateImage) {
        self.applied.send_modify(|generation| *generation += 1);
        if let Some(persist) = &self.persist {
            persist.write(image);
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
