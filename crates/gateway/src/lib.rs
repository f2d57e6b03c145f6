//! The Tollgate gateway: command line, configuration, wiring of router, enforcer and
//! adapter, the admin listener, signals and graceful shutdown.

pub mod admin;
pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
pub mod logging;
pub mod process_metrics;
pub mod run;

/// Exit code for a bad command line or configuration (sysexits `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;
/// Exit code for a failure at run time.
pub const EXIT_FAILURE: u8 = 1;
