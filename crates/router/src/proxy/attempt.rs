use std::ptr;

use http::header::HOST;
use http::uri::Scheme;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use hyper::upgrade::OnUpgrade;
use hyper_util::client::legacy;
use tokio::sync::oneshot;

use super::body::{AttemptBody, ClientBodyError, RequestBody, UpstreamBody};
use super::error::{Cause, ProxyError};
use super::forward::{Asserted, cancel_upgrade, is_websocket_upgrade};
use super::lean::{LeanError, LeanRequest, OriginForm};
use super::pool::PoolError;
use super::upgrade;
use super::upstreams::{Forwarded, UpstreamClients, UpstreamPath};
use crate::api::{Endpoint, Target};
use crate::trace::{Attempt, RequestTrace, TRACEPARENT};

/// One request's way through an endpoint's targets: attempts, retries, and the body that
/// may be sent only once.
pub(super) struct Exchange<'e> {
    endpoint: &'e Endpoint,
    path: UpstreamPath<'e>,
    method: Method,
    headers: HeaderMap,
    /// Sent after `headers`.
    asserted: Asserted,
    /// The body still to send: `None` when it is known to be empty (every attempt then sends
    /// none), and between an attempt taking it and a connect failure handing it back.
    body: Option<RequestBody>,
    /// Retries left; 0 for requests that must not be retried.
    retries_left: u8,
    attempts: u8,
    /// The client side of a WebSocket upgrade.
    on_upgrade: Option<OnUpgrade>,
}

/// How one attempt ended.
enum Outcome {
    Answered(Response<UpstreamBody>),
    /// The target could not be connected to; the next one may be tried.
    Refused(Cause),
    /// A failure or status (the upstream's, when it answered) that this request may retry on
    /// the next target.
    Retry(Cause, Option<StatusCode>),
    Failed(ProxyError, Cause),
}

/// The targets in attempt order, cycled for retries, skipping those that refused a connection.
struct TargetCycle<'e> {
    targets: &'e [Target],
    start: usize,
    turn: usize,
    /// Targets that refused a connection (allocated on the first refusal).
    refused: Vec<bool>,
    refused_count: usize,
}

// === impl Exchange ===

impl<'e> Exchange<'e> {
    pub(super) fn new(
        endpoint: &'e Endpoint,
        request: Request<RequestBody>,
        path: UpstreamPath<'e>,
        asserted: Asserted,
    ) -> Self {
        let (mut parts, body) = request.into_parts();
        let upgrade = is_websocket_upgrade(parts.version, &parts.headers);
        let on_upgrade = upgrade.then(|| parts.extensions.remove::<OnUpgrade>()).flatten();
        if upgrade && on_upgrade.is_none() {
            // Without the client's `OnUpgrade` the upgrade could not be completed: don't ask for it.
            cancel_upgrade(&mut parts.headers);
        }
        let replayable = body.is_known_empty();
        let retries_left = match replayable && is_idempotent(&parts.method) {
            true => endpoint.settings.retries.count,
            false => 0,
        };
        let body = (!replayable).then_some(body);
        Exchange {
            endpoint,
            path,
            method: parts.method,
            headers: parts.headers,
            asserted,
            body,
            retries_left,
            attempts: 0,
            on_upgrade,
        }
    }

    pub(super) fn is_upgrade(&self) -> bool {
        self.on_upgrade.is_some()
    }

