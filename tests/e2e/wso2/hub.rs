//! The `wso2-apim` source's event hub against a real RabbitMQ (INTERFACE.md §4, §9): the
//! topology API-M publishes into, decoding, acks, the order of signals, broker restarts,
//! failover and unreachable brokers. Most tests share one broker, each on its own vhost.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use tollgate_adapter::source::wso2_apim::hub::{HubSettings, HubTask, spawn_event_hub};
use tollgate_adapter::source::wso2_apim::{HubMessage, HubSignal};
use tollgate_adapter::wso2::{Action, Change, Event, EventError, decode_event};
use tollgate_tests::rabbitmq::{PASSWORD, RabbitMq};
use tollgate_tests::{eventually, install_crypto};

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

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/wso2/events")
}

/// A `keymanager` message as INTERFACE.md §4.3 describes it.
fn key_manager_event(name: &str) -> Vec<u8> {
    json!({"event": {"payloadData": {"event_type": "key_manager_configuration", "action": "update",
        "name": name, "type": "default", "enabled": true, "value": "e30=", "tenantDomain": "carbon.super"}}})
    .to_string()
    .into_bytes()
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

#[tokio::test]
async fn every_fixture_event_arrives_decoded_from_its_topic() {
    let (rabbit, vhost, mut hub) = connected_hub().await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures()).unwrap().map(|entry| entry.unwrap().path()).collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let topic = ["notification", "tokenRevocation", "keymanager", "keyManager"]
            .into_iter()
            .find(|topic| name.contains(&format!("-{topic}")))
            .unwrap_or_else(|| panic!("{name}: which topic does this fixture travel on?"));
        let body = std::fs::read(&file).unwrap();
        assert!(rabbit.publish(&vhost, topic, &body).await, "{name}: {topic} is bound");
        let message = hub.message().await;
        assert_eq!(message.topic, topic, "{name}");
        assert_eq!(message.decoded, decode_event(topic, &body), "{name}");
        let event = message.decoded.as_ref().unwrap_or_else(|e| panic!("{name}: {e}"));
        match (&event.change, name.as_str()) {
            (Change::Api { api, action: Action::Upsert, .. }, "cc-test-notification-API_CREATE.json") => {
                assert_eq!(api.uuid.as_deref(), Some("7808af84-6b9a-4c86-953a-4f40f157671f"));
                assert_eq!(event.timestamp_ms, Some(1_628_490_908_147));
            }
            (Change::TokenRevoked { token, expiry_ms }, "cc-test-tokenRevocation.json") => {
                assert_eq!(token, "fc8ee897-b3d9-3bb6-a9ca-f4aeb036e5c0");
                assert_eq!(*expiry_ms, Some(1_628_175_421_481));
            }
            (change, _) => panic!("{name}: unexpected {change:?}"),
        }
        message.ack.ack().await;
    }
}

#[tokio::test]
async fn both_spellings_of_the_key_manager_topic_reach_one_queue_once_each() {
    let (rabbit, vhost, mut hub) = connected_hub().await;
    for (topic, name) in [("keyManager", "camel"), ("keymanager", "lower")] {
        assert!(rabbit.publish(&vhost, topic, &key_manager_event(name)).await, "{topic} is bound");
    }
    // One queue keeps publishing order: after both events comes the marker, and nothing else.
    assert!(rabbit.publish(&vhost, "keymanager", &key_manager_event("marker")).await);
    for (topic, name) in [("keyManager", "camel"), ("keymanager", "lower"), ("keymanager", "marker")] {
        let message = hub.message().await;
        assert_eq!(message.topic, topic);
        let change = message.decoded.as_ref().map(|event| event.change.clone());
        assert_eq!(change, Ok(Change::KeyManager { name: name.into(), action: Action::Upsert }));
        message.ack.ack().await;
    }
}

#[tokio::test]
async fn unexpected_topics_are_not_bound_and_bad_bodies_arrive_as_errors() {
    let (rabbit, vhost, mut hub) = connected_hub().await;
    for topic in ["throttleData", "asyncWebhooksData", "Notification", "notification.extra", "KEYMANAGER"] {
        assert!(!rabbit.publish(&vhost, topic, b"{}").await, "{topic} must not be bound");
    }
    assert!(rabbit.publish(&vhost, "notification", b"\xff not json").await);
    let garbage = hub.message().await;
    assert!(matches!(garbage.decoded, Err(EventError::Json(_))), "{:?}", garbage.decoded);
    garbage.ack.ack().await;
    let bad_base64 = json!({"event": {"payloadData": {"eventType": "API_CREATE", "timestamp": 1, "event": "%%%"}}});
    assert!(rabbit.publish(&vhost, "notification", bad_base64.to_string().as_bytes()).await);
    let message = hub.message().await;
    assert_eq!(message.decoded, Err(EventError::Base64));
    message.ack.ack().await;
}

