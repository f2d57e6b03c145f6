//! Rotating the backend-JWT signing key by replacing its file (operator.md, `[backend_jwt] key`
//! is watched; client.md: a new key signs within 10 s, without a restart).
//!
//! File events on the key's directory (a replacement is often a rename into it), settled,
//! plus a periodic check in case events are lost. A file whose bytes changed is parsed: a
//! usable key signs from then on; an unusable one is refused with a log line and the key that
//! was signing keeps signing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tollgate_enforcer::backend_jwt::{BackendJwtSigner, SigningKey};
use tollgate_router::file_events::is_change;

use crate::config::read_backend_jwt_pem;

/// The file is also checked this often: well within the contract's 10 s without events.
const POLL: Duration = Duration::from_secs(3);

/// Writers replace a file in several steps: let a burst of events settle before reading.
const SETTLE: Duration = Duration::from_millis(100);

/// Watches `path` and rotates `signer` to each usable replacement. `pem` is what was loaded
/// at start (a file still holding it is no change).
pub(super) fn spawn(path: PathBuf, pem: Vec<u8>, signer: Arc<BackendJwtSigner>) -> JoinHandle<()> {
    tokio::spawn(run(KeyFile { path, last: pem }, signer))
}

/// The watched file and the bytes last read from it.
struct KeyFile {
    path: PathBuf,
    last: Vec<u8>,
}

async fn run(mut file: KeyFile, signer: Arc<BackendJwtSigner>) {
    let (notify, mut events) = mpsc::channel(1);
    // Dropping the watcher (when the task is aborted) stops its thread.
    let _watcher = watch(&file.path, notify);
    let mut ticks = tokio::time::interval(POLL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        file.check(&signer).await;
        tokio::select! {
            _ = ticks.tick() => {}
            Some(()) = events.recv() => settle(&mut events).await,
        }
    }
}

async fn settle(events: &mut mpsc::Receiver<()>) {
    tokio::time::sleep(SETTLE).await;
    while events.try_recv().is_ok() {}
}

// === impl KeyFile ===

impl KeyFile {
    /// Rotates to the file's key when its bytes changed and hold a usable key.
    async fn check(&mut self, signer: &BackendJwtSigner) {
        let path = self.path.clone();
        let read = tokio::task::spawn_blocking(move || read_backend_jwt_pem(&path)).await;
        let pem = match read {
            Ok(Ok(pem)) if pem != self.last => pem,
            Ok(Ok(_)) => return,
            Ok(Err(error)) => {
                return tracing::warn!(%error, "backend JWT key file unreadable; the current key keeps signing");
            }
            Err(error) => return tracing::warn!(%error, "backend JWT key check did not complete"),
        };
        match SigningKey::from_pem(&pem, None) {
            Ok(key) => rotate(signer, key),
            Err(error) => tracing::warn!(
                file = %self.path.display(), %error, kid = %signer.current_kid(),
                "backend JWT key replacement refused; the current key keeps signing"
            ),
        }
        self.last = pem;
    }
}

fn rotate(signer: &BackendJwtSigner, key: SigningKey) {
    let kid = key.kid().clone();
    match signer.rotate(key) {
        true => tracing::info!(%kid, "backend JWT signing key replaced"),
        false => tracing::debug!(%kid, "backend JWT key file rewritten with the same key"),
    }
}

/// Watches the key's directory; `None` (with a warning) when file events are unavailable,
/// leaving the periodic check.
fn watch(path: &Path, events: mpsc::Sender<()>) -> Option<RecommendedWatcher> {
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let handler = move |event: notify::Result<Event>| {
        // An error may mean lost events: look.
        if event.as_ref().map_or(true, |event| is_change(event.kind)) {
            // Full: a check is already pending. Closed: the task has ended.
            let _ = events.try_send(());
        }
    };
    let mut watcher = notify::recommended_watcher(handler)
        .map_err(|error| tracing::warn!(%error, "cannot watch the backend JWT key; relying on the periodic check"))
        .ok()?;
    if let Err(error) = watcher.watch(dir, RecursiveMode::NonRecursive) {
        tracing::warn!(%error, dir = %dir.display(), "cannot watch; relying on the periodic check");
    }
    Some(watcher)
}
