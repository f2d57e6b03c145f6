//! The `wso2-apim` source (contract/wso2.md): WSO2 API Manager 4.x as the control plane.
//! REST pulls of the internal data API and the runtime-artifacts zip, kept current by the
//! AMQP event hub; what it reads goes through [`crate::wso2`]'s mapping to the engine.
//!
//! - `client`: the REST resources of INTERFACE.md §2 (HTTP Basic, extra CA, timeouts,
//!   bounded bodies, typed errors) and the deployed-revisions PATCH;
//! - `pull` and `map`: a full pull, every resource group fetched on its own and mapped on
//!   the configuration thread; a group that fails keeps what it last had;
//! - `events`: an event → the entity it names, re-fetched (deletes need no fetch);
//! - `sync`: the loop — subscribe first (the hub's first [`HubSignal::Connected`], waited
//!   for a bounded time), pull, then events acked once serving, a full re-pull after every
//!   reconnect, every `resync_seconds` and when an event cannot settle itself, backoff;
//! - `revisions`: `PATCH /apis/deployed-revisions` once an API revision serves;
//! - `status`: the hub connection, last event and last pull for `/config`.
//!
//! The event hub (the AMQP consumer) is not here: it hands the source [`HubSignal`]s over a
//! channel, so the source is driven the same way by the hub and by tests.

mod client;
mod events;
pub mod hub;
mod hub_signal;
mod map;
mod pull;
mod revisions;
mod settings;
mod status;
mod sync;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use self::client::ApimClient;
use self::map::Scope;
use self::sync::SyncLoop;
use super::SourceError;
use super::control_plane::Backoff;
use crate::engine::EngineHandle;
use crate::status::SyncState;
use crate::wso2::TenantFilter;

pub use self::client::{ApimError, DeployedRevision, EnvInfo};
pub use self::hub::{HubSettings, HubSettingsError, HubTask, spawn_event_hub, without_userinfo};
pub use self::hub_signal::{Ack, Acker, HubMessage, HubSignal};
pub use self::settings::Wso2Settings;
pub use self::status::{PullOutcome, PullReport, Wso2Status, Wso2Sync};

/// A `wso2-apim` source, ready to start. Nothing here touches the network until
/// [`Wso2Source::spawn`].
#[derive(Debug)]
pub struct Wso2Source {
    settings: Wso2Settings,
    client: ApimClient,
    engine: EngineHandle,
    status: Wso2Status,
}

/// The running source loop; dropping this stops it.
#[derive(Debug)]
pub struct Wso2Task {
    handle: Option<JoinHandle<()>>,
}

// === impl Wso2Source ===

impl Wso2Source {
    /// Checks the settings and builds the HTTP client (URL, credentials, CA file): a mistake
    /// there is a startup error. `engine` must have been started with
    /// [`Wso2Settings::engine_settings`]. The rustls crypto provider must be installed.
    pub fn new(settings: Wso2Settings, engine: EngineHandle) -> Result<Self, SourceError> {
        let client = ApimClient::new(&settings)?;
        Ok(Wso2Source { settings, client, engine, status: Wso2Status::default() })
    }

    /// The checks of [`Wso2Source::new`] alone (`tollgate check`): nothing started.
    pub fn check(settings: &Wso2Settings) -> Result<(), SourceError> {
        ApimClient::new(settings).map(drop)
    }

    /// The hub connection, last event and last pull, for `/config`.
    pub fn status(&self) -> &Wso2Status {
        &self.status
    }

    /// Serves the last-known-good state at once, when there is one; returns its revision.
    pub fn load_state(&mut self) -> Option<u64> {
        let revision = self.engine.load_state();
        if revision.is_some() {
            self.engine.set_state(SyncState::Connecting);
        }
        revision
    }

    /// Starts the source loop, fed by the event hub's `signals`. Must be called within a
    /// Tokio runtime.
    pub fn spawn(self, signals: mpsc::Receiver<HubSignal>) -> Wso2Task {
        let Wso2Source { settings, client, engine, status } = self;
        engine.set_state(SyncState::Connecting);
        let sync = SyncLoop {
            client,
            engine,
            scope: Scope { labels: settings.environments.clone(), tenant: settings.tenant.clone() },
            status,
            tenant: TenantFilter::new(settings.tenant.clone()),
            resync_every: settings.resync,
            hub_wait: settings.hub_wait,
            backoff: Backoff::default(),
            state: Default::default(),
        };
        Wso2Task { handle: Some(tokio::spawn(sync.run(signals))) }
    }
}

// === impl Wso2Task ===

impl Wso2Task {
    /// The task handle, for a caller that stops it itself (it is no longer aborted when
    /// this is dropped).
    pub fn into_handle(mut self) -> Option<JoinHandle<()>> {
        self.handle.take()
    }
}

impl Drop for Wso2Task {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}
