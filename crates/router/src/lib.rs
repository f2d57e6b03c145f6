//! The Tollgate router: terminates TLS, matches each request to a deployed API on the
//! current [`Snapshot`], asks the enforcer, and proxies to the upstream.
//!
//! Request path: [`server::Listener`] accepts and terminates TLS, hyper parses, the
//! [`pipeline::Pipeline`] loads the snapshot once, normalises the path ([`path`]), finds the
//! route ([`route::RouteTable`]), asks the enforcer, and forwards ([`proxy`]); every answer the
//! gateway makes itself comes from [`Failure`].

mod access_log;
pub mod api;
mod body;
mod failure;
pub mod file_events;
mod metrics;
pub mod path;
pub mod pipeline;
pub mod proxy;
pub mod route;
pub mod server;
mod snapshot;
pub mod tls;
pub mod trace;

pub use access_log::AccessLog;
pub use body::ResponseBody;
pub use failure::Failure;
pub use metrics::{ApiMetrics, ConnectionErrors, LATENCY_BUCKETS, RouterMetrics};
pub use snapshot::{Snapshot, SnapshotStore};
