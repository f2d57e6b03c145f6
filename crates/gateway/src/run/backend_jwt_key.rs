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

use tokio::task::JoinHandle;
use tollgate_enforcer::backend_jwt::{BackendJwtSigner, SigningKey};
use tollgate_router::file_events::{FileChanges, Watch};

use crate::config::read_backend_jwt_pem;

/// The file is also checked this often: well within the contract's 10 s without events.
const POLL: Duration = Duration::from_secs(3);

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
    // The key's directory: a replacement is often a rename into it.
    let dir = file.path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned();
    let mut changes = FileChanges::watch(&[dir], POLL, Watch::FileEvents, "the backend JWT key");
    loop {
        changes.next().await;
        file.check(&signer).await;
    }
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
