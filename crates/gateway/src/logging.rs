use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use crate::config::{LogFormat, LogSettings};

/// Operational logs go to stderr (stdout carries the access log), at `[log] level`, or at
/// what `RUST_LOG` asks for when it is set to a valid, non-empty filter.
pub fn init(settings: &LogSettings) {
    let from_env = std::env::var("RUST_LOG").ok().filter(|value| !value.trim().is_empty());
    let filter =
        from_env.and_then(|value| EnvFilter::try_new(value).ok()).unwrap_or_else(|| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr.with_max_level(tracing::Level::TRACE));
    let installed = match settings.format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Err(error) = installed {
        eprintln!("tollgate: logging already initialised: {error}");
    }
}

/// One warning naming every `TOLLGATE_` variable that names no setting (operator.md: such
/// variables are injected by platforms, e.g. Kubernetes service links, and never stop the
/// gateway).
pub fn warn_ignored(variables: &[String]) {
    if !variables.is_empty() {
        let variables = variables.join(", ");
        tracing::warn!(%variables, "ignoring TOLLGATE_ environment variables that name no setting");
    }
}
