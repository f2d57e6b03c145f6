use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Tollgate: an API gateway data plane (TLS, routing, JWT, subscriptions, rate limits).
#[derive(Debug, Parser)]
#[command(name = "tollgate", version, about)]
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
}
