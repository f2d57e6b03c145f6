//! The topology API-M publishes into: every fixture event decoded from its topic, both
//! spellings of the key-manager topic on one queue, unexpected topics unbound, bad bodies as
//! errors, and `Connected` only once every topic is bound.

use std::path::PathBuf;

use serde_json::json;
use tollgate_adapter::wso2::{Action, Change, EventError, decode_event};
use tollgate_tests::rabbitmq::RabbitMq;

use super::{Hub, connected_hub};

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
