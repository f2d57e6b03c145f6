//! The queues and bindings of INTERFACE.md §4.2, declared the way Choreo Connect declares
//! them, so that API-M's broker sees the consumer it expects.

use lapin::options::{
    BasicConsumeOptions, BasicQosOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, Consumer, ExchangeKind};

use super::error::HubError;

/// The exchange API-M publishes every event to.
pub const EXCHANGE: &str = "amq.topic";
/// Choreo Connect's literal consumer tag (tags are per channel, so each queue may use it).
pub const CONSUMER_TAG: &str = "jms-consumer-key";
/// Deliveries in flight per channel before the broker waits for acks. Choreo Connect sets
/// no limit; a bound keeps a burst of events in the broker's queue rather than in the
/// gateway's memory while the source is busy (a full pull, a snapshot build), and is wide
/// enough that a source acking a whole batch after one snapshot swap never stalls on it.
pub const PREFETCH: u16 = 256;

/// One queue the hub consumes and the routing keys bound to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicQueue {
    /// The topic in logs and errors.
    pub topic: &'static str,
    pub routing_keys: &'static [&'static str],
}

/// The topics the gateway consumes (contract/wso2.md). API-M publishes key-manager events as
/// `keyManager` while Choreo Connect binds `keymanager`: one queue bound with both receives
/// either spelling, and a message matching both bindings still once. `throttleData` is not
/// consumed: Tollgate enforces its own limits.
pub const TOPIC_QUEUES: [TopicQueue; 3] = [
    TopicQueue { topic: "notification", routing_keys: &["notification"] },
    TopicQueue { topic: "keymanager", routing_keys: &["keymanager", "keyManager"] },
    TopicQueue { topic: "tokenRevocation", routing_keys: &["tokenRevocation"] },
];

/// Opens a channel for `queue` and declares, binds and consumes it: a server-named,
/// non-durable, auto-delete, non-exclusive queue on [`EXCHANGE`], manual acks. The consumer
/// is receiving when this returns.
pub(super) async fn consume(connection: &Connection, queue: TopicQueue) -> Result<Consumer, HubError> {
    let failed = |step| move |error| HubError::Topology { topic: queue.topic, step, error };
    let channel = connection.create_channel().await.map_err(failed("channel.open"))?;
    channel.basic_qos(PREFETCH, BasicQosOptions::default()).await.map_err(failed("basic.qos"))?;
    let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
    channel
        .exchange_declare(EXCHANGE.into(), ExchangeKind::Topic, durable, FieldTable::default())
        .await
        .map_err(failed("exchange.declare"))?;
    let auto_delete = QueueDeclareOptions { auto_delete: true, ..QueueDeclareOptions::default() };
    let declared =
        channel.queue_declare("".into(), auto_delete, FieldTable::default()).await.map_err(failed("queue.declare"))?;
    for key in queue.routing_keys {
        channel
            .queue_bind(
                declared.name().clone(),
                EXCHANGE.into(),
                (*key).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(failed("queue.bind"))?;
    }
    let manual_acks = BasicConsumeOptions { no_ack: false, ..BasicConsumeOptions::default() };
    channel
        .basic_consume(declared.name().clone(), CONSUMER_TAG.into(), manual_acks, FieldTable::default())
        .await
        .map_err(failed("basic.consume"))
}
