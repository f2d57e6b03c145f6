use std::ptr;

use http::uri::Scheme;
use http::{Method, Response, StatusCode};
use tokio::time::Instant;

use super::body::UpstreamBody;
use super::error::{Cause, ProxyError};
use super::transport::{Outgoing, SendError};
use super::upstreams::{Forwarded, Upstreams};
use crate::api::{Endpoint, Target};
use crate::trace::{Attempt, RequestTrace};

/// One request's attempts at an endpoint's targets: which target is next, whether a failure
/// may be retried, and the deadline for the response head. How each attempt is carried is
/// the target's [`Transport`](super::transport::Transport)'s business.
pub(super) struct Attempts<'e> {
    endpoint: &'e Endpoint,
    request: Outgoing<'e>,
    /// Retries left; 0 for requests that must not be retried.
    retries_left: u8,
    attempts: u8,
}

/// How one attempt ended.
#[expect(clippy::large_enum_variant, reason = "an answer is the common outcome: boxing it would allocate per request")]
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

// === impl Attempts ===

impl<'e> Attempts<'e> {
    pub(super) fn new(endpoint: &'e Endpoint, request: Outgoing<'e>) -> Self {
        let retries_left = match request.is_replayable() && is_idempotent(&request.method) {
            true => endpoint.settings.retries.count,
            false => 0,
        };
        Attempts { endpoint, request, retries_left, attempts: 0 }
    }

    /// Tries the targets until one answers, none is left to try, or `deadline` passes
    /// ([`ProxyError::Timeout`]).
    pub(super) async fn run(
        mut self,
        upstreams: &Upstreams,
        trace: &mut RequestTrace,
        deadline: Instant,
    ) -> Result<Forwarded, ProxyError> {
        match tokio::time::timeout_at(deadline, self.cycle(upstreams, trace)).await {
            Ok(forwarded) => forwarded,
            Err(_) => {
                tracing::debug!(timeout = ?self.endpoint.settings.timeout, "no upstream response within the endpoint timeout");
                Err(ProxyError::Timeout)
            }
        }
    }

    async fn cycle(&mut self, upstreams: &Upstreams, trace: &mut RequestTrace) -> Result<Forwarded, ProxyError> {
        let mut targets = TargetCycle::new(self.endpoint);
        let mut last_refusal = None;
        while let Some((index, target)) = targets.next() {
            self.attempts = self.attempts.saturating_add(1);
            let last_chance = self.retries_left == 0 && !targets.has_another();
            let traced = self.start_attempt(trace, target);
            let sent = upstreams.transport(target).send(target, &mut self.request, last_chance).await;
            let outcome = self.outcome(sent);
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

    /// This attempt's `traceparent`: a new span of `trace`, the parent of the upstream's.
    fn start_attempt(&mut self, trace: &mut RequestTrace, target: &Target) -> Attempt {
        let port = target.authority.port_u16().unwrap_or(if target.scheme == Scheme::HTTPS { 443 } else { 80 });
        let (attempt, traceparent) = trace.start_attempt(target.authority.host(), port);
        self.request.asserted.set_traceparent(traceparent);
        attempt
    }

    fn outcome(&self, sent: Result<Response<UpstreamBody>, SendError>) -> Outcome {
        match sent {
            Ok(response) => self.answered(response),
            Err(error @ SendError::BodyLost(_)) => Outcome::Failed(ProxyError::Connect, Cause::new(error)),
            Err(error) if error.is_connect() => Outcome::Refused(Cause::new(error)),
            Err(error) if error.is_client_body() => Outcome::Failed(ProxyError::ClientBody, Cause::new(error)),
            Err(error) if self.retries_left > 0 => Outcome::Retry(Cause::new(error), None),
            Err(error) => Outcome::Failed(ProxyError::Reset, Cause::new(error)),
        }
    }

    fn answered(&self, response: Response<UpstreamBody>) -> Outcome {
        let status = response.status();
        match self.retries_left > 0 && self.endpoint.settings.retries.status_codes.contains(&status) {
            true => Outcome::Retry(Cause::new(format!("upstream answered {status}")), Some(status)),
            false => Outcome::Answered(response),
        }
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
