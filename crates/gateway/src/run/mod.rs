//! Wiring: builds every part from the configuration, binds the listeners, serves until a
//! signal, then shuts down in the order operator.md gives.

mod backend_jwt_key;
mod settings;
mod view;
mod wso2_hub;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use prometheus::Registry;
use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tollgate_adapter::{AdapterMetrics, Applier, StatusCell, Wso2Status};
use tollgate_enforcer::backend_jwt::{BackendJwtSigner, SigningKey};
use tollgate_enforcer::clock::{SharedClock, SystemClock};
use tollgate_enforcer::{Enforcer, EnforcerMetrics};
use tollgate_router::pipeline::Pipeline;
use tollgate_router::proxy::Upstreams;
use tollgate_router::server::{Listener, Phase, ShutdownTrigger};
use tollgate_router::tls::{Tls, TlsMetrics};
use tollgate_router::trace::{Exporter, Tracer, TracingMetrics};
use tollgate_router::{AccessLog, RouterMetrics, SnapshotStore};

use self::settings::start_source;
use self::view::config_view;
use crate::admin::{Admin, Readiness};
use crate::config::{BackendJwtKeySettings, Loaded, Settings, read_backend_jwt_pem};
use crate::process_metrics::{ProcessMetrics, register_build_info};
use crate::{EXIT_FAILURE, EXIT_USAGE};

/// Why the gateway could not run.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    /// The configuration (or a file it names) cannot be used: exit 64.
    #[error("{0}")]
    Config(String),
    /// Something failed at run time (binding, the runtime itself): exit 1.
    #[error("{0}")]
    Runtime(String),
}

/// Runs the gateway to completion; returns the process exit code.
pub fn main(loaded: Loaded) -> ExitCode {
    block_on_to_exit(async { serve(loaded, shutdown_signal()).await })
}

/// Runs `task` (the gateway, or the demo around it) on the gateway's runtime and turns how
/// it ended into the process exit code.
pub(crate) fn block_on_to_exit(task: impl Future<Output = Result<(), Fatal>>) -> ExitCode {
    let result = match build_runtime() {
        Ok(runtime) => runtime.block_on(task),
        Err(error) => Err(Fatal::Runtime(format!("cannot start the runtime: {error}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fatal::Config(error)) => {
            tracing::error!(%error, "configuration error");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Fatal::Runtime(error)) => {
            tracing::error!(%error, "runtime failure");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// One worker thread (`TOKIO_WORKER_THREADS=1`, or a single CPU) gets tokio's current-thread
/// scheduler: the same behaviour without the work-stealing bookkeeping, which costs about a
/// microsecond per proxied request when there is nobody to steal from.
fn build_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let workers = std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|value| value.trim().parse::<usize>().ok())
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from));
    if workers == Some(1) {
        return tokio::runtime::Builder::new_current_thread().enable_all().build();
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("tollgate").build()
}

/// The parts of a running gateway.
struct Parts {
    registry: Registry,
    store: Arc<SnapshotStore>,
    status: StatusCell,
    pipeline: Arc<Pipeline>,
    tls: Tls,
    tls_metrics: TlsMetrics,
    /// Set while `[backend_jwt]` is configured (`GET /jwks`).
    backend_jwt: Option<Arc<BackendJwtSigner>>,
    background: Vec<tokio::task::JoinHandle<()>>,
    /// The `wso2-apim` source's hub, event and pull state, for `/config`.
    wso2: Option<Wso2Status>,
    /// Sends the spans still queued at shutdown.
    span_exporter: Option<Exporter>,
}

/// The addresses the gateway listens on (ports chosen by the system when configured as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub https: SocketAddr,
    pub http: Option<SocketAddr>,
    pub admin: SocketAddr,
}

/// Runs the gateway inside an existing runtime until `stop` resolves (normally a SIGTERM or
/// SIGINT, see [`shutdown_signal`]), then shuts down as operator.md describes.
pub async fn serve(loaded: Loaded, stop: impl Future<Output = Result<Signals, Fatal>>) -> Result<(), Fatal> {
    serve_with(loaded, stop, |_| {}).await
}

/// [`serve`], telling `bound` where the listeners are once they are bound.
pub async fn serve_with(
    loaded: Loaded,
    stop: impl Future<Output = Result<Signals, Fatal>>,
    bound: impl FnOnce(Bound),
) -> Result<(), Fatal> {
    let settings = &loaded.settings;
    let mut parts = build(settings).await?;
    let trigger = ShutdownTrigger::new(settings.shutdown_timeout);
    let readiness = Arc::new(Readiness::new(parts.store.clone(), trigger.subscribe()));
    let https = bind(settings.https).await?;
    let http = match settings.http {
        Some(address) => Some(bind(address).await?),
        None => None,
    };
    let admin_listener = bind(settings.admin).await?;
    bound(announce(&https, http.as_ref(), &admin_listener)?);
    let listener_settings = settings.listener.clone();
    let mut listeners = vec![Listener::https(https, parts.tls.acceptor(), parts.tls_metrics.clone())];
    listeners.extend(http.map(Listener::http));
    let serving: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            let (pipeline, settings, shutdown) =
                (parts.pipeline.clone(), listener_settings.clone(), trigger.subscribe());
            tokio::spawn(async move { listener.serve(pipeline, &settings, shutdown).await })
        })
        .collect();
    readiness.listeners_bound();
    let admin = Admin {
        registry: parts.registry.clone(),
        readiness,
        config_view: config_view(&parts, &loaded),
        jwks: parts.backend_jwt.clone(),
    };
    let admin_task = tokio::spawn(admin.serve(admin_listener, trigger.subscribe()));
    let signals = stop.await?;
    drain_then_close(&trigger, signals, settings.drain).await;
    for task in serving {
        let _ = task.await;
    }
    if let Some(exporter) = parts.span_exporter.take() {
        exporter.flush(settings.shutdown_timeout).await;
    }
    admin_task.abort();
    parts.background.iter().for_each(tokio::task::JoinHandle::abort);
    tracing::info!("gateway stopped");
    Ok(())
}

