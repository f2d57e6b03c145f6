//! Deliveries: a slow source holds them back without losing any, acks reach the broker and
//! unacked messages vanish with the connection, the hub stops with its source.

use tollgate_tests::eventually;
use tollgate_tests::rabbitmq::{PASSWORD, RabbitMq};

use super::{Hub, SOON, connected_hub, revocation, revoked_token, settings};

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
