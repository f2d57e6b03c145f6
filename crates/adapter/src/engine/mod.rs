//! The source engine: one place where configuration from any source is validated, built,
//! swapped in, written to the last-known-good state, reported and counted.
//!
//! # The interface between a source and the engine
//!
//! A source (the file source, the control-plane source, a WSO2 API Manager source) only
//! fetches and decodes. It holds an [`EngineHandle`] and sends it [`Update`]s:
//!
//! - [`Update::Changes`]: changes to single entities ([`Change`]: an entity kind, upsert or
//!   delete, and the entity's model payload), applied in order and served as one revision.
//!   The control plane's events become changes; so would a message naming one changed entity,
//!   once the source has fetched the entity.
//! - [`Update::Replace`]: a whole new set (a [`Document`](crate::dto::Document) of the model's
//!   arrays). The engine — not the source — compares it with what is served: unchanged
//!   entities keep their validated form, what differs is counted by kind ([`Diff`]) and
//!   logged, and everything the set no longer holds is removed. A periodic full re-pull is
//!   just a `Replace` with [`Revision::Next`]: when nothing differs, nothing is swapped.
//!
//! Each update names its [`Revision`]: the source's own (`At`, the control plane's revision,
//! served even when nothing changed) or `Next` (the engine counts, and only when something
//! changed). An update may carry a [`Notify`], fired exactly once on the configuration
//! thread with the [`Outcome`]: `Serving` (swapped in: requests see it; with what it refused
//! and what changed), `Unchanged`, or `Failed` (nothing applied; send a whole set next). A
//! source that must acknowledge a message only once its change is serving acknowledges from
//! there (or awaits [`EngineHandle::apply`]).
//!
//! Per entity, validation is the same for every source: an entity that breaks a rule is
//! rejected with an error naming it and its field, its previous version (if any) stays
//! served, and the rest of the update applies (control-plane.md, "Bad input"). Work the
//! source must do off the request path's workers, such as decoding a large body, can run on
//! the configuration thread with [`EngineHandle::run`].
//!
//! The source keeps what is its own: its protocol state (revisions, gaps, resyncs, backoff),
//! its connection state and failures ([`EngineHandle::record_failure`],
//! [`EngineHandle::set_connected`]), and a whole document it could not read
//! ([`EngineHandle::reject_document`]). Status reports to a server follow
//! [`EngineHandle::subscribe`].
//!
//! # Inside
//!
//! One configuration thread owns the catalog (the desired state), the snapshot builder, and
//! the entities' texts for the state directory (`pipeline`); it applies updates one at a time,
//! swaps through the [`Applier`], queues the state for the writer thread, and wakes the
//! subscribers.

mod handle;
mod mirror;
mod pipeline;
mod state_dir;
mod thread;
mod update;
mod worker;
mod writer;

use std::io;
use std::sync::Arc;

use crate::apply::Applier;
use crate::validate::ValidationSettings;

use self::pipeline::Pipeline;
use self::thread::ConfigThread;
use self::worker::{Shared, State, Worker};
use self::writer::StateWriter;

pub use self::handle::EngineHandle;
pub use self::state_dir::{STATE_FILE, SavedState, StateDir, StateError};
pub use self::thread::JobFailed;
pub use self::update::{Action, Change, Notify, Outcome, Revision, Update};
pub use crate::catalog::Diff;

/// What the engine needs besides the [`Applier`].
#[derive(Debug, Clone, Default)]
pub struct EngineSettings {
    /// Where the last-known-good state is kept; `None`: nowhere (a restart serves nothing
    /// until the source delivers).
    pub state_dir: Option<StateDir>,
    /// The environment the state belongs to (a state of another one is not served).
    pub environment: String,
    /// The gateway's side of validation (what its configuration lets it serve).
    pub validation: ValidationSettings,
}

/// Starts engines.
#[derive(Debug)]
pub struct Engine;

// === impl Engine ===

impl Engine {
    /// Starts the configuration thread (and the state writer's, with a state directory),
    /// serving through `applier`. Fails only when a thread cannot be started.
    pub fn start(applier: Arc<Applier>, settings: EngineSettings) -> io::Result<EngineHandle> {
        let shared = Arc::new(Shared::new(applier));
        let state = match settings.state_dir {
            Some(dir) => {
                let writer = StateWriter::spawn(dir.clone(), shared.applier.clone())?;
                Some(State { dir, environment: settings.environment, writer })
            }
            None => None,
        };
        let worker =
            Worker { pipeline: Pipeline::new(state.is_some(), settings.validation), shared: shared.clone(), state };
        Ok(EngineHandle::new(ConfigThread::spawn(worker)?, shared))
    }
}

#[cfg(test)]
mod tests;
