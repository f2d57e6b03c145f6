//! The task behind [`Tls::spawn_reloader`]: file events, debounced, plus a periodic check
//! ([`FileChanges`]).

use std::time::Duration;

use tokio::task::JoinHandle;

use super::Tls;
use super::catalog::Refresh;
use crate::file_events::{FileChanges, Watch};

pub(crate) fn spawn(tls: Tls, poll: Duration, watch: Watch) -> JoinHandle<()> {
    tokio::spawn(run(tls, poll, watch))
}

async fn run(tls: Tls, poll: Duration, watch: Watch) {
    let dirs = tls.watched_dirs();
    if dirs.is_empty() {
        // Only the generated certificate: nothing can change.
        return std::future::pending().await;
    }
    let mut changes = FileChanges::watch(&dirs, poll, watch, "TLS certificate files");
    loop {
        changes.next().await;
        check(&tls).await;
    }
}

/// Reloads the pairs whose files changed; failures were logged by the catalog.
async fn check(tls: &Tls) {
    let tls = tls.clone();
    match tokio::task::spawn_blocking(move || tls.refresh(Refresh::Changed)).await {
        Ok(Ok(true)) => tracing::info!("TLS certificates reloaded after their files changed"),
        Ok(Ok(false) | Err(_)) => {}
        Err(error) => tracing::warn!(%error, "TLS certificate check did not complete"),
    }
}
