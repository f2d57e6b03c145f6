//! One connection to one broker: connect and bind every queue (bounded by the connect
//! timeout), then forward each delivery to the source until the connection or a channel
//! ends.

use futures_util::stream::{self, SelectAll, StreamExt};
use lapin::message::Delivery;
use lapin::runtime::default_runtime;
use lapin::tcp::OwnedTLSConfig;
use lapin::{Connection, ConnectionProperties, Consumer};
use tokio::sync::mpsc;

use super::super::hub_signal::{Acker, HubMessage, HubSignal};
use super::acker::DeliveryAck;
use super::error::HubError;
use super::settings::{BrokerUrl, HubSettings};
use super::topology::{self, TOPIC_QUEUES};
use crate::wso2::decode_event;

/// A connection whose consumers are all bound.
pub(super) struct Session {
    /// Kept so the connection lives as long as the session; dropping it closes it.
    _connection: Connection,
    consumers: Vec<(&'static str, Consumer)>,
}

/// How forwarding ended.
#[derive(Debug)]
pub(super) enum SessionEnd {
    /// The source is gone: the hub stops.
    SourceGone,
    Lost(HubError),
}

/// What the merged consumers yield: a delivery (or its error) from one topic's queue, or
/// the end of that queue's consumer. Boxed: a delivery is large beside its end marker.
enum Item {
    Delivery(&'static str, Box<lapin::Result<Delivery>>),
    Ended(&'static str),
}

// === impl Session ===

impl Session {
    /// Connects to `broker` and consumes every queue of [`TOPIC_QUEUES`], within the
    /// settings' connect timeout.
    pub(super) async fn open(broker: &BrokerUrl, settings: &HubSettings) -> Result<Session, HubError> {
        tokio::time::timeout(settings.connect_timeout, Self::connect_and_bind(broker, settings))
            .await
            .map_err(|_| HubError::Timeout(settings.connect_timeout))?
    }

    /// Forwards every delivery, decoded, with its acker. A full channel to the source holds
    /// the next delivery back (the broker keeps the rest); nothing is dropped.
    pub(super) async fn forward(self, signals: &mpsc::Sender<HubSignal>) -> SessionEnd {
        let mut deliveries = merge(self.consumers);
        loop {
            let error = match deliveries.next().await {
                Some(Item::Delivery(topic, delivery)) => match *delivery {
                    Ok(delivery) => {
                        if signals.send(HubSignal::Message(Box::new(message(topic, delivery)))).await.is_err() {
                            return SessionEnd::SourceGone;
                        }
                        continue;
                    }
                    Err(error) => HubError::Consumer { topic, error },
                },
                Some(Item::Ended(topic)) => HubError::ConsumerClosed { topic },
                None => HubError::ConsumerClosed { topic: "every topic" },
            };
            return SessionEnd::Lost(error);
        }
    }

    async fn connect_and_bind(broker: &BrokerUrl, settings: &HubSettings) -> Result<Session, HubError> {
        let runtime = default_runtime().map_err(HubError::Connect)?;
        let tls = OwnedTLSConfig { identity: None, cert_chain: settings.ca_pem.clone() };
        let properties = ConnectionProperties::default().with_connection_name("tollgate event hub".into());
        let connection = Connection::connect_uri_with_config(broker.uri.clone(), properties, tls, runtime)
            .await
            .map_err(HubError::Connect)?;
        let mut consumers = Vec::with_capacity(TOPIC_QUEUES.len());
        for queue in TOPIC_QUEUES {
            consumers.push((queue.topic, topology::consume(&connection, queue).await?));
        }
        Ok(Session { _connection: connection, consumers })
    }
}

/// One stream of every consumer's deliveries, each followed by an end marker so that a
/// consumer that stops is noticed (a merged stream would silently go on without it).
fn merge(consumers: Vec<(&'static str, Consumer)>) -> SelectAll<stream::BoxStream<'static, Item>> {
    stream::select_all(consumers.into_iter().map(|(topic, consumer)| {
        consumer
            .map(move |delivery| Item::Delivery(topic, Box::new(delivery)))
            .chain(stream::once(async move { Item::Ended(topic) }))
            .boxed()
    }))
}

/// The routing key is the topic a message was published to (`keyManager` and
/// `keymanager` both arrive on the key-manager queue).
fn message(queue: &'static str, delivery: Delivery) -> HubMessage {
    let topic = delivery.routing_key.as_str().to_owned();
    let decoded = decode_event(&topic, &delivery.data);
    tracing::debug!(queue, %topic, bytes = delivery.data.len(), redelivered = delivery.redelivered, "event received");
    let ack = Acker::new(DeliveryAck::new(delivery.acker, topic.clone()));
    HubMessage { topic, decoded, ack }
}
