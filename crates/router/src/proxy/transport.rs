//! The one seam between the attempt loop and the upstream clients: each [`Target`] carries a
//! [`TargetTransport`], decided when its endpoint is built (plain HTTP/1.1, HTTP/2 by prior
//! knowledge, TLS with ALPN, TLS with `h2` only) and bound to the gateway's shared clients on
//! its first request. An attempt asks the bound [`Transport`] to [`send`](Transport::send);
//! which client carries the request is decided here, by the target and the request's shape:
//!
//! | target | no body, no upgrade | a body | a WebSocket upgrade |
//! | --- | --- | --- | --- |
//! | `http://`, HTTP/1.1 | the lean exchange | Tollgate's HTTP/1.1 pool | an HTTP/1.1 pool of its own |
//! | `http://`, `protocol: http2` | hyper-util, h2c | hyper-util, h2c | an HTTP/1.1 pool of its own |
//! | `https://` | hyper-util, ALPN | hyper-util, ALPN | hyper-util, ALPN `http/1.1` |
//!
//! The lean exchange cannot carry a body or an upgrade, and HTTP/2 cannot carry an HTTP/1.1
//! upgrade: those are the only fallbacks, and they live here rather than in the attempt loop.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::header::HOST;
use http::uri::Scheme;
use http::{HeaderMap, Method, Request, Response, Uri};
use hyper_util::client::legacy;
use tokio::sync::oneshot;

use super::asserted::Asserted;
use super::body::{AttemptBody, ClientBodyError, RequestBody, UpstreamBody};
use super::lean::{LeanError, LeanPool, LeanRequest, OriginForm};
use super::pool::{Http1Pool, PoolError};
use super::upstreams::{UpstreamClient, UpstreamPath};
use crate::api::{Target, UpstreamProtocol};

/// How a target is spoken to, and the clients that do it once bound (see the module table).
#[derive(Debug, Clone)]
pub(crate) struct TargetTransport {
    kind: TransportKind,
    /// The clients of the first [`Upstreams`](super::Upstreams) that sent to this target
    /// (behind an `Arc`: a target that is never sent to holds one empty cell, not a
    /// `Transport`).
    bound: OnceLock<Arc<Bound>>,
}

/// What a target's transport is, from its URL and its endpoint's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TransportKind {
    pub(super) wire: TargetWire,
    pub(super) connect_timeout: Duration,
}

/// The protocol a target is spoken to in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TargetWire {
    /// `http://`, HTTP/1.1.
    PlainHttp1,
    /// `http://` with `protocol: http2`: HTTP/2 by prior knowledge.
    PlainHttp2,
    /// `https://`: HTTP/1.1 or HTTP/2, as the upstream picks in ALPN.
    Tls,
    /// `https://` with `protocol: http2`: ALPN `h2` only.
    TlsHttp2,
}

/// The clients that carry one target's requests, by the request's shape.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    bodiless: Bodiless,
    /// Requests with a body.
    streaming: HyperClient,
    /// WebSocket upgrades: always HTTP/1.1.
    upgrades: HyperClient,
}

/// A request on its way to an endpoint's targets, prepared once for all its attempts.
#[derive(Debug)]
pub(super) struct Outgoing<'a> {
    pub(super) method: Method,
    pub(super) path: UpstreamPath<'a>,
    /// Prepared for forwarding (hop-by-hop headers and credentials gone).
    pub(super) headers: HeaderMap,
    /// Sent after `headers`; the attempt loop sets each attempt's `traceparent` here.
    pub(super) asserted: Asserted,
    /// The body still to send: `None` when it is known to be empty (every attempt then sends
    /// none), and between an attempt taking it and a connect failure handing it back.
    pub(super) body: Option<RequestBody>,
    /// An HTTP/1.1 WebSocket upgrade whose client side can be completed.
    pub(super) upgrade: bool,
}

/// Why an attempt got no response, from whichever client carried it.
#[derive(Debug, thiserror::Error)]
pub(super) enum SendError {
    #[error(transparent)]
    Lean(LeanError),
    #[error(transparent)]
    Pool(PoolError),
    #[error(transparent)]
    General(legacy::Error),
    /// The request URI could not be built from the target and the path: nothing was sent.
    #[error("upstream request URI: {0}")]
    Uri(http::Error),
    /// A connect failure left the request body with the failed attempt: it cannot be sent
    /// to another target.
    #[error("{0} (the request body could not be taken back)")]
    BodyLost(Box<SendError>),
}

