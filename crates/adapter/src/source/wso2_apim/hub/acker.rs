//! [`Ack`] for one lapin delivery.

use std::future::Future;
use std::pin::Pin;

use lapin::options::BasicAckOptions;

use super::super::hub_signal::Ack;

/// Acks one delivery on the channel it arrived on. lapin makes an ack on a closed channel
/// (or a second ack) return `Ok(false)`, and one caught by the channel closing an error;
/// both are logged and otherwise ignored: the broker redelivers nothing on a channel that
/// is gone, and its auto-delete queue is gone with it.
#[derive(Debug)]
pub(super) struct DeliveryAck {
    acker: lapin::Acker,
    topic: String,
}

// === impl DeliveryAck ===

impl DeliveryAck {
    pub(super) fn new(acker: lapin::Acker, topic: String) -> Self {
        DeliveryAck { acker, topic }
    }
}

impl Ack for DeliveryAck {
    fn ack(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            match self.acker.ack(BasicAckOptions::default()).await {
                Ok(true) => tracing::trace!(topic = %self.topic, "event acked"),
                Ok(false) => tracing::debug!(topic = %self.topic, "event not acked: its channel is gone"),
                Err(error) => tracing::debug!(topic = %self.topic, %error, "event not acked"),
            }
        })
    }
}
