//! Why a connection to the event hub ended or could not be made. Its text is the
//! `reason` of [`HubSignal::Disconnected`](super::super::HubSignal::Disconnected): it never
//! holds credentials (lapin's errors name no URL, and brokers are shown without userinfo).

use std::time::Duration;

/// One failure of one broker.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("cannot connect: {0}")]
    Connect(#[source] lapin::Error),
    #[error("no connection and bindings within {0:?}")]
    Timeout(Duration),
    /// Declaring or binding the queue of `topic` failed at `step` (an AMQP method).
    #[error("{topic}: {step} failed: {error}")]
    Topology {
        topic: &'static str,
        step: &'static str,
        #[source]
        error: lapin::Error,
    },
    /// The connection or the channel of `topic` failed while consuming.
    #[error("{topic}: {error}")]
    Consumer {
        topic: &'static str,
        #[source]
        error: lapin::Error,
    },
    /// The broker cancelled the consumer of `topic` or closed its channel.
    #[error("{topic}: the broker closed the consumer")]
    ConsumerClosed { topic: &'static str },
}
