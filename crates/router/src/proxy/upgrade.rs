use http::Response;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

/// Splices a client's upgraded connection with the upstream's, once both switch protocols.
/// The client's switches when the pipeline returns `response` (the upstream's `101`) to it;
/// either side closing or failing ends the tunnel.
pub(super) fn splice<B>(client: OnUpgrade, response: &mut Response<B>) {
    let upstream = hyper::upgrade::on(response);
    tokio::spawn(async move {
        match tunnel(client, upstream).await {
            Ok((sent, received)) => tracing::debug!(sent, received, "upgraded connection closed"),
            Err(error) => tracing::debug!(%error, "upgraded connection failed"),
        }
    });
}

/// Copies both ways until both sides are done; returns the bytes sent upstream and received.
async fn tunnel(client: OnUpgrade, upstream: OnUpgrade) -> Result<(u64, u64), TunnelError> {
    let (client, upstream) = tokio::try_join!(client, upstream)?;
    let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
    Ok(tokio::io::copy_bidirectional(&mut client, &mut upstream).await?)
}

#[derive(Debug, thiserror::Error)]
enum TunnelError {
    #[error("upgrade: {0}")]
    Upgrade(#[from] hyper::Error),
    #[error("copy: {0}")]
    Io(#[from] std::io::Error),
}
