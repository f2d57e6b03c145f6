//! Shared fixtures for the Tollgate benches: synthetic deployments shaped like real ones, and
//! the credential benches' common setup ([`credentials`]), and the gateway process the
//! end-to-end benches run ([`process`]).

pub mod credentials;
pub mod process;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use http::{HeaderName, Method};
use tollgate_enforcer::{ApiGuard, OperationGuard};
use tollgate_router::api::{Api, Endpoints, Operation, PathTemplate, Verb};
use tollgate_router::route::{RouteConflict, RouteTable};

/// Versions per service: API `i` is `/svc{i / VERSIONS}/v{i % VERSIONS}`.
pub const VERSIONS: usize = 4;

/// Every 10th API is served on one of these hosts only; the others on any host.
pub const HOSTS: [&str; 5] = ["a.example", "b.example", "c.example", "d.example", "e.example"];

/// The operations of every synthetic API: literals, params, a final `*` and an any-verb.
pub const OPERATIONS: [(&str, &str); 10] = [
    ("GET", "/items"),
    ("POST", "/items"),
    ("GET", "/items/{id}"),
    ("PUT", "/items/{id}"),
    ("DELETE", "/items/{id}"),
    ("GET", "/items/{id}/reviews/{reviewId}"),
    ("GET", "/items/featured"),
    ("GET", "/catalog/categories/{category}/products/{productId}"),
    ("GET", "/search/*"),
    ("*", "/admin/*"),
];

/// `count` APIs with distinct base paths: API `i` is served at `/svc{i / 4}/v{i % 4}` and,
/// for version 0 (the default version), also at `/svc{i / 4}`; every 10th API only on
/// `HOSTS[(i / 10) % 5]`.
pub fn synthetic_apis(count: usize) -> Vec<Arc<Api>> {
    (0..count).map(|i| Arc::new(synthetic_api(i))).collect()
}

/// API number `i` of [`synthetic_apis`].
pub fn synthetic_api(i: usize) -> Api {
    let (service, version) = (i / VERSIONS, i % VERSIONS);
    let base_path: Arc<str> = format!("/svc{service}/v{version}").into();
    let mut base_paths = vec![base_path];
    if version == 0 {
        base_paths.push(format!("/svc{service}").into());
    }
    let vhosts: Box<[Arc<str>]> =
        if i % 10 == 9 { Box::new([HOSTS[(i / 10) % HOSTS.len()].into()]) } else { Box::new([]) };
    let name: Arc<str> = format!("svc{service}").into();
    Api {
        guard: ApiGuard {
            id: format!("api-{i}").into(),
            name,
            version: format!("v{version}").into(),
            blocked: false,
            throttling_policy: None,
            schemes: Default::default(),
            base_paths: Box::new([]),
            client_certificates: Default::default(),
        },
        base_paths: base_paths.into(),
        vhosts,
        auth_header: HeaderName::from_static("authorization"),
        api_key: Default::default(),
        endpoints: Endpoints::default(),
        cors: None,
        backend_jwt: false,
        operations: OPERATIONS.iter().filter_map(|&(verb, target)| operation(verb, target)).collect(),
        metrics: Default::default(),
    }
}

/// A route table of `apis`.
pub fn route_table(apis: &[Arc<Api>]) -> Result<RouteTable, RouteConflict> {
    let mut builder = RouteTable::builder();
    for api in apis {
        builder.insert(api.clone())?;
    }
    Ok(builder.build())
}

fn operation(verb: &str, target: &str) -> Option<Operation> {
    let template = PathTemplate::parse(target).ok()?;
    let verb = match verb {
        "*" => Verb::Any,
        verb => Verb::One(Method::from_bytes(verb.as_bytes()).ok()?),
    };
    let resource = format!("{verb} {template}", verb = verb_name(&verb)).into();
    Some(Operation {
        template,
        verb,
        guard: OperationGuard { secured: true, scopes: Box::new([]), throttling_policy: None, resource },
    })
}

fn verb_name(verb: &Verb) -> &str {
    match verb {
        Verb::Any => "*",
        Verb::One(method) => method.as_str(),
    }
}

/// Polls a future once, for checks that never wait on I/O (key managers with PEM keys).
pub fn now_or_never<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a PEM key manager never waits"),
    }
}
