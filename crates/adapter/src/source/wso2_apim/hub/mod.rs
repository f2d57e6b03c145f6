//! The event hub: API-M's AMQP 0-9-1 broker (INTERFACE.md §4), consumed with lapin.
//!
//! [`spawn_event_hub`] connects to the first reachable of `broker_urls` (failover in the
//! configured order), declares the topology of INTERFACE.md §4.2 ([`TOPIC_QUEUES`] on
//! [`EXCHANGE`]), and only then sends [`HubSignal::Connected`], so a pull the source starts
//! on that signal can miss nothing. Each delivery becomes a [`HubSignal::Message`] with its
//! decoded event and an acker for its channel; the channel to the source is bounded, and a
//! full one holds deliveries back (with [`PREFETCH`], the broker queues the rest) rather
//! than dropping any. A lost connection or channel sends [`HubSignal::Disconnected`], and
//! the hub reconnects with the control-plane backoff.
//!
//! The queues are auto-delete, as Choreo Connect declares them: when the connection goes,
//! RabbitMQ deletes them with every message they held, acked or not, and nothing is
//! redelivered on the next connection. The source's full pull after each `Connected` is
//! what loses nothing. Every message must be acked (or the connection lost): an unacked
//! one holds a prefetch slot of its channel.
//!
//! The hub counts nothing: the source owns `tollgate_source_events_total` and `/config`'s
//! broker state, both from these signals.

mod acker;
mod error;
mod reconnect;
mod session;
mod settings;
mod topology;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::hub_signal::HubSignal;

pub use self::error::HubError;
pub use self::settings::{BrokerUrl, CONNECT_TIMEOUT, HubSettings, HubSettingsError, without_userinfo};
pub use self::topology::{CONSUMER_TAG, EXCHANGE, PREFETCH, TOPIC_QUEUES, TopicQueue};

/// The running hub; dropping it (or [`HubTask::shutdown`]) stops it and closes its
/// connection.
#[derive(Debug)]
pub struct HubTask {
    handle: Option<JoinHandle<()>>,
}

/// Starts the hub on the current Tokio runtime. It runs until stopped or until `signals`'
/// receiver is dropped.
pub fn spawn_event_hub(settings: HubSettings, signals: mpsc::Sender<HubSignal>) -> HubTask {
    HubTask { handle: Some(tokio::spawn(reconnect::run(settings, signals))) }
}

// === impl HubTask ===

impl HubTask {
    /// Stops the hub and waits until its connection is dropped.
    pub async fn shutdown(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
            let _ = handle.await;
        }
    }

    /// Whether the hub has stopped (its source is gone, or it was stopped).
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// The task handle, for a caller that stops it itself (it is no longer aborted when
    /// this is dropped).
    pub fn into_handle(mut self) -> Option<JoinHandle<()>> {
        self.handle.take()
    }
}

impl Drop for HubTask {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            handle.abort();
        }
    }
}
