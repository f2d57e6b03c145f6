//! Bodies through the test proxy: streamed both ways, sent once.

use http::Method;
use http_body::Frame;
use http_body_util::StreamBody;

use super::*;

const FIVE_MIB: usize = 5 * 1024 * 1024;

fn payload() -> Bytes {
    (0..FIVE_MIB).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
}

/// `payload` as a chunked body of unknown length.
fn chunked(payload: &Bytes) -> Body {
    let chunks: Vec<Result<Frame<Bytes>, Error>> =
        payload.chunks(64 * 1024).map(|c| Ok(Frame::data(Bytes::copy_from_slice(c)))).collect();
    StreamBody::new(futures_util::stream::iter(chunks)).boxed()
}

async fn send(proxy: &Server, method: Method, body: Body) -> Result<Response<Incoming>, Error> {
    let request = Request::builder().method(method).uri(format!("http://{}/base/echo", proxy.addr)).body(body)?;
    Ok(client().request(request).await?)
}

fn attempts(response: &Response<Incoming>) -> Option<&[u8]> {
    response.headers().get("x-attempts").map(|v| v.as_bytes())
}

#[tokio::test]
async fn five_mebibytes_stream_up_and_back_intact() -> TestResult {
    let upstream = Server::plain(echo_body()).await?;
    let endpoint = endpoint(&[upstream.url()], Strategy::LoadBalance, EndpointSettings::default())?;
    let proxy = start_proxy(upstreams()?, endpoint).await?;
    let payload = payload();
    for body in [full(payload.clone()), chunked(&payload)] {
        let response = send(&proxy, Method::POST, body).await?;
        assert_eq!(response.status(), StatusCode::OK);
        let echoed = response.into_body().collect().await?.to_bytes();
        assert_eq!(echoed.len(), FIVE_MIB);
        assert!(echoed == payload, "the echoed body differs");
    }
    Ok(())
}

#[tokio::test]
async fn a_connect_failure_hands_the_unread_body_to_the_next_target() -> TestResult {
    let upstream = Server::plain(echo_body()).await?;
    let endpoint = endpoint(&[closed_url().await?, upstream.url()], Strategy::Failover, EndpointSettings::default())?;
    let proxy = start_proxy(upstreams()?, endpoint).await?;
    let response = send(&proxy, Method::POST, full("hello")).await?;
    assert_eq!(attempts(&response), Some(&b"2"[..]));
    assert_eq!(text(response).await?, "hello");
    Ok(())
}

#[tokio::test]
async fn a_request_with_a_body_is_never_retried() -> TestResult {
    let seen = Arc::new(AtomicUsize::new(0));
    let upstream = Server::plain(failing(usize::MAX, StatusCode::SERVICE_UNAVAILABLE, seen.clone())).await?;
    let retries = crate::api::Retries { count: 2, status_codes: Box::new([StatusCode::SERVICE_UNAVAILABLE]) };
    let settings = EndpointSettings { retries, ..EndpointSettings::default() };
    let proxy = start_proxy(upstreams()?, endpoint(&[upstream.url()], Strategy::LoadBalance, settings)?).await?;

    let response = send(&proxy, Method::PUT, full("body")).await?;
    assert_eq!((response.status(), attempts(&response)), (StatusCode::SERVICE_UNAVAILABLE, Some(&b"1"[..])));
    assert_eq!(seen.swap(0, Ordering::SeqCst), 1);

    let response = send(&proxy, Method::PUT, full("")).await?;
    assert_eq!((response.status(), attempts(&response)), (StatusCode::SERVICE_UNAVAILABLE, Some(&b"3"[..])));
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    Ok(())
}
