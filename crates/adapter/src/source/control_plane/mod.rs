//! The control-plane source (`source.kind = "control-plane"`, control-plane.md): the
//! last-known-good state at start, then a snapshot and long-polled events, each handed to the
//! [engine](crate::engine) and served as one snapshot swap; status reports on their own task.
//!
//! - the sync loop (`poll`): `GET /snapshot` (with `If-None-Match` once it holds a
//!   revision), then `GET /events` long polls; gaps, 410s and undecodable pages fetch a new
//!   snapshot; failures back off (0.5 s doubling to 30 s, jittered) and are counted by reason.
//!   A snapshot goes to the engine as a whole set at its revision; of a page, the events that
//!   continue the revision served (`stream`) go as changes, at the revision of the last one.
//!   Decoding runs on the engine's configuration thread; the loop waits for each outcome.
//! - the reporter (`report`): `POST /status` after each applied revision (it follows the
//!   engine) and at least every `status_interval`, never delaying the sync loop;
//! - the engine writes the last-known-good state to `state_dir` (see
//!   [`ControlPlaneSettings::engine_settings`]).

mod backoff;
mod client;
mod poll;
mod report;
mod settings;
mod stream;

use tokio::task::JoinHandle;

use crate::engine::{EngineHandle, EngineSettings};
use crate::status::SyncState;

use self::client::Client;
use self::poll::SyncLoop;
use self::report::Reporter;
use super::SourceError;

pub use self::backoff::{BACKOFF_MAX, BACKOFF_MIN, Backoff};
pub use self::client::FetchError;
pub use self::settings::{ClientIdentity, ControlPlaneSettings, MAX_WAIT};
pub use self::stream::Discontinuity;
pub use crate::engine::{STATE_FILE, SavedState, StateDir, StateError};

/// A control-plane source, ready to start. Nothing here touches the network until
/// [`ControlPlaneSource::spawn`].
#[derive(Debug)]
pub struct ControlPlaneSource {
    settings: ControlPlaneSettings,
    client: Client,
    engine: EngineHandle,
    /// The revision served when the source starts (the last-known-good state's).
    revision: Option<u64>,
}

/// The running tasks; dropping this (or [`ControlPlaneTasks::abort`]) stops them.
#[derive(Debug)]
pub struct ControlPlaneTasks {
    handles: Vec<JoinHandle<()>>,
}

// === impl ControlPlaneSource ===

impl ControlPlaneSource {
    /// Checks the settings and builds the HTTP client (URL, token, client certificate and CA
    /// files): a mistake there is a startup error. `engine` must have been started with
    /// [`ControlPlaneSettings::engine_settings`]. The rustls crypto provider must be
    /// installed (the gateway installs aws-lc-rs).
    pub fn new(settings: ControlPlaneSettings, engine: EngineHandle) -> Result<Self, SourceError> {
        let client = Client::new(&settings)?;
        Ok(ControlPlaneSource { settings, client, engine, revision: None })
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
        self.revision = self.engine.load_state();
        if self.revision.is_some() {
            self.engine.set_state(SyncState::Connecting);
        }
        self.revision
    }

    /// Starts the sync loop and the status reporter. Must be called within a Tokio runtime.
    pub fn spawn(self) -> Result<ControlPlaneTasks, SourceError> {
        let ControlPlaneSource { settings, client, engine, revision } = self;
        let mut changes = engine.subscribe();
        match revision {
            // The control plane hears which revision a restarted gateway serves.
            Some(_) => changes.mark_changed(),
            None => engine.set_state(SyncState::Connecting),
        }
        let reporter = Reporter {
            client: client.clone(),
            status: engine.status().clone(),
            gateway_id: settings.gateway_id.clone(),
            environment: settings.environment.clone(),
            interval: settings.status_interval,
        };
        let sync = SyncLoop {
            client,
            engine,
            revision,
            environment: settings.environment,
            backoff: Backoff::default(),
            skipped_types: Default::default(),
        };
        Ok(ControlPlaneTasks { handles: vec![tokio::spawn(reporter.run(changes)), tokio::spawn(sync.run())] })
    }
}

// === impl ControlPlaneSettings ===

impl ControlPlaneSettings {
    /// What the engine behind this source needs: the state directory and the environment.
    pub fn engine_settings(&self) -> EngineSettings {
        EngineSettings {
            state_dir: self.state_dir.clone().map(StateDir::new),
            environment: self.environment.clone(),
            ..EngineSettings::default()
        }
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
