//! Starting the configured source of API definitions.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tollgate_adapter::{
    Applier, ControlPlaneSource, Engine, EngineSettings, FileSource, Wso2Settings, Wso2Source, Wso2Status,
};

use tollgate_adapter::validate::ValidationSettings;

use super::Fatal;
use super::wso2_hub::start_event_hub;
use crate::config::SourceSettings;

/// A started source: the tasks to stop at shutdown, and what the `wso2-apim` source shows
/// in `/config` beside the engine's status.
pub(super) struct Started {
    pub(super) tasks: Vec<JoinHandle<()>>,
    pub(super) wso2: Option<Wso2Status>,
}

/// Loads the configuration once (so the gateway is ready when it starts serving) and starts
/// following changes.
pub(super) async fn start_source(
    source: &SourceSettings,
    applier: Arc<Applier>,
    validation: ValidationSettings,
) -> Result<Started, Fatal> {
    match source {
        SourceSettings::File { path } => {
            let settings = EngineSettings { validation, ..EngineSettings::default() };
            let engine = Engine::start(applier, settings).map_err(|e| thread_error(&e))?;
            let source = FileSource::new(path, engine).map_err(|e| Fatal::Config(format!("source: {e}")))?;
            let source = Arc::new(source);
            source.load_once().map_err(|e| Fatal::Config(format!("source: {e}")))?;
            let watch = source.spawn_watch().map_err(|e| Fatal::Runtime(format!("source: {e}")))?;
            let task = tokio::spawn(async move {
                // Keeps the watcher alive for as long as the gateway runs.
                std::future::pending::<()>().await;
                drop(watch);
            });
            Ok(Started { tasks: vec![task], wso2: None })
        }
        SourceSettings::ControlPlane(settings) => {
            // Never waits for the network: the last-known-good state (if any) is served at
            // once, and the control plane is reached in the background.
            let engine_settings = EngineSettings { validation, ..settings.engine_settings() };
            let engine = Engine::start(applier, engine_settings).map_err(|e| thread_error(&e))?;
            let mut source = ControlPlaneSource::new(settings.as_ref().clone(), engine)
                .map_err(|e| Fatal::Config(format!("source: {e}")))?;
            source.load_state();
            let tasks = source.spawn().map_err(|e| Fatal::Runtime(format!("source: {e}")))?;
            Ok(Started { tasks: tasks.into_handles(), wso2: None })
        }
        SourceSettings::Wso2Apim(settings) => start_wso2(settings, applier, validation),
    }
}

/// Like the control plane: the last-known-good state at once, API-M and the event hub in
/// the background.
fn start_wso2(
    settings: &Wso2Settings,
    applier: Arc<Applier>,
    validation: ValidationSettings,
) -> Result<Started, Fatal> {
    let engine_settings = EngineSettings { validation, ..settings.engine_settings() };
    let engine = Engine::start(applier, engine_settings).map_err(|e| thread_error(&e))?;
    let mut source = Wso2Source::new(settings.clone(), engine).map_err(|e| Fatal::Config(format!("source: {e}")))?;
    source.load_state();
    let status = source.status().clone();
    let (signals, hub) = start_event_hub(settings)?;
    let mut tasks: Vec<JoinHandle<()>> = source.spawn(signals).into_handle().into_iter().collect();
    tasks.extend(hub);
    Ok(Started { tasks, wso2: Some(status) })
}

fn thread_error(error: &std::io::Error) -> Fatal {
    Fatal::Runtime(format!("source: cannot start a thread: {error}"))
}