async fn build(settings: &Settings) -> Result<Parts, Fatal> {
    let registry = Registry::new();
    let metric = |error: prometheus::Error| Fatal::Runtime(format!("metrics: {error}"));
    registry.register(Box::new(ProcessMetrics::new().map_err(metric)?)).map_err(metric)?;
    register_build_info(&registry).map_err(metric)?;
    let router_metrics = RouterMetrics::register(&registry).map_err(metric)?;
    let enforcer_metrics = EnforcerMetrics::register(&registry).map_err(metric)?;
    let tls_metrics = TlsMetrics::register(&registry).map_err(metric)?;
    let adapter_metrics = AdapterMetrics::register(&registry).map_err(metric)?;
    let tls = Tls::load(settings.tls.clone(), tls_metrics.clone()).map_err(|e| Fatal::Config(format!("tls: {e}")))?;
    let mut background = vec![tls.spawn_reloader(settings.tls_poll)];
    let clock = SystemClock::shared();
    let enforcer = Arc::new(Enforcer::new(settings.enforcer.clone(), clock.clone(), enforcer_metrics));
    enforcer.limiter().register_metrics(&registry).map_err(metric)?;
    background.extend(enforcer.limiter().start());
    let store = Arc::new(SnapshotStore::with_client_auth(tls.client_auth()));
    let applier =
        Arc::new(Applier::new(store.clone(), enforcer.clone(), adapter_metrics, clock.clone(), settings.source_kind()));
    let status = applier.status().clone();
    let backend_jwt = match &settings.backend_jwt {
        Some(key) => Some(start_backend_jwt(key, clock.clone(), &mut background)?),
        None => None,
    };
    let started = start_source(&settings.source, applier, settings.validation()).await?;
    background.extend(started.tasks);
    let upstreams = Upstreams::new(settings.upstreams.clone()).map_err(|e| Fatal::Config(format!("upstream: {e}")))?;
    let access_log = match settings.log.access {
        true => Some(
            AccessLog::spawn(Box::new(std::io::stdout()), 65_536, router_metrics.access_log_dropped())
                .map_err(|e| Fatal::Runtime(format!("access log: {e}")))?,
        ),
        false => None,
    };
    let (tracer, span_exporter) = start_tracing(settings, &registry)?;
    let pipeline = Pipeline::new(
        store.clone(),
        enforcer,
        Arc::new(upstreams),
        router_metrics,
        access_log,
        settings.pipeline.clone(),
    )
    .with_tracer(tracer);
    let pipeline = match &backend_jwt {
        Some(signer) => pipeline.with_backend_jwt(signer.clone()),
        None => pipeline,
    };
    Ok(Parts {
        registry,
        store,
        status,
        pipeline: Arc::new(pipeline),
        tls,
        tls_metrics,
        backend_jwt,
        background,
        wso2: started.wso2,
        span_exporter,
    })
}