#[derive(Debug, Clone)]
struct Bound {
    /// [`Upstreams::id`](super::Upstreams) of the clients.
    owner: u64,
    transport: Transport,
}

#[derive(Debug, Clone)]
enum Bodiless {
    Lean(Arc<LeanPool>),
    Hyper(HyperClient),
}

/// A hyper-based client: Tollgate's plain HTTP/1.1 pool, or hyper-util's general client.
#[derive(Debug, Clone)]
pub(super) enum HyperClient {
    Pooled(Arc<Http1Pool>),
    /// Shared: the client itself is large.
    General(Arc<UpstreamClient>),
}

/// What a request needs from a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Bodiless,
    Streaming,
    Upgrade,
}

// === impl TargetTransport ===

impl TargetTransport {
    pub(crate) fn new(scheme: &Scheme, protocol: UpstreamProtocol, connect_timeout: Duration) -> Self {
        let wire = match (*scheme == Scheme::HTTPS, protocol) {
            (false, UpstreamProtocol::Auto) => TargetWire::PlainHttp1,
            (false, UpstreamProtocol::Http2) => TargetWire::PlainHttp2,
            (true, UpstreamProtocol::Auto) => TargetWire::Tls,
            (true, UpstreamProtocol::Http2) => TargetWire::TlsHttp2,
        };
        TargetTransport { kind: TransportKind { wire, connect_timeout }, bound: OnceLock::new() }
    }

    #[cfg(test)]
    pub(crate) fn wire(&self) -> TargetWire {
        self.kind.wire
    }

    /// The transport of `owner`'s clients: bound on the first call and kept from then on.
    /// Another owner (two gateways in one process, as tests may have) gets a transport of
    /// its own clients, built for the call.
    pub(super) fn bind(&self, owner: u64, build: impl Fn(TransportKind) -> Transport) -> Cow<'_, Transport> {
        let bound = self.bound.get_or_init(|| Arc::new(Bound { owner, transport: build(self.kind) }));
        match bound.owner == owner {
            true => Cow::Borrowed(&bound.transport),
            false => Cow::Owned(build(self.kind)),
        }
    }
}

/// Equal when spoken to the same way; the binding is a cache.
impl PartialEq for TargetTransport {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Eq for TargetTransport {}

// === impl Transport ===

impl Transport {
    /// A plain-HTTP/1.1 target: requests without a body over the lean exchange, the rest
    /// over `pooled`, upgrades over `upgrades`.
    pub(super) fn plain_http1(lean: Arc<LeanPool>, pooled: Arc<Http1Pool>, upgrades: Arc<Http1Pool>) -> Self {
        Transport {
            bodiless: Bodiless::Lean(lean),
            streaming: HyperClient::Pooled(pooled),
            upgrades: HyperClient::Pooled(upgrades),
        }
    }

    /// Every request over `client`, upgrades over `upgrades`.
    pub(super) fn hyper(client: HyperClient, upgrades: HyperClient) -> Self {
        Transport { bodiless: Bodiless::Hyper(client.clone()), streaming: client, upgrades }
    }

