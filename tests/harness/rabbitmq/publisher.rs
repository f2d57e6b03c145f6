//! A publisher holding one connection, for tests and benches that publish many events and
//! time them: API-M's own publisher keeps its JMS connection open too.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Confirmation, Connection};

use super::CALL_WITHIN;

/// Publishes to `amq.topic` of one vhost over one connection, each message confirmed.
pub struct Publisher {
    connection: Connection,
    channel: Channel,
    vhost: String,
}

// === impl Publisher ===

impl Publisher {
    pub(super) async fn open(connection: Connection, vhost: &str) -> lapin::Result<Publisher> {
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        Ok(Publisher { connection, channel, vhost: vhost.to_owned() })
    }

    /// Publishes `body` with routing key `topic` as API-M does (INTERFACE.md §4.3: the
    /// UTF-8 JSON text of a JMS TextMessage, no headers a consumer needs), `mandatory`, and
    /// waits for the broker's confirm. Returns whether a queue was bound to take it.
    pub async fn publish(&self, topic: &str, body: &[u8]) -> bool {
        let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
        let properties = BasicProperties::default().with_content_type(ShortString::from("text/plain"));
        let publish = async {
            self.channel.basic_publish("amq.topic".into(), topic.into(), options, body, properties).await?.await
        };
        match tokio::time::timeout(CALL_WITHIN, publish).await {
            Ok(Ok(Confirmation::Ack(returned))) => returned.is_none(),
            other => panic!("publishing to {topic} on vhost {} failed: {other:?}", self.vhost),
        }
    }

    pub async fn close(self) {
        let _ = self.connection.close(200, "done".into()).await;
    }
}
