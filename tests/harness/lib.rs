//! End-to-end test harness for Tollgate: real processes, real sockets on `127.0.0.1:0`,
//! real TLS. Builder-style pieces (STYLE.md rule 11):
//! - [`Pki`]: a test CA issuing server and client certificates;
//! - [`Upstream`]: an HTTP upstream that echoes what it received (or misbehaves on purpose);
//! - [`GatewayProcess`]: the real `tollgate` binary with a generated configuration, its bound
//!   addresses read from its log, its stdout/stderr captured;
//! - [`Issuer`]: a token issuer serving its JWKS over HTTP, minting tokens with [`SigningKey`];
//! - [`Client`]: an HTTPS client (HTTP/1.1 or HTTP/2 by ALPN) that trusts the test CA and
//!   may present a client certificate.
//! - [`backend_jwt`]: signing keys for `[backend_jwt]`, and verification of the backend JWTs an
//!   upstream received against the gateway's `GET /jwks`.
//! - [`Collector`]: a fake OTLP/HTTP collector decoding the spans it receives.
//! - [`rabbitmq::RabbitMq`]: a real RabbitMQ standing in for WSO2 API-M's event hub.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a failed setup must panic loudly
#![allow(missing_debug_implementations)]

pub mod apim;
pub mod backend_jwt;
pub mod balancer;
mod captured_logs;
mod client;
mod collector;
pub mod control_plane;
mod gateway;
mod issuer;
mod pki;
pub mod rabbitmq;
pub mod redis;
mod upstream;

pub use captured_logs::CapturedLogs;
pub use client::{Client, ClientAuth, ClientBody, Conn, Reply, empty, fetch_server_certificate_pem, full, tls_stream};
pub use collector::{Collector, CollectorMode, Span, hex, int_attribute, text_attribute};
pub use gateway::{GatewayProcess, GatewaySetup, Logs};
pub use issuer::{ApiManager, Issuer, SigningKey, high_s_twin, now};
pub use pki::{IssuedCert, Pki};
pub use upstream::{Echo, Upstream, UpstreamBehavior, fnv, pattern_fnv};

/// Installs the process-wide rustls crypto provider once (aws-lc-rs), as the gateway does.
pub fn install_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The `key=value` pairs of a URI query (a bare `key` has an empty value), for the test
/// servers' knobs.
pub(crate) fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    query.unwrap_or("").split('&').map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Waits until `condition` holds, checking every 20 ms, at most `within`; returns whether it did.
/// For observable effects of asynchronous work (a reload, a sync) — never for timing assertions.
pub async fn eventually(within: std::time::Duration, mut condition: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
