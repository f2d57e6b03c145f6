use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::access_log::Tally;
use crate::proxy::{UpstreamBody, UpstreamBodyError};

/// The body of every response the gateway sends: streamed from the upstream, or a small
/// body the gateway made itself. When the response is done (or dropped), its [`Tally`]
/// writes the access-log line and the request-duration metric, so both cover the body too.
#[derive(Debug)]
pub struct ResponseBody {
    inner: Inner,
    tally: Option<Box<Tally>>,
}

#[derive(Debug)]
enum Inner {
    Upstream(UpstreamBody),
    Full(Option<Bytes>),
}

// === impl ResponseBody ===

impl ResponseBody {
    pub fn upstream(body: UpstreamBody) -> Self {
        ResponseBody { inner: Inner::Upstream(body), tally: None }
    }

    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        ResponseBody { inner: Inner::Full((!bytes.is_empty()).then_some(bytes)), tally: None }
    }

    pub fn empty() -> Self {
        ResponseBody { inner: Inner::Full(None), tally: None }
    }

    pub(crate) fn with_tally(mut self, tally: Box<Tally>) -> Self {
        self.tally = Some(tally);
        self
    }

    fn count(&mut self, frame: &Frame<Bytes>) {
        if let (Some(tally), Some(data)) = (self.tally.as_mut(), frame.data_ref()) {
            tally.bytes_out += data.len() as u64;
        }
    }

    fn finish(&mut self) {
        if let Some(tally) = self.tally.take() {
            tally.finish();
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = UpstreamBodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UpstreamBodyError>>> {
        let this = &mut *self;
        let polled = match &mut this.inner {
            Inner::Upstream(body) => Pin::new(body).poll_frame(cx),
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => this.count(frame),
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Upstream(body) => body.is_end_stream(),
            Inner::Full(bytes) => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Upstream(body) => body.size_hint(),
            Inner::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.finish();
    }
}
