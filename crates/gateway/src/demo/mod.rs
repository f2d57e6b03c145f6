//! `tollgate demo`: the gateway with the sample configuration, plus the two things the sample
//! APIs refer to — an echo upstream and a token issuer (a key manager's JWKS) — all in one
//! process, then copy-paste `curl` commands showing a 401, a 200 and a 429.
//!
//! The demo only assembles a [`Config`](crate::config::Config), validates it as every configuration is validated,
//! and calls [`run::serve`], the same entry point as `tollgate run`: nothing on the request
//! path knows it is a demo. What it changes in the configuration:
//! - `[tls]` points at a CA-signed certificate it generates in a temporary directory, so the
//!   printed commands can use `--cacert` instead of `-k`;
//! - the upstream (`--upstream-port`, default 9080) and issuer (`--issuer-port`, default
//!   9081) bind 127.0.0.1; with other ports (0 = any free port) the API documents are served
//!   from a copy whose `http://127.0.0.1:9080` / `:9081` addresses are rewritten;
//! - a listener or admin address with port 0 (e.g. `TOLLGATE_ADMIN__ADDRESS=127.0.0.1:0`) is
//!   resolved to a free port first, because the printed commands need the real port.

mod dir;
mod echo;
mod guide;
mod http;
mod issuer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;

pub use dir::{DemoCerts, DemoDir};
pub use echo::EchoUpstream;
pub use guide::{GUIDE_END, GUIDE_START, Guide};
pub use issuer::{AUDIENCE, CONSUMER_KEY, DemoIssuer};

use crate::cli::DemoArgs;
use tollgate_adapter::SourceKind;

use crate::config::{Loaded, TlsConfig, validate};
use crate::run::{self, Fatal};

/// The upstream address the sample APIs name (config/apis/petstore.yaml).
pub const SAMPLE_UPSTREAM: &str = "http://127.0.0.1:9080";
/// The issuer the sample key manager names (config/apis/demo-identity.yaml).
pub const SAMPLE_ISSUER: &str = "http://127.0.0.1:9081";

/// Why the demo cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot listen on {addr}: {source} (choose another port, 0 = any free port)")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot write or read {path}: {source}")]
    Files { path: PathBuf, source: std::io::Error },
    #[error("cannot generate keys or certificates: {0}")]
    Key(String),
}

/// Runs the demo until SIGTERM or SIGINT; returns the process exit code.
pub fn main(loaded: Loaded, args: &DemoArgs) -> ExitCode {
    run::block_on_to_exit(run(loaded, args))
}

/// Starts the upstream and the issuer, serves the gateway, prints the guide once it is ready.
pub async fn run(loaded: Loaded, args: &DemoArgs) -> Result<(), Fatal> {
    let mut config = loaded.config;
    let upstream = bind(args.upstream_port).await?;
    let issuer_listener = bind(args.issuer_port).await?;
    let issuer = DemoIssuer::generate(local_addr(&issuer_listener)?)?;
    let dir = DemoDir::create()?;
    let certs = dir.certificates(Some(config.listener.https.ip()))?;
    config.tls = Some(tls_config(&certs)?);
    let upstream_url = format!("http://{}", local_addr(&upstream)?);
    let rewrites = [(SAMPLE_UPSTREAM, upstream_url.as_str()), (SAMPLE_ISSUER, issuer.issuer())];
    let source = (config.source.kind == SourceKind::File).then_some(config.source.path.as_path());
    config.source.path = dir.apis(source, &rewrites)?;
    config.source.kind = SourceKind::File;
    let token = issuer.mint(issuer::unix_now())?;
    let apis = config.source.path.clone();
    let (ca, issuer_url) = (certs.ca.clone(), issuer.issuer().to_owned());
    tracing::info!(apis = %apis.display(), upstream = %upstream_url, issuer = %issuer_url, "demo starting");
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel::<run::Bound>();
    let helpers = [
        tokio::spawn(EchoUpstream.serve(upstream)),
        tokio::spawn(issuer.serve(issuer_listener)),
        tokio::spawn(async move {
            let Ok(bound) = bound_rx.await else { return };
            let guide = Guide::new(&apis, bound.https, bound.admin, &issuer_url, &ca, token);
            print_when_ready(guide, bound.admin).await;
        }),
    ];
    let settings = validate(&config, &loaded.origins).map_err(|errors| Fatal::Config(errors.to_string()))?;
    let loaded = Loaded { config, settings, ..loaded };
    let served = run::serve_with(loaded, run::shutdown_signal(), |bound| {
        let _ = bound_tx.send(bound);
    })
    .await;
    helpers.iter().for_each(tokio::task::JoinHandle::abort);
    drop(dir);
    served
}

/// Prints the guide on stdout once `/health/ready` answers 200.
async fn print_when_ready(guide: Guide, admin: SocketAddr) {
    if !http::wait_ready(admin, Duration::from_secs(60)).await {
        tracing::warn!(%admin, "the gateway did not become ready; not printing the demo commands");
        return;
    }
    let text = format!("\n{guide}\n");
    let printed = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush())
    })
    .await;
    if !matches!(printed, Ok(Ok(()))) {
        tracing::warn!("cannot print the demo commands on stdout");
    }
}

/// The `[tls]` section for the generated certificate. Built through serde so that keys
/// added to [`TlsConfig`] later take their defaults here too.
fn tls_config(certs: &DemoCerts) -> Result<TlsConfig, Fatal> {
    let section = serde_json::json!({ "cert": certs.cert, "key": certs.key });
    serde_json::from_value(section).map_err(|e| Fatal::Runtime(format!("demo tls settings: {e}")))
}

async fn bind(port: u16) -> Result<TcpListener, DemoError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpListener::bind(addr).await.map_err(|source| DemoError::Bind { addr, source })
}

fn local_addr(listener: &TcpListener) -> Result<SocketAddr, DemoError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    listener.local_addr().map_err(|source| DemoError::Bind { addr, source })
}

// === impl DemoError ===

impl From<DemoError> for Fatal {
    fn from(error: DemoError) -> Self {
        match error {
            DemoError::Bind { .. } | DemoError::Files { .. } | DemoError::Key(_) => Fatal::Runtime(error.to_string()),
        }
    }
}
