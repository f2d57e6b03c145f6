use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use crate::config::{LogFormat, LogSettings};

/// rustls warns about what a peer sent (an IP address as SNI, a fatal alert it is about to
/// send, ...): any client can make it log, once per handshake. wrk and every client that
/// connects by IP address sent one warning line per connection, a write to stderr and a
/// formatted line per handshake. The gateway already counts failed handshakes
/// (`tollgate_connection_errors_total{kind="handshake"}`) and logs each at debug, so rustls is
/// kept to errors unless the operator's filter names it.
const QUIET_TLS_LIBRARY: &str = "rustls=error";

/// Operational logs go to stderr (stdout carries the access log), at `[log] level`, or at
/// what `RUST_LOG` asks for when it is set to a valid, non-empty filter.
pub fn init(settings: &LogSettings) {
    let from_env = std::env::var("RUST_LOG").ok().filter(|value| !value.trim().is_empty());
    let filter = from_env
        .and_then(|value| filter(&value))
        .unwrap_or_else(|| filter(&settings.level).unwrap_or_else(|| EnvFilter::new(&settings.level)));
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

/// The filter `directives` describe, with rustls kept to errors unless they name it; `None`
/// when they do not parse.
fn filter(directives: &str) -> Option<EnvFilter> {
    let quieted = match directives.contains("rustls") {
        true => directives.to_owned(),
        false => format!("{directives},{QUIET_TLS_LIBRARY}"),
    };
    EnvFilter::try_new(quieted).ok()
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

#[cfg(test)]
#[allow(clippy::expect_used)] // a test whose filter does not parse must fail loudly
mod tests {
    use tollgate_tests::CapturedLogs;

    use super::*;

    /// The lines written at `level` for a warning from rustls's handshake parser (what it logs
    /// for a client sending an IP address as SNI) and one from the gateway.
    fn logged(level: &str) -> String {
        let captured = CapturedLogs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter(level).expect("a valid filter"))
            .with_writer(captured.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "rustls::msgs::handshake", "Illegal SNI extension");
            tracing::warn!(target: "tollgate_router::server", "gateway warning");
        });
        captured.text()
    }

    #[test]
    fn client_triggered_rustls_warnings_are_not_logged_by_default() {
        for level in ["info", "warn", "debug", "info,tollgate_router=debug"] {
            let lines = logged(level);
            assert!(!lines.contains("Illegal SNI"), "{level}: {lines}");
            assert!(lines.contains("gateway warning"), "{level}: {lines}");
        }
    }

    #[test]
    fn a_filter_naming_rustls_gets_its_warnings() {
        for level in ["info,rustls=warn", "rustls=debug,info"] {
            assert!(logged(level).contains("Illegal SNI"), "{level}");
        }
    }

    #[test]
    fn an_invalid_filter_is_still_refused() {
        assert!(filter("info,=[").is_none());
    }
}
