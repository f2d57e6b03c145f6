//! The route table: which API and operation a request is for (client.md, Routing 1, 3, 4).
//!
//! Built once per snapshot from validated APIs, then read by every request with a pure
//! [`RouteTable::find`]: no allocation, no lock, no I/O. Matching happens in two steps, each
//! with a fixed, documented order:
//!
//! 1. **API**, by host and base path: a trie of base-path segments, walked once along the
//!    request path; the deepest node holding an API for the host wins.
//! 2. **Operation**, within that API only: its templates, sorted once by precedence (literal
//!    beats `{param}` beats `*`, segment by segment from the left), are tried in order.

mod allowed;
mod base_paths;
mod builder;
mod operations;

use std::fmt;
use std::sync::Arc;

use http::Method;

use self::base_paths::BasePaths;
use self::operations::{OperationMatch, Operations};
use crate::api::{Api, Operation};

pub use self::allowed::AllowedMethods;
pub use self::builder::{RouteConflict, RouteTableBuilder};

/// Every API of a snapshot, indexed for [`find`](Self::find). `Default` is the empty table.
pub struct RouteTable {
    entries: Box<[Entry]>,
    base_paths: BasePaths,
    /// Some API uses `mutualssl`: the TLS listener asks for client certificates.
    requests_client_certificates: bool,
}

/// The outcome of [`RouteTable::find`].
#[derive(Debug)]
pub enum RouteMatch<'a> {
    Found(Route<'a>),
    /// An operation of the selected API matches the path, but none accepts the method
    /// (405). `allow` is the union of the methods of the templates that match.
    MethodNotAllowed {
        api: &'a Arc<Api>,
        allow: AllowedMethods,
    },
    /// No API for this host and path, or the selected API has no operation for the rest of
    /// the path (404).
    NotFound,
}

/// A request's API and operation.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    pub api: &'a Arc<Api>,
    pub operation: &'a Operation,
    /// The matched base path, without a trailing `/` (empty for the root base path), so
    /// that `&path[base_path.len()..]` is the rest of the path that is forwarded upstream.
    pub base_path: &'a str,
}

/// One API and its operations sorted for matching.
#[derive(Debug)]
struct Entry {
    api: Arc<Api>,
    operations: Operations,
}

// === impl RouteTable ===

impl RouteTable {
    pub fn builder() -> RouteTableBuilder {
        RouteTableBuilder::default()
    }

    /// Finds the route of a request.
    ///
    /// `host`: the request host without port, ASCII-lowercased by the caller; `path`: the
    /// output of [`normalise`](crate::path::normalise). Selects the API with the longest base
    /// path that is a segment-wise prefix of `path` (`/shop` matches `/shop`, `/shop/`,
    /// `/shop/x`, never `/shopping`) among the APIs whose vhosts contain `host` and those with
    /// no vhosts. On an equal base path, the API naming the host wins over the any-host one
    /// (our decision: the contract only forbids two APIs sharing a base path on a shared vhost).
    /// The API is chosen by base path alone: when it has no operation for the rest of the
    /// path, the answer is `NotFound`, never a shorter base path.
    ///
    /// Within the API, a trailing `/` is optional and the rest `""` and `"/"` both mean the
    /// bare base path; `{param}` matches one non-empty segment, a final `*` any rest
    /// (also none). Among the operations whose template matches and whose verb accepts the
    /// method, the most specific template wins (literal, then `{param}`, then `*`, compared
    /// segment by segment from the left); on equal templates a named verb beats `*`, then the
    /// earlier operation wins. Matching is case-sensitive.
    pub fn find<'a>(&'a self, host: &str, method: &Method, path: &str) -> RouteMatch<'a> {
        let Some((index, base_path)) = self.base_paths.select(host, path) else {
            return RouteMatch::NotFound;
        };
        let (Some(entry), Some(rest)) = (self.entries.get(index), path.get(base_path.len()..)) else {
            return RouteMatch::NotFound;
        };
        match entry.operations.find(&entry.api.operations, method, rest) {
            OperationMatch::Found(operation) => RouteMatch::Found(Route { api: &entry.api, operation, base_path }),
            OperationMatch::MethodNotAllowed(allow) => RouteMatch::MethodNotAllowed { api: &entry.api, allow },
            OperationMatch::NotFound => RouteMatch::NotFound,
        }
    }

    /// The APIs, in insertion order.
    pub fn apis(&self) -> impl Iterator<Item = &Arc<Api>> {
        self.entries.iter().map(|entry| &entry.api)
    }

    /// Whether some API uses `mutualssl`, so that TLS clients must be asked for a certificate.
    pub fn requests_client_certificates(&self) -> bool {
        self.requests_client_certificates
    }

    /// The number of APIs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Default for RouteTable {
    fn default() -> Self {
        RouteTable::builder().build()
    }
}

impl fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteTable").field("apis", &self.entries.len()).finish_non_exhaustive()
    }
}

// === impl Entry ===

impl Entry {
    fn new(api: Arc<Api>) -> Self {
        let operations = Operations::new(&api.operations);
        Entry { api, operations }
    }
}

/// The segments of a normalised path, or of the rest of one: `""` and `"/"` have none, and
/// a trailing `/` adds none.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let path = path.strip_prefix('/').unwrap_or(path);
    (!path.is_empty()).then(|| path.split('/')).into_iter().flatten()
}

#[cfg(test)]
mod tests;
