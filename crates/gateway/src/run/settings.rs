//! Starting the configured source of API definitions.

use std::sync::Arc;

use tollgate_adapter::{Applier, ControlPlaneSource, Engine, EngineSettings, FileSource};

use super::Fatal;
use crate::config::SourceSettings;

/// Loads the configuration once (so the gateway is ready when it starts serving) and starts
/// following changes. Returns the tasks to stop at shutdown.
pub(super) async fn start_source(
    source: &SourceSettings,
    applier: Arc<Applier>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, Fatal> {
    match source {
        SourceSettings::File { path } => {
            let engine = Engine::start(applier, EngineSettings::default())
                .map_err(|e| Fatal::Runtime(format!("source: cannot start a thread: {e}")))?;
            let source = FileSource::new(path, engine).map_err(|e| Fatal::Config(format!("source: {e}")))?;
            let source = Arc::new(source);
            source.load_once().map_err(|e| Fatal::Config(format!("source: {e}")))?;
            let watch = source.spawn_watch().map_err(|e| Fatal::Runtime(format!("source: {e}")))?;
            Ok(vec![tokio::spawn(async move {
                // Keeps the watcher alive for as long as the gateway runs.
                std::future::pending::<()>().await;
                drop(watch);
            })])
        }
        SourceSettings::ControlPlane(settings) => {
            // Never waits for the network: the last-known-good state (if any) is served at
            // once, and the control plane is reached in the background.
            let engine = Engine::start(applier, settings.engine_settings())
                .map_err(|e| Fatal::Runtime(format!("source: cannot start a thread: {e}")))?;
            let mut source = ControlPlaneSource::new(settings.as_ref().clone(), engine)
                .map_err(|e| Fatal::Config(format!("source: {e}")))?;
            source.load_state();
            let tasks = source.spawn().map_err(|e| Fatal::Runtime(format!("source: {e}")))?;
            Ok(tasks.into_handles())
        }
    }
}
