//! End-to-end tests: the real `tollgate` binary, real sockets on 127.0.0.1:0, real TLS.
//! Each test starts its own gateway process and upstreams; nothing is shared between tests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed test setup must panic loudly

mod support;

mod auth;
mod cli;
mod configuration;
mod control_plane;
mod files;
mod files_wso2;
mod forwarding;
mod framing;
mod keep_alive;
mod lean_http1;
mod lifecycle;
mod operations;
mod rate_limits;
mod resilience;
mod routing;
mod stalls;
mod tls;
mod tracing;
mod wso2;