    /// Tries the targets until one answers, or until none is left to try.
    pub(super) async fn run(
        &mut self,
        client: &UpstreamClients,
        trace: &mut RequestTrace,
    ) -> Result<Forwarded, ProxyError> {
        let mut targets = TargetCycle::new(self.endpoint);
        let mut last_refusal = None;
        while let Some((index, target)) = targets.next() {
            self.attempts = self.attempts.saturating_add(1);
            let last_chance = self.retries_left == 0 && !targets.has_another();
            let traced = self.start_attempt(trace, target);
            let outcome = self.attempt(client, target, last_chance).await;
            trace.end_attempt(&traced, outcome.status());
            match outcome {
                Outcome::Answered(response) => {
                    return Ok(Forwarded { response, target: target.url.clone(), attempts: self.attempts });
                }
                Outcome::Refused(cause) => {
                    tracing::debug!(upstream = %target.url, %cause, "upstream target refused the connection");
                    targets.refuse(index);
                    last_refusal = Some(cause);
                }
                Outcome::Retry(cause, _) => {
                    tracing::debug!(upstream = %target.url, %cause, "retrying on the next upstream target");
                    self.retries_left = self.retries_left.saturating_sub(1);
                }
                Outcome::Failed(error, cause) => {
                    tracing::debug!(upstream = %target.url, %cause, kind = error.kind(), "upstream request failed");
                    return Err(error);
                }
            }
        }
        if let Some(cause) = last_refusal {
            tracing::debug!(%cause, "no upstream target could be connected to");
        }
        Err(ProxyError::Connect)
    }

    /// On a `101` answer to a WebSocket upgrade, splices the two connections.
    pub(super) fn complete_upgrade(&mut self, response: &mut Response<UpstreamBody>) {
        if response.status() == StatusCode::SWITCHING_PROTOCOLS
            && let Some(client) = self.on_upgrade.take()
        {
            upgrade::splice(client, response);
        }
    }

    /// This attempt's `traceparent`: a new span of `trace`, the parent of the upstream's.
    fn start_attempt(&mut self, trace: &mut RequestTrace, target: &Target) -> Attempt {
        let port = target.authority.port_u16().unwrap_or(if target.scheme == Scheme::HTTPS { 443 } else { 80 });
        let (attempt, traceparent) = trace.start_attempt(target.authority.host(), port);
        self.asserted.set(TRACEPARENT, traceparent);
        attempt
    }

    async fn attempt(&mut self, clients: &UpstreamClients, target: &Target, last_chance: bool) -> Outcome {
        let plain = target.scheme == Scheme::HTTP;
        if let Some(lean) = clients.lean.as_ref().filter(|_| plain && self.body.is_none() && self.on_upgrade.is_none())
        {
            let request = LeanRequest {
                method: &self.method,
                target: OriginForm { base: &target.path, rest: self.path.rest, query: self.path.query },
                host: &target.host,
                headers: &self.headers,
                asserted: &self.asserted,
            };
            let sent = lean.send(&target.authority, request).await;
            return self.outcome(sent.map(|response| response.map(UpstreamBody::from)).map_err(SendError::Lean), None);
        }
        let pool = clients.http1.as_ref().filter(|_| plain);
        let uri = match pool {
            Some(_) => target.origin_uri_for(self.path.rest, self.path.query),
            None => target.uri_for(self.path.rest, self.path.query),
        };
        let uri = match uri {
            Ok(uri) => uri,
            Err(error) => return Outcome::Refused(Cause::new(error)),
        };
        let (body, returned) = match self.body.take() {
            Some(body) => {
                let (body, returned) = AttemptBody::once(body);
                (body, Some(returned))
            }
            None => (AttemptBody::empty(), None),
        };
        let mut request = self.request(uri, body, last_chance);
        let sent = match pool {
            Some(pool) => {
                request.headers_mut().insert(HOST, target.host.clone());
                // Boxed: its connect and handshake futures would otherwise enlarge every
                // request's future, lean ones included.
                Box::pin(pool.send(&target.authority, request)).await.map_err(SendError::Pool)
            }
            None => clients.general.request(request).await.map_err(SendError::General),
        };
        self.outcome(sent.map(|response| response.map(UpstreamBody::from)), returned)
    }

    fn outcome(
        &mut self,
        sent: Result<Response<UpstreamBody>, SendError>,
        returned: Option<oneshot::Receiver<RequestBody>>,
    ) -> Outcome {
        match sent {
            Ok(response) => self.answered(response),
            Err(error) if error.is_connect() => self.refused(error, returned),
            Err(error) if error.is_client_body() => Outcome::Failed(ProxyError::ClientBody, Cause::new(error)),
            Err(error) if self.retries_left > 0 => Outcome::Retry(Cause::new(error), None),
            Err(error) => Outcome::Failed(ProxyError::Reset, Cause::new(error)),
        }
    }

