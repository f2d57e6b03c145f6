//! The Tollgate router: terminates TLS, matches each request to a deployed API on the
//! current [`Snapshot`], asks the enforcer, and proxies to the upstream.

pub mod api;
pub mod path;
pub mod proxy;
pub mod route;
mod snapshot;
pub mod tls;

pub use snapshot::{Snapshot, SnapshotStore};
