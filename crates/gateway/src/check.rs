//! `tollgate check`: validates the configuration and the file-source definitions, prints
//! what would be served, and exits 0, or prints every error and exits 1.

use std::process::ExitCode;

use tollgate_adapter::check_directory;
use tollgate_router::tls::{Tls, TlsMetrics};

use crate::EXIT_FAILURE;
use crate::config::{Config, SourceKind};

#[allow(clippy::print_stdout)] // printing the report is this command's job
pub fn main(config: &Config) -> ExitCode {
    let mut errors = Vec::new();
    if config.tls.is_some()
        && let Err(error) = TlsMetrics::unregistered().map_err(|e| e.to_string()).and_then(|metrics| {
            Tls::load(crate::run::tls_settings(config), metrics).map(drop).map_err(|e| e.to_string())
        })
    {
        errors.push(format!("tls: {error}"));
    }
    match config.source.kind {
        SourceKind::File => {
            let report = check_directory(&config.source.path);
            println!("{report}");
            errors.extend(report.errors.iter().map(|e| format!("{} {}: {}", e.entity.as_str(), e.id, e.error)));
        }
        SourceKind::ControlPlane => println!("source: control plane at {} (not contacted by check)", config.source.url),
    }
    if errors.is_empty() {
        println!("ok");
        return ExitCode::SUCCESS;
    }
    for error in &errors {
        println!("error: {error}");
    }
    ExitCode::from(EXIT_FAILURE)
}
