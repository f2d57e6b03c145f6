use std::sync::Arc;

use arc_swap::ArcSwapOption;
use tollgate_enforcer::Enforcement;

use crate::route::RouteTable;
use crate::tls::ClientAuthSwitch;

/// Everything the request path reads, swapped whole: routes and enforcement data of one
/// revision. A request loads it once and keeps its `Arc` to the end, so it sees one revision.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub revision: u64,
    pub routes: Arc<RouteTable>,
    pub enforcement: Enforcement,
}

/// The one place the current snapshot lives. Empty until the first configuration is loaded
/// (requests are then answered 503 102500).
#[derive(Debug, Default)]
pub struct SnapshotStore {
    current: ArcSwapOption<Snapshot>,
    /// Turned on while the current snapshot serves an Api with `mutualssl`.
    client_auth: ClientAuthSwitch,
}

impl SnapshotStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that asks the TLS listener for client certificates (through `client_auth`)
    /// exactly while the snapshot it holds serves an Api with `mutualssl`.
    pub fn with_client_auth(client_auth: ClientAuthSwitch) -> Self {
        SnapshotStore { current: ArcSwapOption::empty(), client_auth }
    }

    /// The current snapshot, if any; one atomic load.
    pub fn load(&self) -> Option<Arc<Snapshot>> {
        self.current.load_full()
    }

    /// Replaces the whole runtime state at once. New TLS handshakes ask for a client
    /// certificate from now on when, and only when, an Api of `snapshot` uses `mutualssl`.
    pub fn store(&self, snapshot: Arc<Snapshot>) {
        self.client_auth.request(snapshot.routes.requests_client_certificates());
        self.current.store(Some(snapshot));
    }

    pub fn is_loaded(&self) -> bool {
        self.current.load().is_some()
    }
}
