//! The `wso2-apim` source's event hub, as the gateway starts it.
//!
//! PLACEHOLDER until the AMQP consumer (`tollgate_adapter::source::wso2_apim::hub`) is
//! merged: the lead replaces [`start_event_hub`]'s body with the hub's own start function.
//! Until then no broker is connected: with no `broker_urls` the channel closes at once and
//! the source follows API-M by full pulls alone; with some, the sender is kept open (so the
//! source waits its bounded time for a first `Connected`, as it will with the real hub) and
//! a warning says the hub is not connected.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tollgate_adapter::Wso2Settings;
use tollgate_adapter::source::wso2_apim::HubSignal;

/// How many hub signals may wait for the source.
const SIGNAL_BUFFER: usize = 1024;

/// Starts the event hub for `settings`: the signals it will send, and its task.
pub(super) fn start_event_hub(settings: &Wso2Settings) -> (mpsc::Receiver<HubSignal>, Option<JoinHandle<()>>) {
    let (sender, signals) = mpsc::channel(SIGNAL_BUFFER);
    if settings.broker_urls.is_empty() {
        tracing::info!("no source.broker_urls: following API-M by full pulls only");
        return (signals, None);
    }
    tracing::warn!("this build has no AMQP event hub: API-M changes arrive by full pulls only");
    let task = tokio::spawn(async move { sender.closed().await });
    (signals, Some(task))
}