    fn request(&mut self, uri: Uri, body: AttemptBody, last_chance: bool) -> Request<AttemptBody> {
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        // The last possible attempt takes the headers rather than copying them.
        let headers = request.headers_mut();
        *headers = match last_chance {
            true => std::mem::take(&mut self.headers),
            false => self.headers.clone(),
        };
        self.asserted.append_to(headers);
        request
    }

    fn answered(&self, response: Response<UpstreamBody>) -> Outcome {
        let status = response.status();
        match self.retries_left > 0 && self.endpoint.settings.retries.status_codes.contains(&status) {
            true => Outcome::Retry(Cause::new(format!("upstream answered {status}")), Some(status)),
            false => Outcome::Answered(response),
        }
    }

    /// A connect failure sent nothing: the body, if any, comes back for the next target.
    fn refused(&mut self, error: SendError, returned: Option<oneshot::Receiver<RequestBody>>) -> Outcome {
        if let Some(mut returned) = returned {
            match returned.try_recv() {
                Ok(body) => self.body = Some(body),
                Err(_) => return Outcome::Failed(ProxyError::Connect, Cause::new(error)),
            }
        }
        Outcome::Refused(Cause::new(error))
    }
}

/// Why an attempt got no response, from either kind of client.
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error(transparent)]
    Pool(PoolError),
    #[error(transparent)]
    General(legacy::Error),
    #[error(transparent)]
    Lean(LeanError),
}

impl SendError {
    /// Nothing was sent: the next target may be tried.
    fn is_connect(&self) -> bool {
        match self {
            SendError::Pool(error) => error.is_connect(),
            SendError::General(error) => error.is_connect(),
            SendError::Lean(error) => error.is_connect(),
        }
    }

    /// The client's request body failed, not the upstream: a [`ClientBodyError`] is somewhere
    /// in the source chain (hyper wraps a body's error as the cause of its own).
    fn is_client_body(&self) -> bool {
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

fn is_idempotent(method: &Method) -> bool {
    [Method::GET, Method::HEAD, Method::OPTIONS, Method::PUT, Method::DELETE, Method::TRACE].contains(method)
}

// === impl Outcome ===

impl Outcome {
    /// The upstream's status, when it answered.
    fn status(&self) -> Option<u16> {
        match self {
            Outcome::Answered(response) => Some(response.status().as_u16()),
            Outcome::Retry(_, status) => status.map(|status| status.as_u16()),
            Outcome::Refused(_) | Outcome::Failed(..) => None,
        }
    }
}

// === impl TargetCycle ===

impl<'e> TargetCycle<'e> {
    fn new(endpoint: &'e Endpoint) -> Self {
        let targets = &endpoint.targets[..];
        // `attempt_order` rotates from the next round-robin position; the cycle keeps that start.
        let start = endpoint.attempt_order().next().and_then(|first| targets.iter().position(|t| ptr::eq(t, first)));
        TargetCycle { targets, start: start.unwrap_or(0), turn: 0, refused: Vec::new(), refused_count: 0 }
    }

    fn next(&mut self) -> Option<(usize, &'e Target)> {
        if self.refused_count >= self.targets.len() {
            return None;
        }
        loop {
            let index = (self.start + self.turn) % self.targets.len();
            self.turn += 1;
            if !self.refused.get(index).copied().unwrap_or(false) {
                return Some((index, &self.targets[index]));
            }
        }
    }

    fn refuse(&mut self, index: usize) {
        if self.refused.is_empty() {
            self.refused = vec![false; self.targets.len()];
        }
        if let Some(refused) = self.refused.get_mut(index).filter(|refused| !**refused) {
            *refused = true;
            self.refused_count += 1;
        }
    }

    /// `true` when a target besides the one just returned by `next` may still be tried.
    fn has_another(&self) -> bool {
        self.targets.len() - self.refused_count > 1
    }
}
