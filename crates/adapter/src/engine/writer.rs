//! The state writer: each applied revision to the state directory, on its own thread.

use std::io;
use std::sync::Arc;
use std::sync::mpsc;

use super::state_dir::{StateDir, StateImage};
use crate::apply::Applier;
use crate::metrics::SyncFailure;

/// Writes images of applied revisions, newest first: images that arrive while one is being
/// written collapse into the newest, so a burst of events costs a few writes, not one each,
/// and applying never waits for the disk. A failed write is logged and counted (`io`); the
/// next revision writes the whole state again.
#[derive(Debug)]
pub(crate) struct StateWriter {
    images: mpsc::Sender<StateImage>,
}

// === impl StateWriter ===

impl StateWriter {
    /// Starts the thread; it ends when this handle is dropped.
    pub(crate) fn spawn(dir: StateDir, applier: Arc<Applier>) -> io::Result<Self> {
        let (images, queue) = mpsc::channel::<StateImage>();
        std::thread::Builder::new().name("tollgate-state".into()).spawn(move || {
            while let Ok(mut image) = queue.recv() {
                while let Ok(newer) = queue.try_recv() {
                    image = newer;
                }
                match dir.save(&image) {
                    Ok(()) => tracing::debug!(revision = image.revision, "last-known-good state written"),
                    Err(error) => applier.record_failure(SyncFailure::Io, &error),
                }
            }
        })?;
        Ok(StateWriter { images })
    }

    /// Queues `image` for writing.
    pub(crate) fn write(&self, image: StateImage) {
        // The thread only ends with this handle.
        let _ = self.images.send(image);
    }
}
