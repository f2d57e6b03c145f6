//! `tollgate check`: the configuration has passed the same validation a run uses (a config
//! error exits 64 before this runs, as a run would); this prints what would be served and
//! exits 0, or prints every rejected definition and exits 1 (a run would serve the others).

use std::process::ExitCode;

use tollgate_adapter::check_directory;

use crate::EXIT_FAILURE;
use crate::config::{Loaded, SourceSettings};

#[allow(clippy::print_stdout)] // printing the report is this command's job
pub fn main(loaded: &Loaded) -> ExitCode {
    let mut errors = Vec::new();
    match &loaded.settings.source {
        SourceSettings::File { path } => {
            let report = check_directory(path, loaded.settings.validation());
            println!("{report}");
            errors.extend(report.errors.iter().map(|e| format!("{} {}: {}", e.entity.as_str(), e.id, e.error)));
        }
        SourceSettings::ControlPlane(settings) => {
            println!("source: control plane at {} (not contacted by check)", settings.url);
        }
        SourceSettings::Wso2Apim(settings) => {
            println!("source: WSO2 API Manager at {} (not contacted by check)", settings.url);
        }
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
