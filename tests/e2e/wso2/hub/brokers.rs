//! Brokers: a restart on the same port, failover in order, a silent broker timing out, an
//! unreachable one retried without end, AMQPS verification, credentials kept out of logs.

use std::time::Duration;

use tollgate_adapter::source::wso2_apim::HubSignal;
use tollgate_tests::rabbitmq::{PASSWORD, RabbitMq};
use tollgate_tests::{CapturedLogs, install_crypto};

use super::{Hub, closed_port, connected_hub, revocation, revoked_token, settings};

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
    let broker = loop {
        // On a loaded machine the real broker may miss the one-second limit as well: that
        // round fails like the silent one and the next round tries again.
        match hub.next().await {
            HubSignal::Connected { broker } => break broker,
            HubSignal::Disconnected { reason } => assert!(reason.contains("no connection and bindings"), "{reason}"),
            HubSignal::Message(message) => panic!("unexpected {message:?}"),
        }
    };
    assert_eq!(broker, rabbit.shown_url(&vhost));
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
    // The failing broker's warning is not asserted captured: with other hub tests logging the
    // same callsite on other threads, a thread-scoped subscriber misses it now and then.
    assert!(!text.contains(PASSWORD), "a password was logged:\n{text}");
}
