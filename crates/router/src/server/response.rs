//! The response body as a client connection serves it: it keeps its request counted as in
//! flight, and tells an HTTP/2 stream's send timeout when it waits for the client.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::activity::InFlight;
use super::streams::SendProgress;
use crate::body::ResponseBody;
use crate::proxy::UpstreamBodyError;

/// A [`ResponseBody`] on its way to the client.
#[derive(Debug)]
pub(super) struct ServedBody {
    inner: ResponseBody,
    _in_flight: InFlight,
    /// The HTTP/2 stream's progress (HTTP/1.1 writes are bounded by the connection's IO).
    progress: Option<Arc<SendProgress>>,
}

// === impl ServedBody ===

impl ServedBody {
    pub(super) fn new(inner: ResponseBody, in_flight: InFlight, progress: Option<Arc<SendProgress>>) -> Self {
        if let Some(progress) = &progress {
            // The head goes out now; the first frame waits for the client's window.
            if !inner.is_end_stream() {
                progress.handed();
            }
        }
        ServedBody { inner, _in_flight: in_flight, progress }
    }
}

impl Body for ServedBody {
    type Data = Bytes;
    type Error = UpstreamBodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UpstreamBodyError>>> {
        let this = &mut *self;
        if let Some(progress) = &this.progress {
            progress.asked();
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let (Some(progress), Poll::Ready(Some(Ok(_)))) = (&this.progress, &polled) {
            progress.handed();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
