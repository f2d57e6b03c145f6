use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use prometheus::IntCounter;
use tokio::sync::oneshot;

use super::lean::LeanBody;
use super::pause::PauseLimit;

/// A request body on its way upstream: the client's body, streamed as it arrives, or none.
#[derive(Debug, Default)]
pub enum RequestBody {
    /// No body.
    #[default]
    Empty,
    /// The client's body; read once, never buffered.
    Incoming(Incoming),
}

/// The client's request body broke off or was malformed (a bad chunk, a short body): the
/// client's fault, told apart from upstream failures by this type in the error's source chain.
#[derive(Debug, thiserror::Error)]
#[error("the client's request body: {0}")]
pub struct ClientBodyError(#[source] hyper::Error);

/// What one attempt sends. A body handed over with [`AttemptBody::once`] comes back through
/// its receiver when the attempt drops it before reading a frame: a connect failure then
/// passes the untouched body on to the next target.
#[derive(Debug)]
pub(super) struct AttemptBody {
    body: RequestBody,
    /// Taken on the first read: from then on the body belongs to this attempt.
    reclaim: Option<oneshot::Sender<RequestBody>>,
}

// === impl RequestBody ===

impl RequestBody {
    /// `true` when the body is known to be empty, so the request can be sent again without
    /// it: hyper ends an HTTP/1 body at once when there is no `Content-Length` > 0 and no
    /// `Transfer-Encoding`, and an HTTP/2 one when the headers carried END_STREAM. (The
    /// headers themselves no longer tell: `Transfer-Encoding` is stripped before forwarding.)
    pub(super) fn is_known_empty(&self) -> bool {
        match self {
            RequestBody::Empty => true,
            RequestBody::Incoming(body) => body.is_end_stream(),
        }
    }
}

impl From<Incoming> for RequestBody {
    fn from(body: Incoming) -> Self {
        RequestBody::Incoming(body)
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = ClientBodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, ClientBodyError>>> {
        match self.get_mut() {
            RequestBody::Empty => Poll::Ready(None),
            RequestBody::Incoming(body) => Pin::new(body).poll_frame(cx).map_err(ClientBodyError),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Empty => true,
            RequestBody::Incoming(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Empty => SizeHint::with_exact(0),
            RequestBody::Incoming(body) => body.size_hint(),
        }
    }
}

// === impl AttemptBody ===

impl AttemptBody {
    pub(super) fn empty() -> Self {
        AttemptBody { body: RequestBody::Empty, reclaim: None }
    }

    /// Sends `body` once; the receiver gets it back if the attempt never reads it.
    pub(super) fn once(body: RequestBody) -> (Self, oneshot::Receiver<RequestBody>) {
        let (reclaim, returned) = oneshot::channel();
        (AttemptBody { body, reclaim: Some(reclaim) }, returned)
    }
}

impl Body for AttemptBody {
    type Data = Bytes;
    type Error = ClientBodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, ClientBodyError>>> {
        let this = self.get_mut();
        this.reclaim = None;
        Pin::new(&mut this.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for AttemptBody {
    fn drop(&mut self) {
        if let Some(reclaim) = self.reclaim.take() {
            // The receiver is gone only when the exchange itself was dropped (timeout).
            let _ = reclaim.send(std::mem::take(&mut self.body));
        }
    }
}

/// A response body streaming from an upstream: through hyper's client, or read by the lean
/// exchange straight from its connection; with [`UpstreamBody::limit_pauses`], cut off when
/// the upstream pauses too long.
#[derive(Debug)]
pub struct UpstreamBody {
    inner: Upstream,
    /// Set on every proxied body: kept inline (a few words) rather than allocated per request.
    pauses: Option<PauseLimit>,
}

#[derive(Debug)]
enum Upstream {
    Hyper(Incoming),
    Lean(LeanBody),
}

/// Why an upstream response body broke off.
pub type UpstreamBodyError = Box<dyn std::error::Error + Send + Sync>;

// === impl UpstreamBody ===

impl UpstreamBody {
    /// Ends the body with [`BodyPaused`](super::BodyPaused) (counted on `timeouts`) when the
    /// upstream sends nothing for `limit` while the body is asked for more.
    pub fn limit_pauses(&mut self, limit: Duration, timeouts: IntCounter) {
        self.pauses = Some(PauseLimit::new(limit, timeouts));
    }

    fn poll_upstream(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, UpstreamBodyError>>> {
        match &mut self.inner {
            Upstream::Hyper(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
            Upstream::Lean(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
        }
    }
}

impl From<Incoming> for UpstreamBody {
    fn from(body: Incoming) -> Self {
        UpstreamBody { inner: Upstream::Hyper(body), pauses: None }
    }
}

impl From<LeanBody> for UpstreamBody {
    fn from(body: LeanBody) -> Self {
        UpstreamBody { inner: Upstream::Lean(body), pauses: None }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = UpstreamBodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let polled = this.poll_upstream(cx);
        let Some(pauses) = &mut this.pauses else { return polled };
        if polled.is_ready() {
            pauses.progressed();
            return polled;
        }
        pauses.poll_pause(cx).map(|paused| Some(Err(paused.into())))
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Upstream::Hyper(body) => body.is_end_stream(),
            Upstream::Lean(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Upstream::Hyper(body) => body.size_hint(),
            Upstream::Lean(body) => body.size_hint(),
        }
    }
}
