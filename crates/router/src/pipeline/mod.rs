//! The request pipeline: one function from a client request to a response, in the order of
//! DESIGN.md — snapshot, framing checks, normalised path, route, enforcement, endpoint, proxy.

mod cors;
mod credentials;
mod exchange;
mod request;
mod unread;

use std::sync::Arc;

use http::{HeaderName, Request, Response};
use hyper::body::Incoming;
use tollgate_enforcer::backend_jwt::{BackendJwtError, BackendJwtSigner};
use tollgate_enforcer::{Access, Admission, Enforcer, TokenError};

use crate::api::{Api, Endpoint};
use crate::body::ResponseBody;
use crate::failure::Failure;
use crate::metrics::RouterMetrics;
use crate::path::normalise;
use crate::proxy::{ForwardHeaders, Outbound, RequestBody, UpstreamPath, Upstreams};
use crate::route::{Route, RouteMatch};
use crate::trace::Tracer;
use crate::{AccessLog, Snapshot, SnapshotStore};

pub use exchange::Connection;
use exchange::Exchange;
pub use request::IDENTITY_HEADERS;
use unread::PendingBody;

/// Settings of the request path.
#[derive(Debug, Clone)]
pub struct PipelineSettings {
    /// Total size of the request headers above which the answer is 431 (default 64 KiB).
    pub max_header_bytes: usize,
    /// Request header fields above which the answer is 431 (default 100).
    pub max_header_count: usize,
}

/// Everything a request needs, shared by all connections.
#[derive(Debug)]
pub struct Pipeline {
    store: Arc<SnapshotStore>,
    enforcer: Arc<Enforcer>,
    upstreams: Arc<Upstreams>,
    metrics: RouterMetrics,
    access_log: Option<AccessLog>,
    settings: PipelineSettings,
    /// Set while `[backend_jwt]` is configured.
    backend_jwt: Option<Arc<BackendJwtSigner>>,
    tracer: Tracer,
}

// === impl Pipeline ===

impl Pipeline {
    pub fn new(
        store: Arc<SnapshotStore>,
        enforcer: Arc<Enforcer>,
        upstreams: Arc<Upstreams>,
        metrics: RouterMetrics,
        access_log: Option<AccessLog>,
        settings: PipelineSettings,
    ) -> Self {
        Pipeline {
            store,
            enforcer,
            upstreams,
            metrics,
            access_log,
            settings,
            backend_jwt: None,
            tracer: Tracer::propagating(),
        }
    }

    /// Sends backend JWTs signed by `signer` for the Apis that ask for them, and removes the
    /// client's copies of its header from every request.
    pub fn with_backend_jwt(mut self, signer: Arc<BackendJwtSigner>) -> Self {
        self.backend_jwt = Some(signer);
        self
    }

    /// Records and exports sampled requests with `tracer` (by default the context is only
    /// propagated).
    pub fn with_tracer(mut self, tracer: Tracer) -> Self {
        self.tracer = tracer;
        self
    }

    pub fn metrics(&self) -> &RouterMetrics {
        &self.metrics
    }

    /// Answers one request. Never fails: every problem becomes the contract's error response.
    pub async fn handle(&self, request: Request<Incoming>, connection: Connection) -> Response<ResponseBody> {
        let (parts, body) = request.into_parts();
        self.answer(Request::from_parts(parts, ()), Some(body), connection).await
    }

    /// Answers a request that has no body: the lean HTTP/1.1 server path serves only those.
    pub async fn handle_bodiless(&self, request: Request<()>, connection: Connection) -> Response<ResponseBody> {
        self.answer(request, None, connection).await
    }

    async fn answer(
        &self,
        request: Request<()>,
        body: Option<Incoming>,
        connection: Connection,
    ) -> Response<ResponseBody> {
        let mut body = PendingBody::new(&request, body);
        let mut exchange = Exchange::begin(&request, connection, self.access_log.is_some(), &self.tracer);
        let (response, answered_itself) = match self.serve(request, &mut body, &mut exchange).await {
            Ok(Served::Upstream(response)) => (response, false),
            Ok(Served::Gateway(response)) => (response, true),
            Err(failure) => {
                exchange.note_failure(&failure, &self.metrics);
                (failure.into_response(), true)
            }
        };
        let response = body.settle(response, answered_itself).await;
        exchange.finish(response, &self.metrics, self.access_log.as_ref(), &self.tracer)
    }

