use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Tollgate, an API gateway data plane: it terminates TLS, routes each request to a deployed
/// API, checks the caller's token, subscription and rate limits, and proxies it upstream.
///
/// API definitions come from a directory of files or from a control plane; `tollgate check`
/// validates a configuration without serving it. Exit codes: 0 clean shutdown, 1 runtime
/// failure (check: a definition is rejected), 64 bad command line or configuration.
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about, long_about)]
pub struct Cli {
    /// The configuration file (default: config/gateway.toml when present, else built-in defaults).
    #[arg(short, long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (the default).
    Run,
    /// Validate the configuration and the file-source definitions, print what would be served.
    Check,
    /// Run the gateway with the sample APIs, a local token issuer and an echo upstream, and
    /// print curl commands that show a 401, a 200 and a 429.
    Demo(DemoArgs),
}

/// Where `tollgate demo` runs its helpers (on 127.0.0.1).
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Port of the echo upstream; the sample APIs name 9080 (0 = any free port, the APIs are
    /// then served from a rewritten copy).
    #[arg(long, default_value_t = 9080)]
    pub upstream_port: u16,
    /// Port of the token issuer (JWKS at /jwks, a fresh token at /token); the sample key
    /// manager names 9081 (0 = any free port).
    #[arg(long, default_value_t = 9081)]
    pub issuer_port: u16,
}
