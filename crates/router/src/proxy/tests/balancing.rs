//! Targets, failover, timeouts and retries, calling `forward` directly.

use std::time::Duration;

use http::{Method, StatusCode};
use tokio::io::AsyncReadExt;

use super::*;
use crate::api::Retries;

fn retrying(count: u8, status: StatusCode) -> EndpointSettings {
    let retries = Retries { count, status_codes: Box::new([status]) };
    EndpointSettings { retries, ..EndpointSettings::default() }
}

/// An upstream that reads the request, then closes the connection without answering.
async fn resetting() -> Result<(String, JoinHandle<()>), Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = [0; 1024];
            let _ = stream.read(&mut buf).await;
        }
    });
    Ok((url, task))
}

#[tokio::test]
async fn maps_path_and_query_byte_for_byte() -> TestResult {
    let upstream = Server::plain(echo_head()).await?;
    let endpoint = endpoint(&[format!("{}/v2", upstream.url())], Strategy::LoadBalance, EndpointSettings::default())?;
    let path = UpstreamPath { rest: "/pets/7", query: Some("a=%2F&b") };
    let forwarded = forward_to(&*upstreams()?, &endpoint, Method::GET, path).await?;
    assert_eq!(Seen::read(forwarded.response).await?.field("target"), Some("/v2/pets/7?a=%2F&b"));
    Ok(())
}

#[tokio::test]
async fn round_robin_alternates_between_targets() -> TestResult {
    let (a, b) = (Server::plain(named("a")).await?, Server::plain(named("b")).await?);
    let endpoint = endpoint(&[a.url(), b.url()], Strategy::LoadBalance, EndpointSettings::default())?;
    let upstreams = upstreams()?;
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(text(forward(&upstreams, &endpoint, Method::GET, "/").await?.response).await?);
    }
    assert_eq!(answers, ["a", "b", "a", "b"]);
    Ok(())
}

#[tokio::test]
async fn fails_over_when_a_target_refuses_connections() -> TestResult {
    let b = Server::plain(named("b")).await?;
    let upstreams = upstreams()?;
    for strategy in [Strategy::Failover, Strategy::LoadBalance] {
        let endpoint = endpoint(&[closed_url().await?, b.url()], strategy, EndpointSettings::default())?;
        for _ in 0..2 {
            let forwarded = forward(&upstreams, &endpoint, Method::POST, "/").await?;
            assert_eq!(&*forwarded.target, b.url());
            assert_eq!(text(forwarded.response).await?, "b");
        }
    }
    Ok(())
}

#[tokio::test]
async fn all_targets_down_is_a_connect_error() -> TestResult {
    let endpoint =
        endpoint(&[closed_url().await?, closed_url().await?], Strategy::Failover, EndpointSettings::default())?;
    let error = forward(&*upstreams()?, &endpoint, Method::GET, "/").await.err();
    assert!(matches!(error, Some(ProxyError::Connect)), "{error:?}");
    assert_eq!(error.map(|e| e.kind()), Some("connect"));
    Ok(())
}

#[tokio::test]
async fn a_slow_upstream_times_out() -> TestResult {
    let slow = Server::plain(handler(|_| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        respond(StatusCode::OK, "late")
    }))
    .await?;
    let settings = EndpointSettings { timeout: Duration::from_millis(200), ..EndpointSettings::default() };
    let endpoint = endpoint(&[slow.url()], Strategy::LoadBalance, settings)?;
    let error = forward(&*upstreams()?, &endpoint, Method::GET, "/").await.err();
    assert!(matches!(error, Some(ProxyError::Timeout)), "{error:?}");
    assert_eq!(error.map(|e| e.kind()), Some("timeout"));
    Ok(())
}

#[tokio::test]
async fn retries_idempotent_requests_on_listed_statuses() -> TestResult {
    let seen = Arc::new(AtomicUsize::new(0));
    let upstream = Server::plain(failing(1, StatusCode::SERVICE_UNAVAILABLE, seen.clone())).await?;
    let endpoint = endpoint(&[upstream.url()], Strategy::LoadBalance, retrying(2, StatusCode::SERVICE_UNAVAILABLE))?;
    let forwarded = forward(&*upstreams()?, &endpoint, Method::GET, "/").await?;
    assert_eq!((forwarded.response.status(), forwarded.attempts), (StatusCode::OK, 2));
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    Ok(())
}

#[tokio::test]
async fn never_retries_a_post() -> TestResult {
    let seen = Arc::new(AtomicUsize::new(0));
    let upstream = Server::plain(failing(1, StatusCode::SERVICE_UNAVAILABLE, seen.clone())).await?;
    let endpoint = endpoint(&[upstream.url()], Strategy::LoadBalance, retrying(2, StatusCode::SERVICE_UNAVAILABLE))?;
    let forwarded = forward(&*upstreams()?, &endpoint, Method::POST, "/").await?;
    assert_eq!((forwarded.response.status(), forwarded.attempts), (StatusCode::SERVICE_UNAVAILABLE, 1));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    Ok(())
}

#[tokio::test]
async fn a_retry_moves_to_the_next_target() -> TestResult {
    let seen = Arc::new(AtomicUsize::new(0));
    let a = Server::plain(failing(usize::MAX, StatusCode::BAD_GATEWAY, seen.clone())).await?;
    let b = Server::plain(named("b")).await?;
    let endpoint = endpoint(&[a.url(), b.url()], Strategy::Failover, retrying(1, StatusCode::BAD_GATEWAY))?;
    let forwarded = forward(&*upstreams()?, &endpoint, Method::GET, "/").await?;
    assert_eq!((&*forwarded.target, forwarded.attempts), (&*b.url(), 2));
    assert_eq!(text(forwarded.response).await?, "b");
    Ok(())
}

#[tokio::test]
async fn exhausted_retries_return_the_last_answer() -> TestResult {
    let seen = Arc::new(AtomicUsize::new(0));
    let upstream = Server::plain(failing(usize::MAX, StatusCode::SERVICE_UNAVAILABLE, seen.clone())).await?;
    let endpoint = endpoint(&[upstream.url()], Strategy::LoadBalance, retrying(2, StatusCode::SERVICE_UNAVAILABLE))?;
    let forwarded = forward(&*upstreams()?, &endpoint, Method::DELETE, "/").await?;
    assert_eq!((forwarded.response.status(), forwarded.attempts), (StatusCode::SERVICE_UNAVAILABLE, 3));
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    Ok(())
}

#[tokio::test]
async fn a_reset_is_retried_only_with_retries() -> TestResult {
    let (reset_url, _reset) = resetting().await?;
    let b = Server::plain(named("b")).await?;
    let upstreams = upstreams()?;

    let without = endpoint(&[reset_url.clone(), b.url()], Strategy::Failover, EndpointSettings::default())?;
    let error = forward(&upstreams, &without, Method::GET, "/").await.err();
    assert!(matches!(error, Some(ProxyError::Reset)), "{error:?}");
    assert_eq!(error.map(|e| e.kind()), Some("reset"));

    let with = endpoint(&[reset_url, b.url()], Strategy::Failover, retrying(1, StatusCode::SERVICE_UNAVAILABLE))?;
    let forwarded = forward(&upstreams, &with, Method::GET, "/").await?;
    assert_eq!((text(forwarded.response).await?.as_str(), forwarded.attempts), ("b", 2));
    Ok(())
}
