//! The `wso2-apim` source's event hub against a real RabbitMQ (INTERFACE.md §4, §9), in
//! process. Most tests share one broker, each on its own vhost.
//!
//! Files: `messages.rs` (the topology API-M publishes into, decoding, the order of signals),
//! `delivery.rs` (backpressure, acks, stopping with the source), `brokers.rs` (restarts,
//! failover, silent and unreachable brokers, AMQPS, credentials kept out of logs).

mod brokers;
mod delivery;
mod messages;

use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use tollgate_adapter::source::wso2_apim::hub::{HubSettings, HubTask, spawn_event_hub};
use tollgate_adapter::source::wso2_apim::{HubMessage, HubSignal};
use tollgate_adapter::wso2::{Change, Event};
use tollgate_tests::rabbitmq::RabbitMq;

/// How long a signal may take (generous: the broker shares a loaded machine).
const SOON: Duration = Duration::from_secs(30);

/// A hub on `urls` with a short backoff, and the receiving end of its signals.
struct Hub {
    signals: mpsc::Receiver<HubSignal>,
    task: HubTask,
}

impl Hub {
    fn start(urls: &[String]) -> Hub {
        Hub::spawn(settings(urls), 16)
    }

    /// `capacity`: of the channel to the source.
    fn spawn(settings: HubSettings, capacity: usize) -> Hub {
        let (tx, signals) = mpsc::channel(capacity);
        Hub { signals, task: spawn_event_hub(settings, tx) }
    }

    async fn next(&mut self) -> HubSignal {
        match tokio::time::timeout(SOON, self.signals.recv()).await {
            Ok(Some(signal)) => signal,
            Ok(None) => panic!("the hub stopped"),
            Err(_) => panic!("no signal from the hub within {SOON:?}"),
        }
    }

    async fn connected(&mut self) -> String {
        match self.next().await {
            HubSignal::Connected { broker } => broker,
            other @ (HubSignal::Disconnected { .. } | HubSignal::Message(_)) => {
                panic!("expected Connected, got {other:?}")
            }
        }
    }

    async fn disconnected(&mut self) -> String {
        match self.next().await {
            HubSignal::Disconnected { reason } => reason,
            other @ (HubSignal::Connected { .. } | HubSignal::Message(_)) => {
                panic!("expected Disconnected, got {other:?}")
            }
        }
    }

    async fn message(&mut self) -> HubMessage {
        match self.next().await {
            HubSignal::Message(message) => *message,
            other @ (HubSignal::Connected { .. } | HubSignal::Disconnected { .. }) => {
                panic!("expected a message, got {other:?}")
            }
        }
    }
}

/// Settings for `urls` with a short backoff.
fn settings(urls: &[String]) -> HubSettings {
    HubSettings::new(urls)
        .unwrap()
        .with_backoff(Duration::from_millis(20), Duration::from_millis(200))
        .with_connect_timeout(Duration::from_secs(20))
}

/// The shared broker, a vhost of this test's own, and a hub connected to it.
async fn connected_hub() -> (&'static RabbitMq, String, Hub) {
    let rabbit = RabbitMq::shared().await;
    let vhost = rabbit.vhost();
    let mut hub = Hub::start(&[rabbit.url(&vhost)]);
    assert_eq!(hub.connected().await, rabbit.shown_url(&vhost));
    (rabbit, vhost, hub)
}

fn revocation(jti: &str) -> Vec<u8> {
    json!({"event": {"payloadData": {"eventId": "e", "revokedToken": jti, "ttl": "3600",
        "expiryTime": 1, "type": "Default", "tenantId": -1234}}})
    .to_string()
    .into_bytes()
}

fn revoked_token(message: &HubMessage) -> String {
    match &message.decoded {
        Ok(Event { change: Change::TokenRevoked { token, .. }, .. }) => token.clone(),
        other => panic!("expected a revocation, got {other:?}"),
    }
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    // Bound but never listening: a connection is refused, and no other test's server can take
    // the port (a dropped listener's port could be reused by one while this test runs). The
    // socket is kept open for the rest of the test binary.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    std::mem::forget(socket);
    port
}
