//! The control-plane source (`source.kind = "control-plane"`, control-plane.md): the
//! last-known-good state at start, then a snapshot and long-polled events, each applied as
//! one snapshot swap; status reports and state writes on their own tasks.
//!
//! Three activities, none of which waits for another:
//! - the sync loop (`poll`): `GET /snapshot` (with `If-None-Match` once it holds a
//!   revision), then `GET /events` long polls; gaps, 410s and undecodable pages fetch a new
//!   snapshot; failures back off (0.5 s doubling to 30 s, jittered) and are counted by reason;
//! - the reporter (`report`): `POST /status` after each applied revision and at least every
//!   `status_interval`;
//! - the state writer (`writer`): the latest applied revision to `state_dir`, atomically.
//!   Revisions applied while a write is under way collapse into one more write of the newest.
//!
//! Decoding, building and applying run on one long-lived configuration thread (`worker`),
//! which owns the protocol state (`engine`); the tasks above only do I/O.

mod backoff;
mod client;
mod engine;
mod mirror;
mod poll;
mod report;
mod settings;
mod state_dir;
mod worker;
mod writer;

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::apply::Applier;
use crate::metrics::SyncFailure;
use crate::status::SyncState;

use self::client::Client;
use self::engine::Engine;
use self::poll::SyncLoop;
use self::report::Reporter;
use self::worker::ConfigThread;
use self::writer::StateWriter;
use super::SourceError;

pub use self::backoff::{BACKOFF_MAX, BACKOFF_MIN, Backoff};
pub use self::client::FetchError;
pub use self::engine::Discontinuity;
pub use self::settings::{ClientIdentity, ControlPlaneSettings, MAX_WAIT};
pub use self::state_dir::{STATE_FILE, SavedState, StateDir, StateError};

/// A control-plane source, ready to start. Nothing here touches the network until
/// [`ControlPlaneSource::spawn`].
#[derive(Debug)]
pub struct ControlPlaneSource {
    settings: ControlPlaneSettings,
    client: Client,
    applier: Arc<Applier>,
    engine: Engine,
    state_dir: Option<StateDir>,
}

/// The running tasks; dropping this (or [`ControlPlaneTasks::abort`]) stops them.
#[derive(Debug)]
pub struct ControlPlaneTasks {
    handles: Vec<JoinHandle<()>>,
}

// === impl ControlPlaneSource ===

impl ControlPlaneSource {
    /// Checks the settings and builds the HTTP client (URL, token, client certificate and CA
    /// files): a mistake there is a startup error. The rustls crypto provider must be
    /// installed (the gateway installs aws-lc-rs).
    pub fn new(settings: ControlPlaneSettings, applier: Arc<Applier>) -> Result<Self, SourceError> {
        let client = Client::new(&settings)?;
        let engine = Engine::new(settings.environment.clone());
        let state_dir = settings.state_dir.clone().map(StateDir::new);
        Ok(ControlPlaneSource { settings, client, applier, engine, state_dir })
    }

    /// The checks of [`ControlPlaneSource::new`] alone (`tollgate check` and the gateway's
    /// configuration validation): the same verdict, nothing started.
    pub fn check(settings: &ControlPlaneSettings) -> Result<(), SourceError> {
        Client::new(settings).map(drop)
    }

    /// Serves the last-known-good state at once, when there is one; returns its revision.
    /// Synchronous, so the gateway is ready as soon as it listens. A state that cannot be
    /// read is logged and counted (`io`/`decode`), and the gateway starts without one.
    pub fn load_state(&mut self) -> Option<u64> {
        let state_dir = self.state_dir.as_ref()?;
        let saved = match state_dir.load(&self.settings.environment) {
            Ok(saved) => saved?,
            Err(error) => {
                let reason = match error {
                    StateError::Read { .. } | StateError::Write { .. } => SyncFailure::Io,
                    StateError::Decode { .. } | StateError::NoRevision { .. } | StateError::Environment { .. } => {
                        SyncFailure::Decode
                    }
                };
                self.applier.record_failure(reason, &error);
                return None;
            }
        };
        let built = self.engine.snapshot(&saved.document, saved.revision, self.applier.now(), &saved.rejected);
        self.applier.apply(built);
        self.applier.set_state(SyncState::Connecting);
        tracing::info!(revision = saved.revision, path = %state_dir.file().display(), "serving the last-known-good state");
        Some(saved.revision)
    }

    /// Starts the sync loop, the status reporter, and the configuration and state-writer
    /// threads. Must be called within a Tokio runtime; fails only when a thread cannot be
    /// started.
    pub fn spawn(self) -> Result<ControlPlaneTasks, SourceError> {
        let ControlPlaneSource { settings, client, applier, engine, state_dir } = self;
        let revision = engine.revision();
        let (applied, changes) = watch::channel(0u64);
        match revision {
            // The control plane hears which revision a restarted gateway serves.
            Some(_) => applied.send_modify(|generation| *generation += 1),
            None => applier.set_state(SyncState::Connecting),
        }
        let persist =
            state_dir.map(|dir| StateWriter::spawn(dir, applier.clone())).transpose().map_err(SourceError::Thread)?;
        let config = ConfigThread::spawn(engine).map_err(SourceError::Thread)?;
        let reporter = Reporter {
            client: client.clone(),
            status: applier.status().clone(),
            gateway_id: settings.gateway_id.clone(),
            environment: settings.environment.clone(),
            interval: settings.status_interval,
        };
        let sync = SyncLoop {
            client,
            config,
            revision,
            applier,
            environment: settings.environment,
            applied,
            persist,
            backoff: Backoff::default(),
        };
        Ok(ControlPlaneTasks { handles: vec![tokio::spawn(reporter.run(changes)), tokio::spawn(sync.run())] })
    }
}

// === impl ControlPlaneTasks ===

impl ControlPlaneTasks {
    /// Stops every task.
    pub fn abort(&self) {
        self.handles.iter().for_each(JoinHandle::abort);
    }

    /// The task handles, for a caller that stops them itself (they are no longer aborted
    /// when this is dropped).
    pub fn into_handles(mut self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut self.handles)
    }
}

impl Drop for ControlPlaneTasks {
    fn drop(&mut self) {
        self.abort();
    }
}
