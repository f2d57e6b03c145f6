//! The source loop (contract/wso2.md): subscribe first, then a full pull; events re-fetch
//! the entity they name and are acked once it serves; a full re-pull after every reconnect,
//! every `resync_seconds` and whenever an event cannot settle itself; failures back off
//! while the gateway serves what it has.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::client::{ApimClient, ApimError};
use super::events::{Index, Resolution, Resolver, entity_key};
use super::hub_signal::{Acker, HubMessage, HubSignal};
use super::map::Scope;
use super::pull::{self, Group, GroupData};
use super::revisions::RevisionAcks;
use super::status::{PullOutcome, Wso2Status};
use crate::dto::{Document, EventKind};
use crate::engine::{Action, EngineHandle, Outcome, Revision, Update};
use crate::rejected::EntityKind;
use crate::source::control_plane::Backoff;
use crate::wso2::{self, Event, TenantFilter};

/// Owns the sync state of one `wso2-apim` source.
#[derive(Debug)]
pub(crate) struct SyncLoop {
    pub(crate) client: ApimClient,
    pub(crate) engine: EngineHandle,
    pub(crate) scope: Scope,
    pub(crate) status: Wso2Status,
    pub(crate) tenant: TenantFilter,
    pub(crate) resync_every: Duration,
    pub(crate) hub_wait: Duration,
    pub(crate) backoff: Backoff,
    pub(crate) state: SyncState,
}

/// What the loop remembers between pulls and events.
#[derive(Debug, Default)]
pub(crate) struct SyncState {
    /// The last good answer of each group: a group that fails keeps it.
    held: HashMap<Group, GroupData>,
    index: Index,
    /// When the last full pull that fetched each group started (ms).
    pulled_at: HashMap<Group, u64>,
    /// When an event last re-fetched each entity (ms), since the last full pull.
    fetched_at: HashMap<(Group, String), u64>,
    /// Messages acked once the next full pull serves.
    waiting: Vec<Acker>,
    revisions: RevisionAcks,
    /// Whether the last full pull served; a resync asked for after a failure waits for
    /// the backoff instead of hurrying.
    healthy: bool,
    /// A full pull is asked for.
    resync: bool,
    /// The hub has connected once: every later `Connected` is a reconnect.
    hub_seen: bool,
}

/// Why a full pull did not serve everything.
#[derive(Debug)]
struct PullFailed;

// === impl SyncLoop ===

impl SyncLoop {
    /// Runs until aborted.
    pub(crate) async fn run(mut self, mut signals: mpsc::Receiver<HubSignal>) {
        let (mut pending, mut open) = self.wait_for_hub(&mut signals).await;
        let mut next_pull = Instant::now();
        let mut pulled_once = false;
        loop {
            if Instant::now() >= next_pull || (self.state.resync && self.state.healthy) {
                self.state.resync = false;
                next_pull = match self.full_pull().await {
                    Ok(()) => {
                        self.backoff.reset();
                        pulled_once = true;
                        Instant::now() + self.resync_every
                    }
                    Err(PullFailed) => Instant::now() + self.backoff.next_delay(),
                };
                if pulled_once {
                    for message in std::mem::take(&mut pending) {
                        self.on_message(message).await;
                    }
                }
            }
            tokio::select! {
                signal = signals.recv(), if open => match signal {
                    None => {
                        open = false;
                        tracing::warn!("the event hub stopped; following API-M by full pulls only");
                    }
                    Some(HubSignal::Message(message)) if pulled_once => self.on_message(*message).await,
                    Some(HubSignal::Message(message)) => pending.push(*message),
                    Some(signal) => self.on_hub(signal),
                },
                () = sleep_until(next_pull) => {}
            }
        }
    }

    /// Subscribe before pulling: waits for the hub's first `Connected` (at most
    /// `hub_wait`), keeping the messages that arrive meanwhile for after the pull.
    async fn wait_for_hub(&mut self, signals: &mut mpsc::Receiver<HubSignal>) -> (Vec<HubMessage>, bool) {
        let deadline = Instant::now() + self.hub_wait;
        let mut pending = Vec::new();
        loop {
            tokio::select! {
                signal = signals.recv() => match signal {
                    None => return (pending, false),
                    Some(HubSignal::Message(message)) => pending.push(*message),
                    Some(signal @ HubSignal::Connected { .. }) => {
                        self.on_hub(signal);
                        return (pending, true);
                    }
                    Some(signal) => self.on_hub(signal),
                },
                () = sleep_until(deadline) => {
                    tracing::warn!(waited = ?self.hub_wait, "the event hub is not connected; pulling from API-M anyway");
                    return (pending, true);
                }
            }
        }
    }

