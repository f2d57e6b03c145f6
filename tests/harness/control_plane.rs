//! A fake control plane implementing control-plane.md over real sockets: `GET /snapshot` with
//! `ETag`/`If-None-Match` (304), long-polled `GET /events` with `after`/`waitSeconds` (410 once
//! compacted), `POST /status` recorded, bearer-token check, optional TLS with client
//! certificates. Faults on demand: answer every request with a status, drop polls mid-poll,
//! skip a revision, compact the log, go down and come back on the same port.

mod server;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use self::server::{connection, tls_acceptor};
use self::state::State;
pub use self::state::{ARRAYS, PAGE_SIZE};
use crate::IssuedCert;

/// The path under which the protocol is served.
pub const BASE_PATH: &str = "/api/gateway/v1";

/// A running fake control plane on 127.0.0.1; stops when dropped.
pub struct ControlPlane {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    running: Mutex<Option<Running>>,
}

/// Options before start.
#[derive(Default)]
pub struct ControlPlaneBuilder {
    environment: Option<String>,
    token: Option<String>,
    tls: Option<(IssuedCert, Option<String>)>,
}

struct Shared {
    state: Mutex<State>,
    /// Bumped on every change, to wake long polls.
    changes: watch::Sender<u64>,
}

/// A fake server's accept loop and the signal that drops its open connections; the fake
/// API-M stops and restarts the same way.
pub(crate) struct Running {
    pub(crate) accept: JoinHandle<()>,
    pub(crate) shutdown: watch::Sender<bool>,
}

impl Running {
    /// Stops accepting and drops every open connection (the port is closed).
    pub(crate) async fn stop(self) {
        self.shutdown.send_replace(true);
        self.accept.abort();
        let _ = self.accept.await;
    }
}

/// A listener on `addr` again, after a fake server went down.
pub(crate) fn rebind(addr: SocketAddr) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(addr).unwrap();
    socket.listen(1024).unwrap()
}

impl ControlPlaneBuilder {
    /// The environment served (default `default`).
    pub fn environment(mut self, environment: &str) -> Self {
        self.environment = Some(environment.to_owned());
        self
    }

    /// Require `Authorization: Bearer <token>` (401 otherwise).
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Serve HTTPS with `cert`; with `client_ca_pem`, require a client certificate it issued.
    pub fn tls(mut self, cert: IssuedCert, client_ca_pem: Option<&str>) -> Self {
        self.tls = Some((cert, client_ca_pem.map(str::to_owned)));
        self
    }