    /// Sends `request` to `target`. `last_chance`: no attempt follows, so the headers may be
    /// taken rather than copied. A connect failure hands the body back to `request` (or, when
    /// it cannot, says so with [`SendError::BodyLost`]).
    pub(super) async fn send(
        &self,
        target: &Target,
        request: &mut Outgoing<'_>,
        last_chance: bool,
    ) -> Result<Response<UpstreamBody>, SendError> {
        let client = match request.shape() {
            Shape::Upgrade => &self.upgrades,
            Shape::Streaming => &self.streaming,
            Shape::Bodiless => match &self.bodiless {
                Bodiless::Lean(lean) => return send_lean(lean, target, request).await,
                Bodiless::Hyper(client) => client,
            },
        };
        client.send(target, request, last_chance).await
    }
}

async fn send_lean(
    lean: &Arc<LeanPool>,
    target: &Target,
    request: &Outgoing<'_>,
) -> Result<Response<UpstreamBody>, SendError> {
    let lean_request = LeanRequest {
        method: &request.method,
        target: OriginForm { base: &target.path, rest: request.path.rest, query: request.path.query },
        host: &target.host,
        headers: &request.headers,
        asserted: &request.asserted,
    };
    let sent = lean.send(&target.authority, lean_request).await;
    sent.map(|response| response.map(UpstreamBody::from)).map_err(SendError::Lean)
}

// === impl HyperClient ===

impl HyperClient {
    async fn send(
        &self,
        target: &Target,
        request: &mut Outgoing<'_>,
        last_chance: bool,
    ) -> Result<Response<UpstreamBody>, SendError> {
        let (rest, query) = (request.path.rest, request.path.query);
        let uri = match self {
            // A connection made to the target: origin form, with `Host`.
            HyperClient::Pooled(_) => target.origin_uri_for(rest, query),
            HyperClient::General(_) => target.uri_for(rest, query),
        };
        let uri = uri.map_err(SendError::Uri)?;
        let (body, returned) = request.attempt_body();
        let mut hyper_request = request.hyper_request(uri, body, last_chance);
        let sent = match self {
            HyperClient::Pooled(pool) => {
                hyper_request.headers_mut().insert(HOST, target.host.clone());
                // Boxed: its connect and handshake futures would otherwise enlarge every
                // request's future, lean ones included.
                Box::pin(pool.send(&target.authority, hyper_request)).await.map_err(SendError::Pool)
            }
            HyperClient::General(client) => client.request(hyper_request).await.map_err(SendError::General),
        };
        match sent {
            Ok(response) => Ok(response.map(UpstreamBody::from)),
            Err(error) if error.is_connect() => Err(request.reclaim(error, returned)),
            Err(error) => Err(error),
        }
    }
}

// === impl Outgoing ===

impl Outgoing<'_> {
    /// `true` when the request may be sent again: its body is known to be empty.
    pub(super) fn is_replayable(&self) -> bool {
        self.body.is_none()
    }

    fn shape(&self) -> Shape {
        match (self.upgrade, self.body.is_some()) {
            (true, _) => Shape::Upgrade,
            (false, true) => Shape::Streaming,
            (false, false) => Shape::Bodiless,
        }
    }

    /// This attempt's body, and where it comes back when the attempt never reads it.
    fn attempt_body(&mut self) -> (AttemptBody, Option<oneshot::Receiver<RequestBody>>) {
        match self.body.take() {
            Some(body) => {
                let (body, returned) = AttemptBody::once(body);
                (body, Some(returned))
            }
            None => (AttemptBody::empty(), None),
        }
    }

    fn hyper_request(&mut self, uri: Uri, body: AttemptBody, last_chance: bool) -> Request<AttemptBody> {
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        *headers = match last_chance {
            true => std::mem::take(&mut self.headers),
            false => self.headers.clone(),
        };
        self.asserted.append_to(headers);
        request
    }

    /// A connect failure sent nothing: the body, if any, comes back for the next target.
    fn reclaim(&mut self, error: SendError, returned: Option<oneshot::Receiver<RequestBody>>) -> SendError {
        let Some(mut returned) = returned else { return error };
        match returned.try_recv() {
            Ok(body) => {
                self.body = Some(body);
                error
            }
            Err(_) => SendError::BodyLost(Box::new(error)),
        }
    }
}

// === impl SendError ===

impl SendError {
    /// Nothing was sent: the next target may be tried.
    pub(super) fn is_connect(&self) -> bool {
        match self {
            SendError::Lean(error) => error.is_connect(),
            SendError::Pool(error) => error.is_connect(),
            SendError::General(error) => error.is_connect(),
            SendError::Uri(_) => true,
            SendError::BodyLost(_) => false,
        }
    }

    /// The client's request body failed, not the upstream: a [`ClientBodyError`] is somewhere
    /// in the source chain (hyper wraps a body's error as the cause of its own).
    pub(super) fn is_client_body(&self) -> bool {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(error) = cause {
            if error.is::<ClientBodyError>() {
                return true;
            }
            cause = error.source();
        }
        false
    }
}