#[tokio::test]
async fn connected_means_every_topic_is_already_bound() {
    let rabbit = RabbitMq::shared().await;
    let vhost = rabbit.vhost();
    for topic in ["notification", "keymanager", "keyManager", "tokenRevocation"] {
        assert!(!rabbit.publish(&vhost, topic, b"{}").await, "nothing is bound before the hub");
    }
    let mut hub = Hub::start(&[rabbit.url(&vhost)]);
    hub.connected().await;
    // Published right after Connected, before anything else: each is routed and arrives.
    for topic in ["notification", "keymanager", "keyManager", "tokenRevocation"] {
        assert!(rabbit.publish(&vhost, topic, b"{}").await, "{topic} is bound once Connected is sent");
    }
    let mut topics: Vec<String> = Vec::new();
    for _ in 0..4 {
        let message = hub.message().await;
        topics.push(message.topic.clone());
        message.ack.ack().await;
    }
    topics.sort();
    assert_eq!(topics, ["keyManager", "keymanager", "notification", "tokenRevocation"]);
}

#[tokio::test]
async fn a_slow_source_holds_deliveries_back_and_loses_none() {
    let rabbit = RabbitMq::shared().await;
    let vhost = rabbit.vhost();
    let mut hub = Hub::spawn(settings(&[rabbit.url(&vhost)]), 1);
    hub.connected().await;
    // The source reads nothing while 30 events arrive through a channel of one.
    let tokens: Vec<String> = (0..30).map(|n| format!("jti-{n}")).collect();
    for token in &tokens {
        assert!(rabbit.publish(&vhost, "tokenRevocation", &revocation(token)).await);
    }
    for token in &tokens {
        let message = hub.message().await;
        assert_eq!(&revoked_token(&message), token, "every event, in order");
        message.ack.ack().await;
    }
}

#[tokio::test]
async fn the_hub_stops_with_its_source_and_closes_its_connection() {
    let (rabbit, vhost, hub) = connected_hub().await;
    let connections = async || {
        let listing = rabbit.ctl(&["list_connections", "--quiet", "--no-table-headers", "vhost"]).await;
        listing.lines().filter(|line| line.trim() == vhost).count()
    };
    assert_eq!(connections().await, 1);
    let Hub { signals, task } = hub;
    drop(signals);
    assert!(eventually(SOON, async || task.is_finished()).await, "an idle hub notices its source is gone");
    assert!(eventually(SOON, async || connections().await == 0).await, "and closes its connection");
}

#[tokio::test]
async fn acks_reach_the_broker_and_unacked_messages_vanish_with_the_connection() {
    let (rabbit, vhost, mut hub) = connected_hub().await;
    assert!(rabbit.publish(&vhost, "tokenRevocation", &revocation("first")).await);
    let first = hub.message().await;
    assert_eq!(rabbit.unacked(&vhost).await, 1, "held until acked");
    first.ack.ack().await;
    assert!(eventually(SOON, async || rabbit.unacked(&vhost).await == 0).await, "the ack reached the broker");

    // RabbitMQ deletes an auto-delete queue with its last consumer: an unacked message goes
    // with the connection and is not redelivered on the next one.
    assert!(rabbit.publish(&vhost, "tokenRevocation", &revocation("unacked")).await);
    let unacked = hub.message().await;
    rabbit.close_connections(&vhost).await;
    let reason = hub.disconnected().await;
    assert!(!reason.contains(PASSWORD), "{reason}");
    hub.connected().await;
    unacked.ack.ack().await; // its channel is gone: a no-op, not a panic or a hang
    assert!(rabbit.publish(&vhost, "tokenRevocation", &revocation("after")).await);
    let next = hub.message().await;
    assert_eq!(revoked_token(&next), "after", "the unacked message was not redelivered");
    next.ack.ack().await;
}

