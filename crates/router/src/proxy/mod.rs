//! Proxying to upstreams: one long-lived [`Upstreams`] holds the pooled HTTP clients (a lean
//! HTTP/1.1 exchange and pool of our own for plain-HTTP targets, hyper-util's client for TLS
//! and HTTP/2), and [`Upstreams::forward`] is the request pipeline's one call: it rewrites the
//! request's headers for the upstream ([`prepare_request_headers`], client.md "Forwarding"),
//! sends it to an [`Endpoint`](crate::api::Endpoint), trying its targets in order (round robin
//! or failover), retrying what is safe to retry, bounds the wait for the response head and
//! then each pause of the response body with the endpoint's timeout, and rewrites the
//! response's headers ([`prepare_response_headers`]).
//!
//! Three layers: `upstreams` (the one call and its header protocol), `attempt` (target
//! cycling, retries, the deadline, what each outcome means), and `transport` (how one target
//! is reached: chosen when its endpoint is built, behind one `send`), over the clients of
//! `clients`, `lean` and `pool`. Bodies stream both ways and are never buffered, which is why
//! a request with a body is sent once and never retried. A WebSocket upgrade is proxied as
//! one: on a `101` the two upgraded connections are spliced by a background task.

mod asserted;
mod attempt;
mod body;
mod clients;
mod error;
mod forward;
mod idle;
mod lean;
mod pause;
mod pool;
mod transport;
mod upgrade;
mod upstreams;

pub use asserted::Asserted;
pub use body::{RequestBody, UpstreamBody, UpstreamBodyError};
pub use error::ProxyError;
#[cfg(test)]
use forward::replace_backend_jwt;
pub use forward::{ForwardHeaders, client_ip_value, prepare_request_headers, prepare_response_headers};
pub use lean::decode_response;
pub use pause::BodyPaused;
pub(crate) use transport::TargetTransport;
#[cfg(test)]
pub(crate) use transport::TargetWire;
pub use upstreams::{Forwarded, Outbound, UpstreamPath, UpstreamSettings, Upstreams, UpstreamsError};

#[cfg(test)]
mod tests;