    /// A connect after the first is a reconnect: events were lost meanwhile, so pull again.
    fn on_hub(&mut self, signal: HubSignal) {
        match signal {
            HubSignal::Connected { broker } => {
                tracing::info!(%broker, "event hub connected");
                self.status.connected(&broker);
                if std::mem::replace(&mut self.state.hub_seen, true) {
                    self.state.resync = true;
                    self.state.healthy = true;
                }
            }
            HubSignal::Disconnected { reason } => {
                tracing::warn!(%reason, "event hub disconnected");
                self.status.disconnected(&reason);
            }
            HubSignal::Message(_) => {}
        }
    }

    // --- full pull ---

    async fn full_pull(&mut self) -> Result<(), PullFailed> {
        let started = now_ms();
        let fetched = pull::fetch(&self.client, &self.scope.labels).await;
        let scope = self.scope.clone();
        let groups = match self.engine.run(move || pull::map_all(fetched, &scope)).await {
            Ok(groups) => groups,
            Err(failed) => return Err(self.pull_failed(&[ApimError::Engine(failed.to_string())])),
        };
        let mut failures = Vec::new();
        let (mut incomplete, mut fetched_any) = (false, false);
        for (group, result) in groups {
            match result {
                Ok(data) => {
                    fetched_any = true;
                    self.state.pulled_at.insert(group, started);
                    self.state.held.insert(group, data);
                }
                Err(error) => {
                    incomplete |= !self.state.held.contains_key(&group);
                    failures.push(error);
                }
            }
        }
        // A group never fetched cannot be served as empty; nothing fetched is no pull.
        if incomplete || !fetched_any {
            return Err(self.pull_failed(&failures));
        }
        self.engine.set_connected(true);
        self.reindex();
        let update =
            Update::Replace { revision: Revision::Next, document: Box::new(self.document()), in_force: Vec::new() };
        let outcome = self.engine.apply(update).await;
        if let Outcome::Failed(error) = &outcome {
            return Err(self.pull_failed(&[ApimError::Engine(error.clone())]));
        }
        self.state.fetched_at.clear();
        self.pull_served(&outcome, failures).await
    }

    async fn pull_served(&mut self, outcome: &Outcome, failures: Vec<ApimError>) -> Result<(), PullFailed> {
        self.state.healthy = true;
        for ack in std::mem::take(&mut self.state.waiting) {
            ack.ack().await;
        }
        let revisions = self.state.held.get(&Group::Apis).map(|apis| apis.revisions.clone()).unwrap_or_default();
        self.state.revisions.acknowledge(&self.client, &self.engine, revisions).await;
        let served = match outcome {
            Outcome::Unchanged { .. } => PullOutcome::Unchanged,
            Outcome::Serving { .. } | Outcome::Failed(_) => PullOutcome::Served,
        };
        if failures.is_empty() {
            self.engine.confirm_synced();
            self.status.pulled(now_seconds(), served, None);
            tracing::info!(revision = outcome.revision(), "full pull from API-M served");
            return Ok(());
        }
        self.record(&failures);
        self.status.pulled(now_seconds(), PullOutcome::Partial, Some(&join(&failures)));
        Err(PullFailed)
    }

    fn pull_failed(&mut self, failures: &[ApimError]) -> PullFailed {
        self.state.healthy = false;
        self.record(failures);
        self.status.pulled(now_seconds(), PullOutcome::Failed, Some(&join(failures)));
        PullFailed
    }

    fn record(&self, failures: &[ApimError]) {
        let unreachable = failures.iter().any(|f| matches!(f, ApimError::Network { .. } | ApimError::Status { .. }));
        if unreachable {
            self.engine.set_connected(false);
        }
        for failure in failures {
            self.engine.record_failure(failure.reason(), failure);
        }
    }

    fn reindex(&mut self) {
        let mut index = Index::default();
        for (group, data) in &self.state.held {
            data.index_into(*group, &mut index);
        }
        self.state.index = index;
    }

    /// Every group held, as one whole set (with the refusals as its rejections).
    fn document(&self) -> Document {
        let mut document = Document::default();
        for (group, data) in &self.state.held {
            let entities = data.mapped.entities.iter().cloned();
            match group {
                Group::Apis => document.apis.extend(entities),
                Group::Applications => document.applications.extend(entities),
                Group::KeyMappings => document.key_mappings.extend(entities),
                Group::Subscriptions => document.subscriptions.extend(entities),
                Group::Policies => document.policies.extend(entities),
                Group::KeyManagers => document.key_managers.extend(entities),
                Group::RevokedTokens => document.revoked_tokens.extend(entities),
            }
            document.errors.extend(data.mapped.rejected.iter().cloned());
        }
        document
    }

