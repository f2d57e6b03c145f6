//! The request body the gateway did not forward, settled before its own answer goes out
//! (client.md, "Error responses").
//!
//! On HTTP/1.1 the next request starts where this body ends, so a body left unread would
//! make hyper close the connection after the response, without saying so: a keep-alive
//! client then finds its next request failing. The rest of the body is read and discarded
//! when it is at most [`DISCARD_LIMIT`] and arrives within [`DISCARD_WAIT`]; otherwise the
//! answer says `Connection: close`. HTTP/2 needs neither: dropping the body resets only its
//! stream.

use std::time::Duration;

use http::header::{CONNECTION, EXPECT};
use http::{HeaderValue, Request, Response, Version};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};

use crate::body::ResponseBody;
use crate::proxy::RequestBody;

/// The most body bytes read to keep a connection after the gateway's own answer.
pub(super) const DISCARD_LIMIT: u64 = 64 * 1024;
/// How long the rest of an unforwarded body may take to arrive.
pub(super) const DISCARD_WAIT: Duration = Duration::from_secs(1);

/// A request's body from the start of the pipeline until it is forwarded or settled.
#[derive(Debug)]
pub(super) struct PendingBody {
    body: Option<Incoming>,
    http1: bool,
    /// `Expect: 100-continue`: the client waits before sending its body.
    expects_continue: bool,
    /// A body that was not empty went upstream: after a failure there, no one can tell how
    /// much of it was read.
    forwarded_unknown: bool,
}

/// Why an unforwarded body was not read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unsettled {
    TooLarge,
    TooSlow,
    Broken,
    /// The client has not sent its body and is waiting for `100 Continue`.
    Withheld,
}

// === impl PendingBody ===

impl PendingBody {
    pub(super) fn new<B>(head: &Request<B>, body: Option<Incoming>) -> Self {
        let expects_continue =
            head.headers().get(EXPECT).is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let http1 = head.version() <= Version::HTTP_11;
        PendingBody { body, http1, expects_continue, forwarded_unknown: false }
    }

    /// The body, for the upstream request.
    pub(super) fn forward(&mut self) -> RequestBody {
        match self.body.take() {
            Some(body) => {
                self.forwarded_unknown = !body.is_end_stream();
                RequestBody::from(body)
            }
            None => RequestBody::Empty,
        }
    }

    /// Settles the body before `response`, which the gateway made itself unless the body was
    /// forwarded, goes out: see the module docs.
    pub(super) async fn settle(
        mut self,
        mut response: Response<ResponseBody>,
        answered_itself: bool,
    ) -> Response<ResponseBody> {
        if !self.http1 || !answered_itself {
            return response;
        }
        let outcome = match self.body.take() {
            _ if self.forwarded_unknown => Err(Unsettled::Broken),
            None => Ok(()),
            Some(body) if body.is_end_stream() => Ok(()),
            Some(_) if self.expects_continue => Err(Unsettled::Withheld),
            Some(body) => discard(body).await,
        };
        if let Err(unsettled) = outcome {
            tracing::debug!(?unsettled, "closing the connection after the gateway's answer");
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// Reads the rest of `body` and drops it, within the limits.
async fn discard(mut body: Incoming) -> Result<(), Unsettled> {
    if body.size_hint().lower() > DISCARD_LIMIT {
        return Err(Unsettled::TooLarge);
    }
    let read_all = async {
        let mut read = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| Unsettled::Broken)?;
            read += frame.data_ref().map_or(0, |data| data.len() as u64);
            if read > DISCARD_LIMIT {
                return Err(Unsettled::TooLarge);
            }
        }
        Ok(())
    };
    tokio::time::timeout(DISCARD_WAIT, read_all).await.unwrap_or(Err(Unsettled::TooSlow))
}