    pub async fn start(self) -> ControlPlane {
        crate::install_crypto();
        let state = State::new(self.environment.as_deref().unwrap_or("default"), self.token);
        let shared = Arc::new(Shared { state: Mutex::new(state), changes: watch::channel(0).0 });
        let tls = self.tls.map(|(cert, client_ca)| tls_acceptor(&cert, client_ca.as_deref()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let plane = ControlPlane { addr, shared, tls, running: Mutex::new(None) };
        plane.serve(listener);
        plane
    }
}

impl ControlPlane {
    /// Environment `default`, no token, plain HTTP.
    pub async fn start() -> ControlPlane {
        Self::builder().start().await
    }

    pub fn builder() -> ControlPlaneBuilder {
        ControlPlaneBuilder::default()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL for `source.url`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{BASE_PATH}", self.addr)
    }

    /// A `[source]` section for this control plane (with its token), plus `extra` lines.
    pub fn source_config(&self, extra: &str) -> String {
        let state = self.state();
        let mut toml = format!(
            "[source]\nkind = \"control-plane\"\nurl = \"{}\"\nenvironment = \"{}\"\n",
            self.url(),
            state.environment
        );
        if let Some(token) = &state.token {
            toml.push_str(&format!("token = \"{token}\"\n"));
        }
        toml.push_str(extra);
        toml
    }

    /// The newest revision.
    pub fn revision(&self) -> u64 {
        self.state().revision
    }

    /// Appends an event (any type, also unknown ones) and applies it; returns its revision.
    pub fn publish(&self, kind: &str, payload: Value) -> u64 {
        self.change(|state| state.publish(kind, payload))
    }

    /// `API_DEPLOYED`.
    pub fn deploy(&self, api: Value) -> u64 {
        self.publish("API_DEPLOYED", api)
    }

    /// `API_UNDEPLOYED`.
    pub fn undeploy(&self, id: &str) -> u64 {
        self.publish("API_UNDEPLOYED", json!({"id": id}))
    }

    /// Replaces the whole state with `document`'s arrays at the next revision, without
    /// events (the log restarts there).
    pub fn seed(&self, document: &Value) {
        self.change(|state| state.seed(document));
    }

    /// Uses up a revision without an event: the next event's page shows a gap.
    pub fn skip_revision(&self) {
        self.change(|state| state.revision += 1);
    }

    /// Forgets the event log: polls from an older revision are answered 410.
    pub fn compact(&self) {
        self.change(State::compact);
    }

    /// Answer every request with `status` (`None`: serve normally).
    pub fn fail_with(&self, status: Option<u16>) {
        self.state().failing = status;
    }

    /// Close the connection of the next `n` event polls after a short wait, without answering.
    pub fn drop_next_polls(&self, n: usize) {
        self.state().drop_polls = n;
    }

    /// Answer snapshot requests with a body that is not JSON (`true`) or serve them again.
    pub fn corrupt_snapshot(&self, corrupt: bool) {
        self.state().corrupt_snapshot = corrupt;
    }

    /// Leave status reports unanswered (`true`) or answer them again.
    pub fn stall_status(&self, stall: bool) {
        self.state().stall_status = stall;
    }

    /// The token now required (`None`: none).
    pub fn set_token(&self, token: Option<&str>) {
        self.state().token = token.map(str::to_owned);
    }

    /// The current snapshot document.
    pub fn snapshot(&self) -> Value {
        self.state().snapshot()
    }

    /// `POST /status` bodies received so far.
    pub fn statuses(&self) -> Vec<Value> {
        self.state().statuses.clone()
    }

    /// Waits for a status report matching `accept`, at most `within`.
    pub async fn status_matching(&self, within: Duration, accept: impl Fn(&Value) -> bool) -> Option<Value> {
        let found = crate::eventually(within, async || self.statuses().iter().any(&accept)).await;
        found.then(|| self.statuses().into_iter().rev().find(|status| accept(status))).flatten()
    }

    /// `GET /snapshot` requests answered (200 or 304), and of those 304.
    pub fn snapshot_requests(&self) -> (usize, usize) {
        let state = self.state();
        (state.snapshot_requests, state.not_modified)
    }

    /// `GET /events` requests received.
    pub fn polls(&self) -> usize {
        self.state().polls
    }

    /// Requests refused for a missing or wrong token.
    pub fn unauthorized(&self) -> usize {
        self.state().unauthorized
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

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap()
    }

    fn change<R>(&self, change: impl FnOnce(&mut State) -> R) -> R {
        let result = change(&mut self.state());
        self.shared.changes.send_modify(|n| *n += 1);
        result
    }

    fn serve(&self, listener: TcpListener) {
        let (shutdown, closed) = watch::channel(false);
        let (shared, tls) = (self.shared.clone(), self.tls.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (shared, tls, mut closed) = (shared.clone(), tls.clone(), closed.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        () = connection(stream, shared, tls) => {}
                        _ = closed.wait_for(|closed| *closed) => {}
                    }
                });
            }
        });
        *self.running.lock().unwrap() = Some(Running { accept, shutdown });
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if let Some(running) = self.running.lock().unwrap().take() {
            running.shutdown.send_replace(true);
            running.accept.abort();
        }
    }
}
