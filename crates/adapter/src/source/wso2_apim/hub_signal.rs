//! What the event hub (the AMQP consumer) tells the `wso2-apim` source, in order, over one
//! channel. The hub connects, binds, decodes and reconnects; the source decides what each
//! message means, re-fetches, serves, and only then acks.

use std::future::Future;
use std::pin::Pin;

use crate::wso2::{Event, EventError};

/// One thing the event hub observed.
#[derive(Debug)]
pub enum HubSignal {
    /// Consumers are bound on every topic of `broker` (its URL without credentials). Sent
    /// after every connect and reconnect: the source then pulls everything again and diffs,
    /// because events published while disconnected are lost with the auto-delete queues
    /// (INTERFACE.md §4.2).
    Connected { broker: String },
    /// The connection or a channel was lost; the hub is reconnecting with backoff.
    Disconnected { reason: String },
    /// One message and what it decoded to.
    Message(Box<HubMessage>),
}

/// One delivery. The source acks it once the change it names is serving, or at once when
/// retrying could never succeed (an undecodable message). An unacked message is redelivered
/// only while its channel lives.
#[derive(Debug)]
pub struct HubMessage {
    /// The routing key it arrived with.
    pub topic: String,
    pub decoded: Result<Event, EventError>,
    pub ack: Acker,
}

/// Acknowledges one delivery on the channel it came from.
pub trait Ack: Send + 'static {
    /// Acks; a channel that is gone makes this a no-op (the broker redelivers nothing then).
    fn ack(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// An owned [`Ack`], so the source needs nothing of the AMQP crate.
pub struct Acker(Box<dyn Ack>);

impl Acker {
    pub fn new(ack: impl Ack) -> Self {
        Self(Box::new(ack))
    }

    pub async fn ack(self) {
        self.0.ack().await;
    }
}

impl std::fmt::Debug for Acker {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Acker")
    }
}