    // --- events ---

    async fn on_message(&mut self, message: HubMessage) {
        self.status.event_arrived(now_seconds());
        let HubMessage { topic, decoded, ack } = message;
        let event = match decoded {
            Ok(event) => event,
            Err(error) => {
                // It can never succeed, and requeueing would loop: ack, and pull instead.
                tracing::warn!(%topic, %error, "undecodable event acked; a full pull follows");
                self.engine.record_skipped(&EventKind::Unknown(String::new()));
                self.state.resync = true;
                return ack.ack().await;
            }
        };
        if let Some(why) = self.dropped(&event) {
            tracing::debug!(event_type = %event.event_type, why, "event skipped");
            self.engine.record_skipped(&event_kind(&event.change));
            return ack.ack().await;
        }
        self.apply_event(event, ack).await;
    }

    /// Why an event needs nothing: another tenant's, or older than the last pull of its
    /// entity (that pull already holds it).
    fn dropped(&self, event: &Event) -> Option<&'static str> {
        if !self.tenant.admits(event) {
            return Some("another tenant's event");
        }
        let (time, (group, key)) = (event.timestamp_ms?, entity_key(&event.change)?);
        let pulled = self.state.pulled_at.get(&group).copied().unwrap_or(0);
        let fetched = self.state.fetched_at.get(&(group, key)).copied().unwrap_or(0);
        (time < pulled.max(fetched)).then_some("older than the last pull of its entity")
    }

    async fn apply_event(&mut self, event: Event, ack: Acker) {
        let started = now_ms();
        let resolver = Resolver { client: &self.client, scope: &self.scope, index: &self.state.index };
        let resolution = match resolver.resolve(&event.change).await {
            Ok(resolution) => resolution,
            Err(error) => {
                self.engine.record_failure(error.reason(), &error);
                Resolution::Resync(error.to_string())
            }
        };
        match resolution {
            Resolution::Skip(why) => {
                tracing::debug!(event_type = %event.event_type, why, "event skipped");
                self.engine.record_skipped(&event_kind(&event.change));
                ack.ack().await;
            }
            Resolution::Resync(why) => self.resync_for(&event, &why, ack),
            Resolution::Apply { changes, revision } => {
                if let Some(key) = entity_key(&event.change) {
                    self.state.fetched_at.insert(key, started);
                }
                match self.engine.apply(Update::Changes { revision: Revision::Next, changes }).await {
                    Outcome::Failed(error) => self.resync_for(&event, &error, ack),
                    Outcome::Serving { .. } | Outcome::Unchanged { .. } => {
                        ack.ack().await;
                        let revisions = revision.into_iter().collect();
                        self.state.revisions.acknowledge(&self.client, &self.engine, revisions).await;
                    }
                }
            }
        }
    }

    fn resync_for(&mut self, event: &Event, why: &str, ack: Acker) {
        tracing::info!(event_type = %event.event_type, why, "event settled by a full pull");
        self.state.waiting.push(ack);
        self.state.resync = true;
    }
}

/// The `type` label an event is counted under (control-plane.md's names for the same
/// changes; `unknown` for an event with none).
fn event_kind(change: &wso2::Change) -> EventKind {
    let upsert_or_delete = |kind, action| {
        EventKind::of(kind, if action == wso2::Action::Delete { Action::Delete } else { Action::Upsert })
    };
    match change {
        wso2::Change::ApiDeployed { .. } | wso2::Change::ApiLifecycle { .. } => EventKind::ApiDeployed,
        wso2::Change::ApiUndeployed { .. } => EventKind::ApiUndeployed,
        wso2::Change::Api { action, .. } => upsert_or_delete(EntityKind::Api, *action),
        wso2::Change::Application { action, .. } => upsert_or_delete(EntityKind::Application, *action),
        wso2::Change::KeyMapping { action, .. } => upsert_or_delete(EntityKind::KeyMapping, *action),
        wso2::Change::Subscription { action, .. } => upsert_or_delete(EntityKind::Subscription, *action),
        wso2::Change::Policy { action, .. } => upsert_or_delete(EntityKind::Policy, *action),
        wso2::Change::KeyManager { action, .. } => upsert_or_delete(EntityKind::KeyManager, *action),
        wso2::Change::TokenRevoked { .. } => EventKind::TokenRevoked,
        wso2::Change::Ignored => EventKind::Unknown(String::new()),
    }
}

fn join(failures: &[ApimError]) -> String {
    failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

fn now_seconds() -> u64 {
    now_ms() / 1000
}
