//! A fake WSO2 API Manager 4.x for the `wso2-apim` source (INTERFACE.md §9): the internal
//! data API's resources (`/apis`, `/applications`, `/subscriptions`,
//! `/application-key-mappings`, `/subscription-policies`, `/application-policies`,
//! `/api-policies`, `/keymanagers`, `/revokedjwt`, `/runtime-artifacts`) and
//! `PATCH /apis/deployed-revisions`, over real sockets on 127.0.0.1, with HTTP Basic.
//!
//! Its APIs are the recorded API-M 4.3.0 runtime artifacts of `fixtures/wso2/` (the runtime
//! zip is built in memory from their members); the other entities are set by the test.
//! Both version forms are served ([`Form`]); faults on demand (a status for every request,
//! slow answers, down and up on the same port); the PATCHes received are recorded.
//! [`events`] builds the event-hub messages API-M would publish for its changes.

mod artifacts;
pub mod events;
mod server;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::control_plane::{Running, rebind};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use self::state::{FakeApi, Form, State};

/// The username and password the fake accepts by default.
pub const USERNAME: &str = "admin";
pub const PASSWORD: &str = "admin-secret";

/// A running fake API-M on 127.0.0.1; stops when dropped.
pub struct Apim {
    addr: SocketAddr,
    shared: Arc<Mutex<State>>,
    running: Mutex<Option<Running>>,
}

impl Apim {
    /// An API-M answering in `form`, holding nothing yet.
    pub async fn start(form: Form) -> Apim {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let apim = Apim {
            addr: listener.local_addr().unwrap(),
            shared: Arc::new(Mutex::new(State::new(form))),
            running: Mutex::new(None),
        };
        apim.serve(listener);
        apim
    }

    /// The base URL for `source.url` (the gateway appends `/internal/data/v1/...`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A `[source]` section for this API-M (its credentials, label `Default`), plus `extra`.
    pub fn source_config(&self, extra: &str) -> String {
        format!(
            "[source]\nkind = \"wso2-apim\"\nurl = \"{}\"\nusername = \"{USERNAME}\"\npassword = \"{PASSWORD}\"\nenvironments = [\"Default\"]\n{extra}",
            self.url()
        )
    }

    /// The fixture file `fixtures/wso2/<path>`.
    pub fn fixture(path: &str) -> Vec<u8> {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/wso2").join(path);
        std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
    }

    /// Changes the state (every change is seen by the next request).
    pub fn with<R>(&self, change: impl FnOnce(&mut State) -> R) -> R {
        change(&mut self.shared.lock().unwrap())
    }

    /// Answer every request with `status` (`None`: serve normally).
    pub fn fail_with(&self, status: Option<u16>) {
        self.with(|state| state.failing = status);
    }

    /// Answer every request only after `delay` (`None`: at once).
    pub fn slow(&self, delay: Option<Duration>) {
        self.with(|state| state.delay = delay);
    }

    /// The `PATCH /apis/deployed-revisions` bodies received so far.
    pub fn patches(&self) -> Vec<Value> {
        self.with(|state| state.patches.clone())
    }

    /// How many requests for `resource` (`apis`, `runtime-artifacts`, ...) were answered.
    pub fn requests(&self, resource: &str) -> usize {
        self.with(|state| state.requests.iter().filter(|r| r.as_str() == resource).count())
    }

    /// Stops listening and drops every open connection (the port is closed).
    pub async fn down(&self) {
        let running = self.running.lock().unwrap().take();
        if let Some(running) = running {
            running.stop().await;
        }
    }

    /// Listens again on the same port.
    pub async fn up(&self) {
        self.serve(rebind(self.addr));
    }

    fn serve(&self, listener: TcpListener) {
        let (shutdown, closed) = watch::channel(false);
        let shared = self.shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (shared, mut closed) = (shared.clone(), closed.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        () = server::connection(stream, shared) => {}
                        _ = closed.wait_for(|closed| *closed) => {}
                    }
                });
            }
        });
        *self.running.lock().unwrap() = Some(Running { accept, shutdown });
    }
}

impl Drop for Apim {
    fn drop(&mut self) {
        if let Some(running) = self.running.lock().unwrap().take() {
            running.shutdown.send_replace(true);
            running.accept.abort();
        }
    }
}