#[tokio::test]
async fn a_restarted_broker_is_reconnected_on_the_same_port() {
    let mut rabbit = RabbitMq::start().await;
    let mut hub = Hub::start(&[rabbit.url("t0")]);
    hub.connected().await;
    rabbit.stop();
    let reason = hub.disconnected().await;
    assert!(reason.contains(&rabbit.shown_url("t0")) && !reason.contains(PASSWORD), "{reason}");
    rabbit.start_again().await;
    let broker = loop {
        // While the broker boots, failed rounds report themselves; then it connects.
        match hub.next().await {
            HubSignal::Connected { broker } => break broker,
            HubSignal::Disconnected { reason } => assert!(!reason.contains(PASSWORD), "{reason}"),
            HubSignal::Message(message) => panic!("unexpected {message:?}"),
        }
    };
    assert_eq!(broker, rabbit.shown_url("t0"));
    assert!(rabbit.publish("t0", "tokenRevocation", &revocation("after-restart")).await);
    let message = hub.message().await;
    assert_eq!(revoked_token(&message), "after-restart");
    message.ack.ack().await;
    hub.task.shutdown().await;
}

#[tokio::test]
async fn the_first_reachable_broker_in_order_is_used() {
    let rabbit = RabbitMq::shared().await;
    let vhost = rabbit.vhost();
    let dead = format!("amqp://admin:{PASSWORD}@127.0.0.1:{}", closed_port());
    let mut hub = Hub::start(&[dead, rabbit.url(&vhost)]);
    let broker = hub.connected().await;
    assert_eq!(broker, rabbit.shown_url(&vhost), "failover to the second URL");
    assert!(!broker.contains(PASSWORD));
    assert!(rabbit.publish(&vhost, "notification", b"{}").await);
    hub.message().await.ack.ack().await;
}

#[tokio::test]
async fn a_silent_broker_times_out_and_the_next_one_is_used() {
    let rabbit = RabbitMq::shared().await;
    let vhost = rabbit.vhost();
    // Accepts TCP connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("amqp://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    let urls = [silent_url, rabbit.url(&vhost)];
    let mut hub = Hub::spawn(settings(&urls).with_connect_timeout(Duration::from_secs(1)), 16);
    assert_eq!(hub.connected().await, rabbit.shown_url(&vhost));
    held.abort();
}

#[tokio::test]
async fn amqps_brokers_are_verified_with_the_system_roots_and_the_extra_ca() {
    install_crypto();
    let rabbit = RabbitMq::shared().await;
    let vhost = rabbit.vhost();
    let mut untrusting = Hub::start(&[rabbit.tls_url(&vhost)]);
    let reason = untrusting.disconnected().await;
    assert!(reason.to_lowercase().contains("certificate"), "a test CA is not trusted by default: {reason}");
    untrusting.task.shutdown().await;
    let trusting = settings(&[rabbit.tls_url(&vhost)]).with_ca_pem(rabbit.ca_pem().to_owned());
    let mut hub = Hub::spawn(trusting, 16);
    assert_eq!(hub.connected().await, format!("amqps://127.0.0.1:{}/{vhost}", rabbit.tls_port()));
    assert!(rabbit.publish(&vhost, "notification", b"{}").await);
    hub.message().await.ack.ack().await;
}

#[tokio::test]
async fn an_unreachable_broker_is_retried_without_end() {
    let port = closed_port();
    let mut hub = Hub::start(&[format!("amqp://admin:{PASSWORD}@127.0.0.1:{port}?retries='3'&connectdelay='1'")]);
    for _ in 0..5 {
        let reason = hub.disconnected().await;
        assert!(reason.contains(&format!("amqp://127.0.0.1:{port}")), "{reason}");
        assert!(!reason.contains(PASSWORD), "{reason}");
    }
    assert!(!hub.task.is_finished(), "the hub keeps retrying");
}

#[tokio::test]
async fn credentials_never_reach_the_logs() {
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // The test runtime is single-threaded: the hub's task logs through this subscriber.
    let (rabbit, vhost, mut hub) = connected_hub().await;
    assert!(rabbit.publish(&vhost, "notification", b"{}").await);
    hub.message().await.ack.ack().await;
    let dead = format!("amqp://admin:{PASSWORD}@127.0.0.1:{}", closed_port());
    let mut failing = Hub::start(&[dead]);
    failing.disconnected().await;
    let text = logs.text();
    assert!(text.contains("event hub connected"), "the capture works: {text}");
    assert!(text.contains("cannot use broker"), "{text}");
    assert!(!text.contains(PASSWORD), "a password was logged:\n{text}");
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Log lines written by a `tracing` subscriber.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
