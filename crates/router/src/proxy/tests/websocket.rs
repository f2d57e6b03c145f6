//! A WebSocket echo end to end through the test proxy.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::*;
use crate::api::UpstreamProtocol;

/// A WebSocket upstream (HTTP/1.1 only) that echoes text and binary messages.
async fn echo_websocket() -> Result<(String, JoinHandle<()>), Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                while let Some(Ok(message)) = ws.next().await {
                    if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok((url, task))
}

#[tokio::test]
async fn websocket_messages_echo_through_the_proxy() -> TestResult {
    let (url, _upstream) = echo_websocket().await?;
    // An upgrade goes over HTTP/1.1 even to an endpoint configured for HTTP/2.
    for protocol in [UpstreamProtocol::Auto, UpstreamProtocol::Http2] {
        let settings = EndpointSettings { protocol, ..EndpointSettings::default() };
        let proxy =
            start_proxy(upstreams()?, endpoint(std::slice::from_ref(&url), Strategy::LoadBalance, settings)?).await?;
        let (mut ws, response) = tokio_tungstenite::connect_async(format!("ws://{}/base/chat", proxy.addr)).await?;
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        for message in [Message::text("hello"), Message::binary(vec![0u8, 1, 2, 255])] {
            ws.send(message.clone()).await?;
            assert_eq!(ws.next().await.transpose()?, Some(message));
        }
        ws.close(None).await?;
    }
    Ok(())
}