/// Loads the backend-JWT signing key (validation loaded it too; the file may have changed
/// since) and starts watching its file for a replacement.
fn start_backend_jwt(
    settings: &BackendJwtKeySettings,
    clock: SharedClock,
    background: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Result<Arc<BackendJwtSigner>, Fatal> {
    let fail = |problem: String| Fatal::Config(format!("backend_jwt.key: {problem}"));
    // Read once: the bytes the watcher starts from are those of the key that signs.
    let pem = read_backend_jwt_pem(&settings.key).map_err(fail)?;
    let key = SigningKey::from_pem(&pem, settings.kid.as_deref())
        .map_err(|error| fail(format!("{}: {error}", settings.key.display())))?;
    tracing::info!(kid = %key.kid(), "backend JWT signing key loaded");
    let signer = Arc::new(BackendJwtSigner::new(settings.signer.clone(), key, clock));
    background.push(backend_jwt_key::spawn(settings.key.clone(), pem, signer.clone()));
    Ok(signer)
}

/// The tracer, and the span export task when `[tracing]` names an endpoint.
fn start_tracing(settings: &Settings, registry: &Registry) -> Result<(Tracer, Option<Exporter>), Fatal> {
    let metrics = TracingMetrics::register(registry).map_err(|e| Fatal::Runtime(format!("metrics: {e}")))?;
    Tracer::start(&settings.tracing, &metrics).map_err(|e| Fatal::Runtime(format!("tracing: {e}")))
}

/// Binds with a deep accept backlog (the default 128 overflows under connection bursts).
async fn bind(address: SocketAddr) -> Result<TcpListener, Fatal> {
    let fail = |e: std::io::Error| Fatal::Runtime(format!("cannot listen on {address}: {e}"));
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(fail)?;
    socket.set_reuseaddr(true).map_err(fail)?;
    socket.bind(address).map_err(fail)?;
    socket.listen(1024).map_err(fail)
}

/// Logs one line with every bound address (test harnesses and operators read it).
fn announce(https: &TcpListener, http: Option<&TcpListener>, admin: &TcpListener) -> Result<Bound, Fatal> {
    let addr = |l: &TcpListener| l.local_addr().map_err(|e| Fatal::Runtime(format!("listener address: {e}")));
    let bound = Bound { https: addr(https)?, http: http.map(addr).transpose()?, admin: addr(admin)? };
    let http = bound.http.map_or_else(|| "none".to_owned(), |a| a.to_string());
    tracing::info!(https = %bound.https, http = %http, admin = %bound.admin, "gateway started");
    Ok(bound)
}

/// The shutdown signals, once the first has arrived (a second one cuts the drain short).
#[derive(Debug)]
pub struct Signals {
    terminate: Signal,
    interrupt: Signal,
}

/// Resolves at the first SIGTERM or SIGINT. The handlers are installed when this is called
/// (inside the runtime), not when the future is first polled: a signal that arrives while
/// the gateway is still starting must shut it down gracefully, not kill it.
pub fn shutdown_signal() -> impl Future<Output = Result<Signals, Fatal>> {
    let fail = |e: std::io::Error| Fatal::Runtime(format!("cannot install signal handlers: {e}"));
    let installed = signal(SignalKind::terminate())
        .and_then(|terminate| Ok(Signals { terminate, interrupt: signal(SignalKind::interrupt())? }))
        .map_err(fail);
    async move {
        let mut signals = installed?;
        tokio::select! {
            _ = signals.terminate.recv() => {}
            _ = signals.interrupt.recv() => {}
        }
        Ok(signals)
    }
}

/// Not ready at once, keep serving for `drain`, then close the listeners (another signal
/// skips the rest of the drain).
async fn drain_then_close(trigger: &ShutdownTrigger, mut signals: Signals, drain: Duration) {
    tracing::info!(drain_seconds = drain.as_secs(), "shutdown requested: draining");
    trigger.set(Phase::Draining);
    tokio::select! {
        () = tokio::time::sleep(drain) => {}
        _ = signals.terminate.recv() => {}
        _ = signals.interrupt.recv() => {}
    }
    tracing::info!("closing listeners");
    trigger.set(Phase::Closing);
}
