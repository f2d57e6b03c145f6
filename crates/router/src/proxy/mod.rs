//! Proxying to upstreams: one long-lived [`Upstreams`] holds the pooled HTTP clients (a lean
//! HTTP/1.1 pool of our own for plain-HTTP targets, hyper-util's client for TLS and HTTP/2), and
//! [`Upstreams::forward`] sends a request to an [`Endpoint`](crate::api::Endpoint), trying its
//! targets in order (round robin or failover), retrying what is safe to retry, and bounding the
//! wait for the response head with the endpoint's timeout (the pipeline bounds the pauses of
//! the response body with the same timeout: [`UpstreamBody::limit_pauses`]).
//!
//! The request pipeline rewrites headers before and after with [`prepare_request_headers`] and
//! [`prepare_response_headers`] (client.md, "Forwarding"). Bodies stream both ways and are
//! never buffered, which is why a request with a body is sent once and never retried.
//! A WebSocket upgrade is proxied as one: on a `101` the two upgraded connections are spliced
//! by a background task.

mod attempt;
mod body;
mod error;
mod forward;
mod idle;
mod lean;
mod pause;
mod pool;
mod upgrade;
mod upstreams;

pub use body::{RequestBody, UpstreamBody, UpstreamBodyError};
pub use error::ProxyError;
pub use forward::{
    Asserted, ForwardHeaders, client_ip_value, prepare_request_headers, prepare_response_headers,
    prepare_trace_headers, replace_backend_jwt,
};
pub use lean::decode_response;
pub use pause::BodyPaused;
pub use upstreams::{Forwarded, UpstreamPath, UpstreamSettings, Upstreams, UpstreamsError};

#[cfg(test)]
mod tests;