    /// The request's head; its body waits in `body` until it is forwarded.
    async fn serve(
        &self,
        request: Request<()>,
        body: &mut PendingBody,
        exchange: &mut Exchange,
    ) -> Result<Served, Failure> {
        request::check_framing(&request, exchange.connection(), &self.settings)?;
        let snapshot = self.store.load().ok_or(Failure::NotReady)?;
        // A cheap clone (shared bytes) so the normalised path may borrow it while the request moves on.
        let uri = request.uri().clone();
        let path = normalise(uri.path()).map_err(Failure::BadPath)?;
        let route = match snapshot.routes.find(exchange.host(), request.method(), &path) {
            RouteMatch::Found(route) => route,
            RouteMatch::MethodNotAllowed { api, allow } => {
                exchange.matched(api);
                let preflight = cors::preflight(api, &request).map(Served::Gateway);
                return preflight.ok_or(Failure::MethodNotAllowed { allow: allow.header_value() });
            }
            RouteMatch::NotFound => return Err(Failure::NoRoute),
        };
        exchange.routed(&route);
        if let Some(preflight) = cors::preflight(route.api, &request) {
            return Ok(Served::Gateway(preflight));
        }
        let admission = self.admit(&snapshot, &route, &request, exchange).await?;
        let endpoint = select_endpoint(route.api, &admission)?;
        let rest = &path[route.base_path.len()..];
        let origin = request.headers().get(http::header::ORIGIN).cloned();
        let query = credentials::forwarded_query(route.api, request.headers(), uri.query());
        let target_path = UpstreamPath { rest, query: query.as_deref() };
        let upstream_request = request.map(|()| body.forward());
        let mut response = self.forward(upstream_request, &route, endpoint, &target_path, &admission, exchange).await?;
        cors::decorate(route.api, origin.as_ref(), response.headers_mut());
        if let Some(quota) = &admission.quota {
            response.headers_mut().extend(quota.headers());
        }
        Ok(Served::Upstream(response))
    }

    async fn admit(
        &self,
        snapshot: &Snapshot,
        route: &Route<'_>,
        request: &Request<()>,
        exchange: &mut Exchange,
    ) -> Result<Admission, Failure> {
        let access = Access {
            api: &route.api.guard,
            operation: &route.operation.guard,
            presented: credentials::presented(
                route.api,
                request.headers(),
                request.uri().query(),
                exchange.client_certificate(),
            ),
            client_ip: exchange.client_ip(),
            endpoints: route.api.endpoints.key_types(),
        };
        let admission = self.enforcer.admit(&snapshot.enforcement, access).await?;
        exchange.admitted(&admission);
        Ok(admission)
    }

    /// The proxy's one call: it rewrites the headers both ways, tries the targets and bounds
    /// the waits (see [`Upstreams::forward`]).
    async fn forward(
        &self,
        request: Request<RequestBody>,
        route: &Route<'_>,
        endpoint: &Endpoint,
        target_path: &UpstreamPath<'_>,
        admission: &Admission,
        exchange: &mut Exchange,
    ) -> Result<Response<ResponseBody>, Failure> {
        let identity = request::identity_headers(admission.principal.as_ref());
        let jwt = backend_jwt(self.backend_jwt.as_deref(), route.api, admission).map_err(Failure::BackendJwt)?;
        let schemes = route.api.guard.schemes;
        let credential_header: &HeaderName = &route.api.auth_header;
        let (client, trace) = exchange.forwarding();
        let outbound = Outbound {
            endpoint,
            path: *target_path,
            headers: ForwardHeaders {
                credential_header: schemes.oauth2.then_some(credential_header),
                api_key_header: schemes.api_key.then_some(&route.api.api_key.header),
                identity: identity.as_slice(),
                backend_jwt: self.backend_jwt.as_ref().map(|signer| (signer.header(), jwt.as_ref())),
                ..client
            },
            sent: tokio::time::Instant::now(),
            body_timeouts: self.metrics.upstream_body_timeouts(route.api),
        };
        let sent = outbound.sent;
        let result = self.upstreams.forward(request, outbound, trace).await;
        exchange.upstream_done(sent.elapsed(), &self.metrics, result.as_ref().err());
        let forwarded = result.map_err(Failure::Upstream)?;
        exchange.upstream(forwarded.target);
        Ok(forwarded.response.map(ResponseBody::upstream))
    }
}

/// A response and who made it.
enum Served {
    /// The upstream's answer.
    Upstream(Response<ResponseBody>),
    /// The gateway answered itself without forwarding (a CORS preflight).
    Gateway(Response<ResponseBody>),
}

/// The backend JWT of an authenticated request to an Api with `backendJwt`; none otherwise
/// (an unsecured operation has no caller to describe). Without a signer such an Api is refused
/// by validation; should one get here anyway, it is not forwarded.
fn backend_jwt(
    signer: Option<&BackendJwtSigner>,
    api: &Api,
    admission: &Admission,
) -> Result<Option<http::HeaderValue>, BackendJwtError> {
    match (&admission.principal, api.backend_jwt, signer) {
        (Some(principal), true, Some(signer)) => signer.assertion(principal, &api.guard).map(Some),
        (Some(_), true, None) => Err(BackendJwtError::NotConfigured),
        (Some(_) | None, _, _) => Ok(None),
    }
}

/// Production or sandbox by the credential's key type; an unauthenticated request uses
/// production, or sandbox when the API has only that.
fn select_endpoint<'a>(api: &'a Api, admission: &Admission) -> Result<&'a Endpoint, Failure> {
    use tollgate_enforcer::model::KeyType;
    let endpoints = &api.endpoints;
    let chosen = match admission.principal.as_ref().map(|p| p.key_type) {
        Some(KeyType::Production) => endpoints.production.as_ref(),
        Some(KeyType::Sandbox) => endpoints.sandbox.as_ref(),
        None => endpoints.production.as_ref().or(endpoints.sandbox.as_ref()),
    };
    chosen.map(|e| &**e).ok_or(Failure::Rejected(TokenError::NoEndpointForKeyType.into()))
}
